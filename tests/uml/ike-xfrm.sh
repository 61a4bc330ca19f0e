#!/usr/bin/env bash
# tests/uml/ike-xfrm.sh - two `ike daemon`s with kernel = "xfrm" install real ESP SAs and policies.
#
#   tests/uml/boot.sh tests/uml/ike-xfrm.sh [tunnel] [transport]    (default: both)
#
# Two namespaces in the guest, uml-a (gateway A, 10.77.0.1) and uml-b (gateway B, 10.77.0.2),
# joined by a veth pair, each running `ike daemon` with a copy of examples/site-to-site-psk.toml
# (A) or examples/site-to-site-psk-b.toml (B). The copies differ from the examples only where the
# test must: the control socket is in the guest's /run, A's child is not started by the daemon
# (`ike up` starts it), and, for the transport run, the child is mode = "transport" with the
# gateways' own addresses as traffic selectors. For each mode:
#   - `ike up site-b` on A succeeds; both `ike status --json` show the Child SA INSTALLED with
#     mirrored SPIs and the mode;
#   - `ip xfrm state` in both namespaces has the two ESP SAs with those SPIs, the mode and
#     rfc4106(gcm(aes)); `ip xfrm policy` has the out and in policies for the selectors;
#   - a ping between the protected addresses (10.88.1.1 on A's loopback to 10.88.2.1 on B's,
#     routed through the veth; in transport mode 10.77.0.1 to 10.77.0.2) gets its replies, and on
#     A's veth it is ESP with A's outbound SPI, never the plaintext payload;
#   - the SAs' kernel counters and `ike status --json`'s bytes_in/bytes_out went up on both sides;
#   - `ike down site-b` removes every state and policy in both namespaces (but the IKE sockets'
#     own bypass policies); SIGTERM ends the daemons with exit status 0, and those go too.
# The daemons log at ike=debug,kernel=debug to $UML_WORK/ike-xfrm/MODE-{a,b}.log; on a failure
# their last lines are printed.
#
# Environment: IKE=PATH (default: target/debug/ike of the repository; build it with
# `cargo build -p ike`).
# shellcheck source=tests/uml/guest-lib.sh
source "$(dirname "$0")/guest-lib.sh"

IKE=${IKE:-$REPO/target/debug/ike}
[[ -x $IKE ]] || die "no ike binary at $IKE: cargo build -p ike (or set IKE=PATH)"

