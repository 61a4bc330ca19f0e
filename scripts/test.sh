#!/usr/bin/env bash
# The one test command (README "Quick start", and what CI's .ci/run calls): installs what the
# tests need when it is missing, then runs every test layer, saying what each slow part runs.
#
#   scripts/test.sh            everything
#   FUZZ_SECONDS=0 scripts/test.sh   skip the fuzz smoke run
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

step "prerequisites: tshark (the codec's independent oracle), openssl CLI"
missing=()
command -v tshark >/dev/null || missing+=(tshark)
command -v openssl >/dev/null || missing+=(openssl)
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${missing[*]} and not root: cannot install" >&2
    exit 1
  fi
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
tshark --version | head -n 1

step "prerequisites: python3 with hmac/hashlib and the cryptography package (independent KDF and exchange checks)"
if ! python3 -c "import cryptography" 2>/dev/null; then
  python3 -m pip install --quiet cryptography
fi
python3 -c "import cryptography; print('python cryptography', cryptography.__version__)"

step "format and lints: cargo fmt --check, cargo clippy -D warnings"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "unit, property, negative-table and tshark-oracle tests (cargo test --workspace)"
IKE_REQUIRE_TSHARK=1 IKE_REQUIRE_PYTHON=1 cargo test --workspace --quiet

step "ike decode on every bundled capture (exit status must be 0)"
cargo build --quiet -p ike
for f in crates/ike-wire/tests/data/*.pcap; do
  ./target/debug/ike decode "$f" >/dev/null
  ./target/debug/ike decode --json "$f" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["messages"] and all("ike" in m for m in d["messages"])'
done
echo "decoded $(ls crates/ike-wire/tests/data/*.pcap | wc -l) captures"

fuzz_seconds=${FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" -gt 0 ] && [ -x scripts/fuzz-smoke.sh ]; then
  step "fuzz smoke run: every cargo-fuzz target for ${fuzz_seconds}s"
  scripts/fuzz-smoke.sh "$fuzz_seconds"
fi

step "all tests passed in $((SECONDS - started))s"
