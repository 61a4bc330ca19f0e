#!/usr/bin/env bash
# bench/shards.sh - how the ike daemon's IKE_SA_INIT work scales with engine shards: the same
# replayed IKE_SA_INIT requests against a responder with SHARDS_A (1) and with SHARDS_B (2)
# shards, in the same run, interleaved; reports IKE_SA_INIT responses per second of each and
# their ratio (the issue's target: at least 1.8 with 2 shards on 2 cores).
#
# Two network namespaces joined by a veth pair: iker-i (10.77.11.1, plus .11-.18 as more source
# addresses) and iker-r (10.77.11.2). Each round starts `ike daemon` (kernel = "none", cookie and
# half-open thresholds raised so that every request is answered) unpinned in iker-r and runs
# `ike-replay` (crates/ike-testkit/src/bin/ike-replay.rs) in iker-i: COUNT requests with distinct
# initiator SPIs from the nine addresses, at most WINDOW unanswered. The replay tool reports its
# own CPU time; the script prints it beside the responder's, so a run shows whether the sender
# could have been the bottleneck. Everything started is stopped by PID and the namespaces are
# deleted on exit, failure included; every wait is bounded.
#
# Usage (root; build first):
#   cargo build --release --bin ike --bin ike-replay
#   sudo bash bench/shards.sh
# Environment: COUNT (30000), RUNS (3), WINDOW (200: the responder's default socket buffer
# holds about 270 requests), SHARDS_A (1), SHARDS_B (2), EXTRA_I (the extra source addresses),
# KEEP_WORK=1.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
IKE=${IKE:-$TARGET/release/ike}
REPLAY=${REPLAY:-$TARGET/release/ike-replay}
COUNT=${COUNT:-30000}
RUNS=${RUNS:-3}
WINDOW=${WINDOW:-200}
SHARDS_A=${SHARDS_A:-1}
SHARDS_B=${SHARDS_B:-2}
KEEP_WORK=${KEEP_WORK:-0}

NS_I=iker-i
NS_R=iker-r
VETH_I=iker-vi
VETH_R=iker-vr
ADDR_I=10.77.11.1
ADDR_R=10.77.11.2
EXTRA_I=${EXTRA_I:-$(seq -f "10.77.11.%g" 11 18 | paste -sd,)}
WORK=""
PIDS=()
TAG=shards
NAMESPACES=("$NS_I" "$NS_R")
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

ns_up() {
  ns_down
  ip netns add "$NS_I"
  ip netns add "$NS_R"
  ip -n "$NS_I" link add "$VETH_I" type veth peer name "$VETH_R" netns "$NS_R"
  ip -n "$NS_I" link set lo up
  ip -n "$NS_R" link set lo up
  ip -n "$NS_I" addr add "$ADDR_I/24" dev "$VETH_I"
  local a
  for a in ${EXTRA_I//,/ }; do ip -n "$NS_I" addr add "$a/24" dev "$VETH_I"; done
  ip -n "$NS_R" addr add "$ADDR_R/24" dev "$VETH_R"
  ip -n "$NS_I" link set "$VETH_I" up
  ip -n "$NS_R" link set "$VETH_R" up
}

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


write_conf() {
  cat >"$WORK/ike-$1.toml" <<EOF
[daemon]
listen = ["$ADDR_R"]
control_socket = "$WORK/ike.sock"
kernel = "none"
shards = $1
cookie_threshold = 1000000
block_threshold = 1000000
init_limit_half_open = 1000000
half_open_timeout = "600s"

[connections.replay]
remote_addrs = ["%any"]
proposals = ["aes128gcm16-prfsha256-x25519"]
[connections.replay.local]
auth = "psk"
id = "responder.example.org"
[connections.replay.remote]
auth = "psk"
id = "%any"

[[secrets.ike]]
secret = "replay replay replay"
EOF
}

RESULTS=""

round() {
  local shards=$1 run=$2 pid out c0 c1 i
  rm -f "$WORK/ike.sock"
  ip netns exec "$NS_R" "$IKE" daemon -c "$WORK/ike-$shards.toml" --log warn \
    </dev/null >/dev/null 2>"$WORK/ike-$shards-$run.log" &
  pid=$!
  PIDS+=("$pid")
  for ((i = 0; i < 100; i++)); do
    "$IKE" status -s "$WORK/ike.sock" >/dev/null 2>&1 && break
    sleep 0.1
  done
  alive "$pid" || die "ike daemon did not start: $(tail -n 3 "$WORK/ike-$shards-$run.log")"
  c0=$(cpu_s "$pid")
  out=$(timeout 300 ip netns exec "$NS_I" "$REPLAY" --local "$ADDR_I,$EXTRA_I" --remote "$ADDR_R" \
    --count "$COUNT" --window "$WINDOW") || die "ike-replay failed"
  c1=$(cpu_s "$pid")
  stop_pid "$pid"
  # A few responses may be lost in socket buffers (UDP); a rate needs nearly all of them.
  (($(jq .responses <<<"$out") * 100 >= COUNT * 95)) || die "$shards shards: under 95 % of the requests were answered: $out"
  log "$shards shards, round $run: $out; responder CPU $(bc <<<"$c1 - $c0") s"
  RESULTS+="$shards $run $(jq -r '[.rate, .elapsed_s, .sender_cpu_s] | @tsv' <<<"$out") $(bc <<<"$c1 - $c0")"$'\n'
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

[[ $(id -u) == 0 ]] || die "must run as root (network namespaces): sudo bash $0"
for cmd in ip jq bc timeout; do command -v "$cmd" >/dev/null || die "missing $cmd"; done
[[ -x $IKE && -x $REPLAY ]] || die "missing $IKE or $REPLAY: run 'cargo build --release --bin ike --bin ike-replay' first"
exec 9>/run/ike-bench-shards.lock
flock -w 60 9 || die "another bench/shards.sh holds /run/ike-bench-shards.lock"
trap cleanup EXIT
trap 'exit 130' INT TERM
WORK=$(mktemp -d /tmp/ike-shards.XXXXXX)
ns_up
write_conf "$SHARDS_A"
write_conf "$SHARDS_B"
log "$(nproc) CPUs; $COUNT IKE_SA_INIT requests per round, window $WINDOW, $RUNS rounds each of $SHARDS_A and $SHARDS_B shards"
for ((r = 1; r <= RUNS; r++)); do
  round "$SHARDS_A" "$r"
  round "$SHARDS_B" "$r"
done

rate_of() { awk -v s="$1" '$1 == s { print $3 }' <<<"$RESULTS" | median; }
a=$(rate_of "$SHARDS_A")
b=$(rate_of "$SHARDS_B")
echo
echo "IKE_SA_INIT responses per second, ike daemon, median of $RUNS rounds ($(date -u +%F), $(nproc) CPUs):"
printf '  %-10s %10s\n' "shards" "responses/s"
printf '  %-10s %10s\n' "$SHARDS_A" "$a" "$SHARDS_B" "$b"
printf '  ratio %s/%s: %s (target >= 1.8 for 2/1 on 2 cores)\n' "$SHARDS_B" "$SHARDS_A" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')"
echo "per round (shards run rate elapsed_s sender_cpu_s responder_cpu_s):"
printf '%s' "$RESULTS" | sed 's/^/  /'
