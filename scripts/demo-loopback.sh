#!/usr/bin/env bash
# Two ike daemons on loopback (127.0.31.1 and 127.0.31.2, UDP 500: needs root) with the
# site-to-site PSK examples (kernel "none"): `ike up` on A, `ike status` on both, `ike down`.
# Everything it starts is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet -p ike
ike=$PWD/target/debug/ike
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
adapt() {
  sed -e 's/10\.77\.0\.1/127.0.31.1/g; s/10\.77\.0\.2/127.0.31.2/g' \
      -e "s#/run/ike/ike.sock#$dir/$2.sock#; s/kernel = \"xfrm\"/kernel = \"none\"/" \
      -e 's/start_action = "start"/start_action = "none"/' "examples/$1" >"$dir/$2.toml"
}
adapt site-to-site-psk.toml a
adapt site-to-site-psk-b.toml b
for side in a b; do
  "$ike" daemon -c "$dir/$side.toml" 2>"$dir/$side.log" &
  pids+=($!)
done
for side in a b; do
  for _ in $(seq 100); do [ -S "$dir/$side.sock" ] && break; sleep 0.1; done
done
echo "== ike up site-b (on A)"; "$ike" up site-b -s "$dir/a.sock"
echo "== ike status (A)"; "$ike" status -s "$dir/a.sock"
echo "== ike status --json (B)"; "$ike" status --json -s "$dir/b.sock"
echo "== ike down site-b (on A)"; "$ike" down site-b -s "$dir/a.sock"
echo "== ike status (B)"; "$ike" status -s "$dir/b.sock"
echo "== A's log"; cat "$dir/a.log"