NS_A=uml-a
NS_B=uml-b
DEV_A=uml-va
DEV_B=uml-vb
A=10.77.0.1 # the addresses of examples/site-to-site-psk*.toml
B=10.77.0.2
HOST_A=10.88.1.1 # in A's local_ts 10.88.1.0/24
HOST_B=10.88.2.1 # in B's local_ts 10.88.2.0/24
RUN=/run/uml-ike # control sockets: the guest's own /run
CONN=site-b      # A's connection, examples/site-to-site-psk.toml
COUNT=3
MODES=("$@")
((${#MODES[@]})) || MODES=(tunnel transport)
PID_A=""
PID_B=""

mkdir -p "$RUN"
netns_pair "$NS_A" "$NS_B" "$DEV_A" "$DEV_B" "$A/24" "$B/24"
ip -n "$NS_A" addr add "$HOST_A/32" dev lo
ip -n "$NS_B" addr add "$HOST_B/32" dev lo
ip -n "$NS_A" route add 10.88.2.0/24 via "$B" src "$HOST_A"
ip -n "$NS_B" route add 10.88.1.0/24 via "$A" src "$HOST_B"
log "namespaces $NS_A ($A, $HOST_A) and $NS_B ($B, $HOST_B) are up; ike is $IKE"

# adapt EXAMPLE SIDE MODE: the example as this test runs it (see the top)
adapt() {
  local example=$1 side=$2 mode=$3 local remote out=$WORK/$mode-$2.toml
  local -a sed=(-e "s#^control_socket = .*#control_socket = \"$RUN/$side.sock\"#"
    -e 's/^start_action = "start".*/start_action = "none"              # `ike up` starts it/')
  if [[ $mode == transport ]]; then
    if [[ $side == a ]]; then local=$A remote=$B; else local=$B remote=$A; fi
    sed+=(-e '/^mode = /d'
      -e "s#^local_ts = .*#local_ts = [\"$local/32\"]#"
      -e "s#^remote_ts = .*#remote_ts = [\"$remote/32\"]\\nmode = \"transport\"#")
  fi
  sed "${sed[@]}" "$REPO/examples/$example" >"$out"
  grep -q "^control_socket = \"$RUN/$side.sock\"" "$out" && grep -q '^kernel = "xfrm"' "$out" ||
    die "could not adapt examples/$example"
  if [[ $mode == transport ]]; then
    grep -q '^mode = "transport"' "$out" || die "could not make examples/$example transport mode"
  fi
  "$IKE" check -c "$out" >&2 || die "ike check refused $out"
}

# start_daemon SIDE NS MODE: `ike daemon` in NS, waiting until its control socket answers
start_daemon() {
  local side=$1 ns=$2 mode=$3 pid i
  ip netns exec "$ns" "$IKE" daemon -c "$WORK/$mode-$side.toml" --log ike=debug,kernel=debug,net=info \
    </dev/null >"$WORK/$mode-$side.out" 2>"$WORK/$mode-$side.log" &
  pid=$!
  PIDS+=("$pid")
  printf -v "PID_${side^^}" %s "$pid"
  for ((i = 0; i < 100; i++)); do
    "$IKE" status -s "$RUN/$side.sock" >/dev/null 2>&1 && return 0
    alive "$pid" || break
    sleep 0.1
  done
  show_logs "$mode"
  die "the ike daemon of side ${side^^} did not start"
}

show_logs() {
  local mode=$1 side
  for side in a b; do
    [[ -f $WORK/$mode-$side.log ]] || continue
    echo "--- last lines of the daemon log of side ${side^^} ($mode), $WORK/$mode-$side.log:" >&2
    tail -n 40 "$WORK/$mode-$side.log" >&2
  done
}

# stop_daemon PID: SIGTERM, wait (bounded) and return its exit status (137 if it had to be killed)
stop_daemon() {
  local pid=$1 rc=0
  kill -TERM "$pid" 2>/dev/null || true
  if ! poll 100 sh -c "! ps -o stat= -p $pid | grep -qv '^Z'"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 137
  fi
  wait "$pid" || rc=$?
  return "$rc"
}

# spd_policies NS: NS's IPsec policies (in, out, fwd), without the per-socket ones
spd_policies() { ip -n "$1" xfrm policy | grep -E '^[[:space:]]+dir (in|out|fwd) ' || true; }

status_json() { "$IKE" status --json -s "$RUN/$1.sock"; }

# child FIELD SIDE: a field of the first Child SA of the first IKE SA in SIDE's status
child() { status_json "$2" | jq -r ".ike_sas[0].child_sas[0].$1 // empty"; }

# xfrm_state_has NS SPI SRC DST MODE: the SA is in NS's SAD with those properties
xfrm_state_has() {
  ip -n "$1" xfrm state get src "$3" dst "$4" proto esp spi "0x$2" >"$WORK/state.txt" 2>&1 &&
    grep -q "mode $5" "$WORK/state.txt" && grep -q 'aead rfc4106(gcm(aes))' "$WORK/state.txt"
}

# xfrm_policy_has NS DIR SRC_SEL DST_SEL MODE: a policy for that direction and selector pair
xfrm_policy_has() {
  ip -n "$1" xfrm policy get dir "$2" src "$3" dst "$4" >"$WORK/policy.txt" 2>&1 &&
    grep -q "mode $5" "$WORK/policy.txt"
}

run_mode() {
  local mode=$1 sel_a sel_b src dst t name rc spi_in spi_out b_in b_out failures_before=$FAILURES
  if [[ $mode == tunnel ]]; then
    sel_a=10.88.1.0/24 sel_b=10.88.2.0/24 src=$HOST_A dst=$HOST_B
  else
    sel_a=$A/32 sel_b=$B/32 src=$A dst=$B
  fi
  log "=== $mode mode: $sel_a <-> $sel_b"
  adapt site-to-site-psk.toml a "$mode"
  adapt site-to-site-psk-b.toml b "$mode"
  start_daemon a "$NS_A" "$mode"
  start_daemon b "$NS_B" "$mode"

  t=$EPOCHREALTIME
  rc=0
  "$IKE" up -s "$RUN/a.sock" -t 30 "$CONN" >"$WORK/$mode-up.out" 2>&1 || rc=$?
  log "$mode: ike up took $(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s: $(tr '\n' ' ' <"$WORK/$mode-up.out")"
  check_eq "$mode: ike up $CONN exit status" 0 "$rc"
  status_json a >"$WORK/$mode-status-a.json" 2>&1 || true
  status_json b >"$WORK/$mode-status-b.json" 2>&1 || true
  "$IKE" status -s "$RUN/a.sock" >&2 || true

  check_eq "$mode: A's IKE SA" ESTABLISHED "$(jq -r '.ike_sas[0].state' "$WORK/$mode-status-a.json")"
  check_eq "$mode: A's Child SA" INSTALLED "$(child state a)"
  check_eq "$mode: B's Child SA" INSTALLED "$(child state b)"
  check_eq "$mode: A's Child SA mode" "$mode" "$(child mode a)"
  spi_in=$(child spi_in a)
  spi_out=$(child spi_out a)
  check_eq "$mode: B's outbound SPI is A's inbound SPI" "$spi_in" "$(child spi_out b)"
  check_eq "$mode: B's inbound SPI is A's outbound SPI" "$spi_out" "$(child spi_in b)"

  log "$mode: ip xfrm state / policy in $NS_A:"
  ip -n "$NS_A" xfrm state >&2 || true
  ip -n "$NS_A" xfrm policy >&2 || true
  if [[ -n $spi_in && -n $spi_out ]]; then
    for ns in "$NS_A" "$NS_B"; do
      check "$mode: $ns has SA $spi_out ($A -> $B, $mode, aes-gcm)" xfrm_state_has "$ns" "$spi_out" "$A" "$B" "$mode"
      check "$mode: $ns has SA $spi_in ($B -> $A, $mode, aes-gcm)" xfrm_state_has "$ns" "$spi_in" "$B" "$A" "$mode"
    done
  fi
  check "$mode: $NS_A policy out $sel_a -> $sel_b" xfrm_policy_has "$NS_A" out "$sel_a" "$sel_b" "$mode"
  check "$mode: $NS_A policy in $sel_b -> $sel_a" xfrm_policy_has "$NS_A" in "$sel_b" "$sel_a" "$mode"
  check "$mode: $NS_B policy out $sel_b -> $sel_a" xfrm_policy_has "$NS_B" out "$sel_b" "$sel_a" "$mode"
  check "$mode: $NS_B policy in $sel_a -> $sel_b" xfrm_policy_has "$NS_B" in "$sel_a" "$sel_b" "$mode"

  name=$mode-ping
  sniff_start "$NS_A" "$DEV_A" "$name"
  check "$mode: ping $src -> $dst ($COUNT echo replies)" ping_from "$NS_A" "$src" "$dst" "$COUNT"
  sniff_stop "$name"
  check_ge "$mode: ESP frames sent by A" "$COUNT" "$(sniffed "$name" .out.esp)"
  check_ge "$mode: ESP frames received by A (the replies)" "$COUNT" "$(sniffed "$name" .in.esp)"
  check_eq "$mode: plaintext ICMP echo frames sent by A" 0 "$(sniffed "$name" .out.echo)"
  check_eq "$mode: frames sent by A with the ping's payload in the clear" 0 "$(sniffed "$name" .out.pattern)"
  check_eq "$mode: SPIs of the ESP frames A sent" "$spi_out" "$(sniffed "$name" '.out.spis | join(",")')"
  if [[ -n $spi_in && -n $spi_out ]]; then
    check_ge "$mode: kernel packets of SA $spi_out at A" "$COUNT" "$(sa_counter "$NS_A" "$spi_out" packets)"
    check_ge "$mode: kernel packets of SA $spi_in at A" "$COUNT" "$(sa_counter "$NS_A" "$spi_in" packets)"
    check_ge "$mode: kernel packets of SA $spi_out at B" "$COUNT" "$(sa_counter "$NS_B" "$spi_out" packets)"
  fi
  status_json a >"$WORK/$mode-status-a2.json" 2>&1 || true
  status_json b >"$WORK/$mode-status-b2.json" 2>&1 || true
  log "$mode: A's Child SA after the ping: $(jq -c '.ike_sas[0].child_sas[0] // "none"' "$WORK/$mode-status-a2.json" 2>&1)"
  b_in=$(jq -r '.ike_sas[0].child_sas[0].bytes_in // empty' "$WORK/$mode-status-a2.json")
  b_out=$(jq -r '.ike_sas[0].child_sas[0].bytes_out // empty' "$WORK/$mode-status-a2.json")
  check_ge "$mode: ike status --json bytes_out of A's Child SA" 1 "$b_out"
  check_ge "$mode: ike status --json bytes_in of A's Child SA" 1 "$b_in"
  check_ge "$mode: ike status --json bytes_out of B's Child SA" 1 "$(jq -r '.ike_sas[0].child_sas[0].bytes_out // empty' "$WORK/$mode-status-b2.json")"
  check_ge "$mode: ike status --json bytes_in of B's Child SA" 1 "$(jq -r '.ike_sas[0].child_sas[0].bytes_in // empty' "$WORK/$mode-status-b2.json")"

  rc=0
  "$IKE" down -s "$RUN/a.sock" "$CONN" >"$WORK/$mode-down.out" 2>&1 || rc=$?
  check_eq "$mode: ike down $CONN exit status" 0 "$rc"
  # the responder removes its SAs when the delete arrives: poll (bounded) for both sides
  poll 50 sh -c "[ -z \"\$(ip -n $NS_A xfrm state)\$(ip -n $NS_B xfrm state)\" ]" || true
  check_eq "$mode: $NS_A states after ike down" "" "$(ip -n "$NS_A" xfrm state)"
  check_eq "$mode: $NS_B states after ike down" "" "$(ip -n "$NS_B" xfrm state)"
  # (the IKE sockets' own bypass policies, "socket in/out", stay as long as the sockets)
  check_eq "$mode: $NS_A SPD policies after ike down" "" "$(spd_policies "$NS_A")"
  check_eq "$mode: $NS_B SPD policies after ike down" "" "$(spd_policies "$NS_B")"
  check_eq "$mode: A's IKE SAs after ike down" 0 "$(status_json a | jq '.ike_sas | length')"

  for side in a b; do
    local pid_var=PID_${side^^}
    rc=0
    stop_daemon "${!pid_var}" || rc=$?
    check_eq "$mode: side ${side^^}'s daemon exit status after SIGTERM" 0 "$rc"
    printf -v "$pid_var" %s ""
  done
  check_eq "$mode: $NS_A policies once the daemon stopped (none, not even its sockets')" "" "$(ip -n "$NS_A" xfrm policy)"
  check_eq "$mode: $NS_B policies once the daemon stopped" "" "$(ip -n "$NS_B" xfrm policy)"
  check "$mode: no ERROR lines in the daemon logs" sh -c "! grep -h ' ERROR ' $WORK/$mode-a.log $WORK/$mode-b.log"
  if ((FAILURES > failures_before)); then
    show_logs "$mode"
  fi
  ip -n "$NS_A" xfrm state flush
  ip -n "$NS_B" xfrm state flush
  ip -n "$NS_A" xfrm policy flush
  ip -n "$NS_B" xfrm policy flush
}

for mode in "${MODES[@]}"; do
  case $mode in
  tunnel | transport) run_mode "$mode" ;;
  *) die "unknown mode $mode (tunnel or transport)" ;;
  esac
done
finish
