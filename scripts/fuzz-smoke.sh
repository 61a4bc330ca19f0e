#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS seconds each, starting from seed corpora made
# from the bundled captures, and fails if any target finds a crash (a panic, a failed assertion,
# a hang). Prints the executions per target at the end.
#
#   scripts/fuzz-smoke.sh SECONDS
#
# Only the stable toolchain is needed: with `--sanitizer none` cargo-fuzz passes no nightly-only
# flag (its default AddressSanitizer build needs `-Zsanitizer`, which stable refuses). The codec
# forbids unsafe code, so the sanitizer would add little; libFuzzer's coverage instrumentation
# (`-Cpasses=sancov-module`) and Rust's own checks (panics, debug assertions) still apply.
# If cargo-fuzz is missing and cannot be installed, it fails (exit 1): the test command runs the
# fuzz targets, and a run that could not is not a pass. `FUZZ_SECONDS=0 scripts/test.sh` skips
# this step on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:?usage: scripts/fuzz-smoke.sh SECONDS}
targets=(v2_decode v1_decode any_datagram v2_engine v1_engine)
logs=fuzz/artifacts/logs

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz not found: cargo install cargo-fuzz --locked"
  install_log=$(mktemp)
  if ! timeout 900 cargo install cargo-fuzz --locked >"$install_log" 2>&1; then
    reason=$(grep -m1 -E '^(error|warning: spurious)' "$install_log" || tail -n 1 "$install_log")
    rm -f "$install_log"
    echo
    echo "************************************************************************"
    echo "FAILED: cargo-fuzz could not be installed: ${reason:-timed out}"
    echo "************************************************************************"
    exit 1
  fi
  rm -f "$install_log"
fi
cargo fuzz --version

fuzz/seed-corpus.sh
# One build of every target, so that no target's time goes to compiling.
cargo fuzz build --sanitizer none

mkdir -p "$logs"
failed=()
summary=()
for target in "${targets[@]}"; do
  log="$logs/$target.log"
  echo "==> $target for ${seconds}s (log: $log)"
  status=ok
  # A target without seeds still starts from an empty corpus (libFuzzer refuses a missing one).
  mkdir -p "fuzz/corpus/$target"
  # -timeout: an input that takes 10 s is a hang, reported as a crash.
  if ! cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    status=CRASH
    failed+=("$target")
    grep -A 3 "panicked at" "$log" | head -n 8 || true
    grep -E "ERROR: libFuzzer|Test unit written" "$log" || true
    # Neither a panic nor a libFuzzer finding: the run itself failed; say how it ended.
    if ! grep -qE "panicked at|ERROR: libFuzzer" "$log"; then
      echo "the fuzzer did not run to the end; last lines of its log:"
      tail -n 5 "$log" | sed 's/^/    /'
    fi
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [ -n "$artifact" ] && [ -f "$artifact" ]; then
      echo "input (hex, first 2000 digits): $(od -An -tx1 -v "$artifact" | tr -d ' \n' | head -c 2000)"
    fi
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  rate=$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$done_line")
  summary+=("$(printf '%-14s %-6s executions %-12s exec/s %-9s cov %s' \
    "$target" "$status" "${execs:-?}" "${rate:-?}" "${cov:-?}")")
done

echo
echo "fuzz smoke run, ${seconds}s per target:"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "FAILED: crash found in ${failed[*]}; inputs in fuzz/artifacts/<target>/," \
    "replay with: cargo fuzz run --sanitizer none <target> <input>" >&2
  exit 1
fi
