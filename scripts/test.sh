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

step "prerequisites: tshark (the codec's oracle), openssl CLI, strongSwan and netns tools (interop), user-mode Linux (kernel tests)"
missing=()
command -v tshark >/dev/null || missing+=(tshark)
command -v openssl >/dev/null || missing+=(openssl)
# The strongSwan interop scenarios (tests/interop): charon, swanctl, kernel-libipsec and tools.
[ -x /usr/lib/ipsec/charon ] || missing+=(strongswan-charon)
command -v swanctl >/dev/null || missing+=(strongswan-swanctl)
[ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] || missing+=(libcharon-extra-plugins)
[ -e /usr/lib/ipsec/plugins/libstrongswan-curve25519.so ] || missing+=(libstrongswan-extra-plugins libstrongswan-standard-plugins)
# The user-mode-Linux kernel tests (tests/uml): a Linux kernel with ESP as a process, modprobe for
# its modules, gcc for the ptrace shim it needs on hosts with AMX.
[ -x /usr/bin/linux.uml ] || missing+=(user-mode-linux)
PATH=$PATH:/usr/sbin:/sbin command -v modprobe >/dev/null || missing+=(kmod)
command -v gcc >/dev/null || missing+=(gcc)
# promtool (Debian's prometheus package) checks the daemon's metrics page.
command -v promtool >/dev/null || missing+=(prometheus)
for tool in tcpdump jq bc ip; do
  command -v "$tool" >/dev/null || missing+=("$( [ "$tool" = ip ] && echo iproute2 || echo "$tool")")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${missing[*]} and not root: cannot install" >&2
    exit 1
  fi
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Install only: no service may start (the prometheus package would start a server).
  policy=/usr/sbin/policy-rc.d
  had_policy=0
  [ -e "$policy" ] && had_policy=1
  [ "$had_policy" = 1 ] || { printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ "$had_policy" = 1 ] || rm -f "$policy"
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
# Tests that need a tool or root fail, instead of passing with a SKIPPED line, when these are set.
IKE_REQUIRE_TSHARK=1 IKE_REQUIRE_PYTHON=1 IKE_REQUIRE_OPENSSL=1 IKE_REQUIRE_ROOT=1 IKE_REQUIRE_PROMTOOL=1 \
  cargo test --workspace --quiet

step "ike decode on every bundled capture (exit status must be 0)"
cargo build --quiet -p ike
for f in crates/ike-wire/tests/data/*.pcap; do
  ./target/debug/ike decode "$f" >/dev/null
  ./target/debug/ike decode --json "$f" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["messages"] and all("ike" in m for m in d["messages"])'
done
echo "decoded $(ls crates/ike-wire/tests/data/*.pcap | wc -l) captures"

step "interop with strongSwan 5.9.8 in network namespaces (tests/interop/*.sh, IKEv2 and IKEv1, about 3 minutes)"
cargo build --quiet -p ike-testkit --bin ike-peer -p ike
if ip netns add ike-probe-$$ 2>/dev/null; then
  ip netns del ike-probe-$$
  for scenario in tests/interop/*.sh; do
    [ "$(basename "$scenario")" = lib.sh ] && continue
    echo "--- $scenario"
    timeout 300 bash "$scenario"
  done
else
  echo "************************************************************************"
  echo "SKIPPED: network namespaces are not available here (ip netns add failed);"
  echo "the strongSwan interop scenarios did not run"
  echo "************************************************************************"
fi

step "the README's run command: scripts/demo.sh (ike to ike, then ike to strongSwan)"
if ip netns add ike-probe-$$ 2>/dev/null; then
  ip netns del ike-probe-$$
  cargo build --quiet -p ike
  IKE=target/debug/ike timeout 120 scripts/demo.sh >/tmp/ike-demo.log 2>&1 || { cat /tmp/ike-demo.log; exit 1; }
  tail -n 1 /tmp/ike-demo.log
  IKE=target/debug/ike timeout 120 scripts/demo.sh --with-strongswan >/tmp/ike-demo.log 2>&1 || { cat /tmp/ike-demo.log; exit 1; }
  tail -n 1 /tmp/ike-demo.log
else
  echo "SKIPPED: network namespaces are not available here; the demo did not run"
fi

step "user-mode-Linux kernel tests: real ESP in a UML guest, manual SAs, then two ike daemons with kernel = xfrm: tunnel, transport, ESP in UDP, AES-CBC, AH, trap, IPv6, rekey, and IKEv1 tunnel, transport, rekey, trap and ESP in UDP (tests/uml, about 4 minutes)"
# This host's kernel has no ESP; the guest's has. A guest that cannot boot at all (no ptrace, say)
# is the only reason to skip; once it boots, every failure counts.
uml_test() { # uml_test NAME TIMEOUT: one guest script, its log shown only when it fails
  local log=/tmp/ike-uml-$1.log
  echo "--- tests/uml/$1.sh"
  if ! IKE=target/debug/ike UML_TIMEOUT=$2 tests/uml/boot.sh "tests/uml/$1.sh" >"$log" 2>&1; then
    cat "$log"
    echo "tests/uml/$1.sh FAILED (log above, and in $log)"
    exit 1
  fi
  grep -h -e 'booted in' -e '\] PASSED' -e 'guest exit status' "$log"
}
if tests/uml/boot.sh --probe >/tmp/ike-uml-probe.log 2>&1; then
  cargo build --quiet -p ike
  uml_test esp-manual 60
  uml_test ike-xfrm 420
else
  echo "************************************************************************"
  echo "SKIPPED: the user-mode-Linux guest cannot boot here (tests/uml/boot.sh --probe);"
  echo "the kernel ESP tests (tests/uml/*.sh) did not run. The probe said:"
  tail -n 15 /tmp/ike-uml-probe.log | sed 's/^/    /'
  echo "************************************************************************"
fi

fuzz_seconds=${FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" -gt 0 ] && [ -x scripts/fuzz-smoke.sh ]; then
  step "fuzz smoke run: every cargo-fuzz target for ${fuzz_seconds}s"
  scripts/fuzz-smoke.sh "$fuzz_seconds"
fi

step "all tests passed in $((SECONDS - started))s"
