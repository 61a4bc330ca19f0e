#!/usr/bin/env bash
# bench/scale.sh - one ike responder holding COUNT (100,000) IKE SAs with one Child SA each
# (kernel = "none"), set up by ike-load, then every Child SA rekeyed by the initiator for HOLD
# seconds (CHILD_REKEY apart). Reports the time to set them up, the responder's RSS per IKE SA
# (with its Child SA) and its CPU, and the Child SA rekeys per second the pair sustained.
#
# Two network namespaces joined by a veth pair: ikesc-i (10.77.12.1) and ikesc-r (10.77.12.2);
# the responder runs its default shards (one per core), unpinned. Everything started is stopped
# by PID and the namespaces deleted on exit, failure included; every wait is bounded.
#
# Usage (root; build first):
#   cargo build --release --bin ike --bin ike-load
#   sudo bash bench/scale.sh
# Environment: COUNT (100000), IN_FLIGHT (16), CHILD_REKEY (20 s), HOLD (45 s), KEEP_WORK=1.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
IKE=${IKE:-$TARGET/release/ike}
IKE_LOAD=${IKE_LOAD:-$TARGET/release/ike-load}
COUNT=${COUNT:-100000}
IN_FLIGHT=${IN_FLIGHT:-16}
CHILD_REKEY=${CHILD_REKEY:-20}
HOLD=${HOLD:-45}
KEEP_WORK=${KEEP_WORK:-0}

NS_I=ikesc-i
NS_R=ikesc-r
ADDR_I=10.77.12.1
ADDR_R=10.77.12.2
WORK=""
PIDS=()
TAG=scale
NAMESPACES=("$NS_I" "$NS_R")
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

cleanup() {
  local rc=$? pid
  set +e
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  ns_down
  if [[ -n $WORK ]]; then
    if [[ $KEEP_WORK == 1 || $rc != 0 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  fi
  exit "$rc"
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

[[ $(id -u) == 0 ]] || die "must run as root (network namespaces): sudo bash $0"
for cmd in ip jq bc timeout; do command -v "$cmd" >/dev/null || die "missing $cmd"; done
[[ -x $IKE && -x $IKE_LOAD ]] || die "missing $IKE or $IKE_LOAD: run 'cargo build --release --bin ike --bin ike-load' first"
exec 9>/run/ike-bench-scale.lock
flock -w 60 9 || die "another bench/scale.sh holds /run/ike-bench-scale.lock"
trap cleanup EXIT
trap 'exit 130' INT TERM
WORK=$(mktemp -d /tmp/ike-scale.XXXXXX)

ns_down
ip netns add "$NS_I"
ip netns add "$NS_R"
ip -n "$NS_I" link add ikesc-vi type veth peer name ikesc-vr netns "$NS_R"
ip -n "$NS_I" link set lo up
ip -n "$NS_R" link set lo up
ip -n "$NS_I" addr add "$ADDR_I/24" dev ikesc-vi
ip -n "$NS_R" addr add "$ADDR_R/24" dev ikesc-vr
ip -n "$NS_I" link set ikesc-vi up
ip -n "$NS_R" link set ikesc-vr up

cat >"$WORK/ike.toml" <<EOF
[daemon]
listen = ["$ADDR_R"]
control_socket = "$WORK/ike.sock"
kernel = "none"
cookie_threshold = 1000
block_threshold = 1000
init_limit_half_open = 10000

[connections.scale]
remote_addrs = ["%any"]
proposals = ["aes128gcm16-prfsha256-x25519"]
[connections.scale.local]
auth = "psk"
id = "responder.example.org"
[connections.scale.remote]
auth = "psk"
id = "initiator.example.org"
[connections.scale.children.net]
local_ts = ["10.88.2.0/24"]
remote_ts = ["10.88.1.0/24"]
esp_proposals = ["aes128gcm16"]
rekey_time = "0"

[[secrets.ike]]
secret = "scale scale scale"
EOF

ip netns exec "$NS_R" "$IKE" daemon -c "$WORK/ike.toml" --log warn </dev/null >/dev/null 2>"$WORK/ike.log" &
RESP=$!
PIDS+=("$RESP")
for ((i = 0; i < 100; i++)); do "$IKE" status -s "$WORK/ike.sock" >/dev/null 2>&1 && break; sleep 0.1; done
alive "$RESP" || die "ike daemon did not start: $(tail -n 3 "$WORK/ike.log")"
sleep 0.5
rss0=$(rss_kb "$RESP")
cpu0=$(cpu_s "$RESP")
log "responder up (RSS $rss0 kB); $COUNT IKE SAs with a Child SA each, $IN_FLIGHT in flight, then $HOLD s of Child SA rekeys every $CHILD_REKEY s"
out=$(timeout $((600 + HOLD)) ip netns exec "$NS_I" "$IKE_LOAD" --local "$ADDR_I" --remote "$ADDR_R" \
  --local-id initiator.example.org --remote-id responder.example.org --psk "scale scale scale" \
  --count "$COUNT" --in-flight "$IN_FLIGHT" --child --local-ts 10.88.1.0/24 --remote-ts 10.88.2.0/24 \
  --timeout 600 --child-rekey "$CHILD_REKEY" --hold "$HOLD" 2>"$WORK/load.err") || die "ike-load: $out $(tail -n 3 "$WORK/load.err")"
rss1=$(rss_kb "$RESP")
cpu1=$(cpu_s "$RESP")
alive "$RESP" || die "the responder died"
est=$(jq .established <<<"$out")
[[ $est == "$COUNT" ]] || die "only $est of $COUNT IKE SAs: $out"
[[ $(jq .closed_after_established <<<"$out") == 0 ]] || die "IKE SAs closed after they were up: $out"
echo
echo "ike responder, $COUNT IKE SAs with one Child SA each ($(date -u +%F), $(nproc) CPUs, kernel = none):"
echo "  set up in $(jq .elapsed_s <<<"$out") s ($(jq .rate <<<"$out") IKE SAs/s, $IN_FLIGHT in flight)"
echo "  responder RSS growth per IKE SA (with its Child SA, after $HOLD s of rekeys): $(( (rss1 - rss0) * 1024 / COUNT )) bytes"
echo "  Child SA rekeys: $(jq .child_rekeys <<<"$out") in $(jq .held_s <<<"$out") s = $(jq .child_rekeys_per_s <<<"$out") per second"
echo "  responder CPU: $(bc <<<"$cpu1 - $cpu0") s in all"
echo "  ike-load: $out"
