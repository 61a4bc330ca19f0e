#!/usr/bin/env bash
# Writes the fuzz targets' seed corpora, fuzz/corpus/<target>/, from the captures in
# crates/ike-wire/tests/data (every IKE message, one file each). fuzz/corpus is gitignored;
# libFuzzer adds what it finds next to the seeds. Usage: fuzz/seed-corpus.sh [CORPUS_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$root/fuzz/corpus}
exec cargo run --quiet --manifest-path "$root/fuzz/Cargo.toml" -p ike-fuzz-seed -- \
    "$root/crates/ike-wire/tests/data" "$corpus"
