#!/usr/bin/env bash
# tests/uml/ike-xfrm.sh - two `ike daemon`s with kernel = "xfrm" install real ESP SAs and policies.
#
#   tests/uml/boot.sh tests/uml/ike-xfrm.sh [VARIANT...]    (default: all eight, about 2.5 minutes)
#
# Two namespaces in the guest, uml-a (gateway A, 10.77.0.1) and uml-b (gateway B, 10.77.0.2),
# joined by a veth pair, each running `ike daemon` with a copy of examples/site-to-site-psk.toml
# (A) or examples/site-to-site-psk-b.toml (B). The copies differ from the examples only where the
# test must: the control socket is in the guest's /run, A's child is not started by the daemon
# (`ike up` starts it), and what the variant changes:
#   tunnel     the examples as they are (AES-GCM-16, 10.88.1.0/24 <-> 10.88.2.0/24)
#   transport  mode = "transport", the gateways' own addresses as traffic selectors
#   encap      tunnel with encap = true on A: ESP in UDP 4500 (RFC 3948)
#   cbc        tunnel with esp_proposals = ["aes256-sha256-modp2048"]: AES-CBC and HMAC-SHA-256
#   ah         tunnel with ah_proposals = ["sha256"] instead of ESP: AH (protocol 51) on the wire
#              with A's SPI, HMAC-SHA-256 states (AH authenticates only: the payload is visible)
#   trap       tunnel with start_action = "trap" on A: no `ike up`, the ping's acquire starts it
#   ipv6       tunnel over IPv6: gateways fd77::1 and fd77::2, fd88:1::/64 <-> fd88:2::/64
#   rekey      tunnel with A's child rekey_time = "3s": A rekeys the Child SA (with PFS) again and
#              again; checked: two rekeys, the old SAs gone from both kernels, the policies kept,
#              the ping still ESP (rekey_checks)
#   v1, v1-transport, v1-rekey
#              the tunnel, transport and rekey variants with version = 1 on both connections:
#              IKEv1 Main Mode (aes256-sha256-modp2048, the examples' IKEv1-capable proposal) and
#              Quick Mode with PFS (the examples' AES-GCM-16 ESP proposal with x25519); v1-rekey
#              rekeys every 6 s (a new Quick Mode; the old pair deleted a few seconds later);
#              v1-trap: the trap variant in IKEv1 (the acquire starts Main Mode); v1-encap: A's
#              encap = true, so RFC 3947 NAT-T floats to 4500 and ESP goes in UDP
# For each variant (rekey: see rekey_checks):
#   - `ike up site-b` on A succeeds (trap: the trap policy is there first, and a ping brings the
#     Child SA up); both `ike status --json` show the Child SA INSTALLED with mirrored SPIs and the
#     mode;
#   - `ip xfrm state` in both namespaces has the two ESP SAs with those SPIs, the mode, the
#     algorithms (and the UDP encapsulation); `ip xfrm policy` has the out and in policies;
#   - a ping between the protected addresses (10.88.1.1 on A's loopback to 10.88.2.1 on B's,
#     routed through the veth; in transport mode 10.77.0.1 to 10.77.0.2) gets its replies, and on
#     A's veth it is ESP (or ESP in UDP) with A's outbound SPI, never the plaintext payload;
#   - the SAs' kernel counters and `ike status --json`'s bytes_in/bytes_out went up on both sides;
#   - `ike down site-b` removes every state and policy in both namespaces (but the IKE sockets'
#     own bypass policies, and a trap's outbound policy); SIGTERM ends the daemons with exit
#     status 0, and those go too.
# The daemons log at ike=debug,kernel=debug to $UML_WORK/ike-xfrm/VARIANT-{a,b}.log; on a failure
# their last lines are printed.
#
# Environment: IKE=PATH (default: target/debug/ike of the repository; build it with
# `cargo build -p ike`).
set -euo pipefail
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
A6=fd77::1 # the ipv6 variant's
B6=fd77::2
HOST_A6=fd88:1::1
HOST_B6=fd88:2::1
RUN=/run/uml-ike # control sockets: the guest's own /run
CONN=site-b      # A's connection, examples/site-to-site-psk.toml
COUNT=3
VARIANTS=("$@")
((${#VARIANTS[@]})) || VARIANTS=(tunnel transport encap cbc ah trap ipv6 rekey v1 v1-transport v1-rekey v1-trap v1-encap)
PID_A=""
PID_B=""

mkdir -p "$RUN"
netns_pair "$NS_A" "$NS_B" "$DEV_A" "$DEV_B" "$A/24" "$B/24"
ip -n "$NS_A" addr add "$HOST_A/32" dev lo
ip -n "$NS_B" addr add "$HOST_B/32" dev lo
ip -n "$NS_A" route add 10.88.2.0/24 via "$B" src "$HOST_A"
ip -n "$NS_B" route add 10.88.1.0/24 via "$A" src "$HOST_B"
# the same over IPv6 for the ipv6 variant (nodad: usable at once)
ip -n "$NS_A" addr add "$A6/64" dev "$DEV_A" nodad
ip -n "$NS_B" addr add "$B6/64" dev "$DEV_B" nodad
ip -n "$NS_A" addr add "$HOST_A6/128" dev lo nodad
ip -n "$NS_B" addr add "$HOST_B6/128" dev lo nodad
ip -n "$NS_A" route add fd88:2::/64 via "$B6" src "$HOST_A6"
ip -n "$NS_B" route add fd88:1::/64 via "$A6" src "$HOST_B6"
log "namespaces $NS_A ($A, $HOST_A, $A6, $HOST_A6) and $NS_B ($B, $HOST_B, $B6, $HOST_B6) are up; ike is $IKE"

# adapt EXAMPLE SIDE VARIANT: the example as this test runs it (see the top)
adapt() {
  local example=$1 side=$2 variant=$3 local remote out=$WORK/$3-$2.toml start=none orig=$3
  [[ ($variant == trap || $variant == v1-trap) && $side == a ]] && start=trap
  local -a sed=(-e "s#^control_socket = .*#control_socket = \"$RUN/$side.sock\"#"
    -e "s/^start_action = \"start\".*/start_action = \"$start\"/")
  if [[ $variant == v1* ]]; then
    sed+=(-e 's#^version = 2#version = 1#' -e 's#^proposals = .*#proposals = ["aes256-sha256-modp2048"]#')
    variant=${variant#v1}
    variant=${variant#-}
    [[ -n $variant ]] || variant=tunnel
    [[ $variant == rekey && $side == a ]] && sed+=(-e 's#^rekey_time = "1h".*#rekey_time = "6s"#')
    [[ $variant == rekey ]] && variant=none
  fi
  case $variant in
  transport)
    if [[ $side == a ]]; then local=$A remote=$B; else local=$B remote=$A; fi
    sed+=(-e '/^mode = /d'
      -e "s#^local_ts = .*#local_ts = [\"$local/32\"]#"
      -e "s#^remote_ts = .*#remote_ts = [\"$remote/32\"]\\nmode = \"transport\"#") ;;
  encap) [[ $side == a ]] && sed+=(-e 's#^remote_addrs = .*#&\nencap = true#') ;;
  cbc) sed+=(-e 's#^esp_proposals = .*#esp_proposals = ["aes256-sha256-modp2048"]#') ;;
  ah) sed+=(-e 's#^esp_proposals = .*#ah_proposals = ["sha256"]#') ;;
  rekey) [[ $side == a ]] && sed+=(-e 's#^rekey_time = "1h".*#rekey_time = "3s"#') ;;
  ipv6)
    local mine=1 theirs=2
    [[ $side == b ]] && mine=2 theirs=1
    sed+=(-e "s#\"10\\.77\\.0\\.$mine\"#\"fd77::$mine\"#g" -e "s#\"10\\.77\\.0\\.$theirs\"#\"fd77::$theirs\"#g"
      -e "s#^local_ts = .*#local_ts = [\"fd88:$mine::/64\"]#"
      -e "s#^remote_ts = .*#remote_ts = [\"fd88:$theirs::/64\"]#") ;;
  esac
  sed "${sed[@]}" "$REPO/examples/$example" >"$out"
  grep -q "^control_socket = \"$RUN/$side.sock\"" "$out" && grep -q '^kernel = "xfrm"' "$out" ||
    die "could not adapt examples/$example"
  case $variant-$side in
  transport-*) grep -q '^mode = "transport"' "$out" ;;
  encap-a) grep -q '^encap = true' "$out" ;;
  cbc-*) grep -q '^esp_proposals = \["aes256-sha256-modp2048"\]' "$out" ;;
  ah-*) grep -q '^ah_proposals = \["sha256"\]' "$out" ;;
  rekey-a) grep -q '^rekey_time = "3s"' "$out" ;;
  ipv6-*) grep -q '^listen = \["fd77::' "$out" && grep -q '^remote_addrs = \["fd77::' "$out" &&
    ! grep -v '^#' "$out" | grep -q '10\.77\.\|10\.88\.' ;;
  trap-a) grep -q '^start_action = "trap"' "$out" ;;
  esac || die "could not make examples/$example the $variant variant"
  [[ $orig != v1* ]] || grep -q '^version = 1' "$out" || die "could not make examples/$example IKEv1"
  "$IKE" check -c "$out" >&2 || die "ike check refused $out"
}

# start_daemon SIDE NS VARIANT: `ike daemon` in NS, waiting until its control socket answers
start_daemon() {
  local side=$1 ns=$2 variant=$3 pid i
  ip netns exec "$ns" "$IKE" daemon -c "$WORK/$variant-$side.toml" --log ike=debug,kernel=debug,net=info \
    </dev/null >"$WORK/$variant-$side.out" 2>"$WORK/$variant-$side.log" &
  pid=$!
  PIDS+=("$pid")
  printf -v "PID_${side^^}" %s "$pid"
  for ((i = 0; i < 100; i++)); do
    "$IKE" status -s "$RUN/$side.sock" >/dev/null 2>&1 && return 0
    alive "$pid" || break
    sleep 0.1
  done
  show_logs "$variant"
  die "the ike daemon of side ${side^^} did not start"
}

show_logs() {
  local variant=$1 side
  for side in a b; do
    [[ -f $WORK/$variant-$side.log ]] || continue
    echo "--- last lines of the daemon log of side ${side^^} ($variant), $WORK/$variant-$side.log:" >&2
    tail -n 40 "$WORK/$variant-$side.log" >&2
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

# child FIELD FILE: a field of the first Child SA of the first IKE SA in a saved status
child() { jq -r ".ike_sas[0].child_sas[0].$1 // empty" "$2"; }

# xfrm_state_has NS SPI SRC DST PATTERN...: the SA is in NS's SAD, and what `ip xfrm state get`
# says of it has every PATTERN (fixed strings)
xfrm_state_has() {
  local ns=$1 spi=$2 src=$3 dst=$4 p
  shift 4
  ip -n "$ns" xfrm state get src "$src" dst "$dst" proto "${XPROTO:-esp}" spi "0x$spi" >"$WORK/state.txt" 2>&1 ||
    return 1
  for p in "$@"; do grep -qF "$p" "$WORK/state.txt" || return 1; done
}

# xfrm_policy_has NS DIR SRC_SEL DST_SEL MODE: a policy for that direction and selector pair
xfrm_policy_has() {
  ip -n "$1" xfrm policy get dir "$2" src "$3" dst "$4" >"$WORK/policy.txt" 2>&1 &&
    grep -q "mode $5" "$WORK/policy.txt"
}

# The rest of a variant's checks once its Child SA is up (the caller's locals: v, mode, sel_a,
# sel_b, src, dst, sa_has, wire), for all but rekey
standard_checks() {
  sa=$WORK/$v-status-a.json sb=$WORK/$v-status-b.json
  check_eq "$v: A's Child SA" INSTALLED "$(child state "$sa")"
  check_eq "$v: B's Child SA" INSTALLED "$(child state "$sb")"
  check_eq "$v: A's Child SA mode" "$mode" "$(child mode "$sa")"
  spi_in=$(child spi_in "$sa")
  spi_out=$(child spi_out "$sa")
  check_eq "$v: B's outbound SPI is A's inbound SPI" "$spi_in" "$(child spi_out "$sb")"
  check_eq "$v: B's inbound SPI is A's outbound SPI" "$spi_out" "$(child spi_in "$sb")"

  log "$v: ip xfrm state / policy in $NS_A:"
  ip -n "$NS_A" xfrm state >&2 || true
  ip -n "$NS_A" xfrm policy >&2 || true
  if [[ -n $spi_in && -n $spi_out ]]; then
    for ns in "$NS_A" "$NS_B"; do
      check "$v: $ns has SA $spi_out $ga -> $gb: ${sa_has[*]}" xfrm_state_has "$ns" "$spi_out" "$ga" "$gb" "${sa_has[@]}"
      check "$v: $ns has SA $spi_in $gb -> $ga: ${sa_has[*]}" xfrm_state_has "$ns" "$spi_in" "$gb" "$ga" "${sa_has[@]}"
    done
  fi
  check "$v: $NS_A policy out $sel_a -> $sel_b" xfrm_policy_has "$NS_A" out "$sel_a" "$sel_b" "$mode"
  check "$v: $NS_A policy in $sel_b -> $sel_a" xfrm_policy_has "$NS_A" in "$sel_b" "$sel_a" "$mode"
  check "$v: $NS_B policy out $sel_b -> $sel_a" xfrm_policy_has "$NS_B" out "$sel_b" "$sel_a" "$mode"
  check "$v: $NS_B policy in $sel_a -> $sel_b" xfrm_policy_has "$NS_B" in "$sel_a" "$sel_b" "$mode"

  name=$v-ping
  sniff_start "$NS_A" "$DEV_A" "$name"
  check "$v: ping $src -> $dst ($COUNT echo replies)" ping_from "$NS_A" "$src" "$dst" "$COUNT"
  sniff_stop "$name"
  check_ge "$v: $wire frames sent by A" "$COUNT" "$(sniffed "$name" ".out.$wire")"
  check_ge "$v: $wire frames received by A (the replies)" "$COUNT" "$(sniffed "$name" ".in.$wire")"
  check_eq "$v: plaintext ICMP echo frames sent by A" 0 "$(sniffed "$name" .out.echo)"
  if [[ $wire == ah ]]; then
    # AH authenticates and does not encrypt: the payload is visible inside the AH packets
    check_ge "$v: AH frames carry the ping's payload in the clear" "$COUNT" "$(sniffed "$name" .out.pattern)"
  else
    check_eq "$v: frames sent by A with the ping's payload in the clear" 0 "$(sniffed "$name" .out.pattern)"
  fi
  check_eq "$v: SPIs of the $wire frames A sent" "$spi_out" "$(sniffed "$name" '.out.spis | join(",")')"
  if [[ -n $spi_in && -n $spi_out ]]; then
    check_ge "$v: kernel packets of SA $spi_out at A" "$COUNT" "$(sa_counter "$NS_A" "$spi_out" packets)"
    check_ge "$v: kernel packets of SA $spi_in at A" "$COUNT" "$(sa_counter "$NS_A" "$spi_in" packets)"
    check_ge "$v: kernel packets of SA $spi_out at B" "$COUNT" "$(sa_counter "$NS_B" "$spi_out" packets)"
  fi
  for side in a b; do
    status_json "$side" >"$WORK/$v-status-$side-2.json" 2>&1 || true
    log "$v: ${side^^}'s Child SA after the ping: $(jq -c '.ike_sas[0].child_sas[0] // "none"' "$WORK/$v-status-$side-2.json" 2>&1)"
    for dir in in out; do
      check_ge "$v: ike status --json bytes_$dir of ${side^^}'s Child SA" 1 \
        "$(jq -r ".ike_sas[0].child_sas[0].bytes_$dir // empty" "$WORK/$v-status-$side-2.json")"
      check_ge "$v: ike status --json packets_$dir of ${side^^}'s Child SA" "$COUNT" \
        "$(jq -r ".ike_sas[0].child_sas[0].packets_$dir // empty" "$WORK/$v-status-$side-2.json")"
      check_ge "$v: ike status --json total_packets_$dir of ${side^^}'s child" "$COUNT" \
        "$(jq -r ".ike_sas[0].child_sas[0].total_packets_$dir // empty" "$WORK/$v-status-$side-2.json")"
    done
    check "$v: ike status --json last_use_seconds of ${side^^}'s Child SA is set (it carried traffic)" \
      jq -e '.ike_sas[0].child_sas[0].last_use_seconds | numbers | . >= 0 and . < 120' \
      "$WORK/$v-status-$side-2.json"
  done

}

# rekey (A's child rekey_time = 3s, so A rekeys it every 3 s or so, with PFS): two rekeys within
# 20 s; then one Child SA at A, two SAs in each kernel (four while a rekey overlaps), none of the
# first SPIs left, the policies still there (the reference counting moves them to the new SAs
# instead of removing them), and the ping is ESP
rekey_checks() {
  local first_in first_out last cur changes=0 i ns n name
  first_in=$(child spi_in "$WORK/$v-status-a.json")
  first_out=$(child spi_out "$WORK/$v-status-a.json")
  last=$first_in
  for ((i = 0; i < 200 && changes < 2; i++)); do
    cur=$(status_json a | jq -r '[.ike_sas[0].child_sas[] | select(.state == "INSTALLED")] | last | .spi_in // empty')
    if [[ -n $cur && $cur != "$last" ]]; then
      changes=$((changes + 1))
      last=$cur
      log "$v: A's Child SA rekeyed: now in $cur"
    fi
    sleep 0.1
  done
  check_ge "$v: Child SA rekeys by A within 20 s" 2 "$changes"
  # (an IKEv1 rekey keeps the old pair a few seconds, DELETING, beside the new one)
  check_eq "$v: Child SAs at A (not being deleted)" 1 \
    "$(status_json a | jq '[.ike_sas[].child_sas[] | select(.state != "DELETING")] | length')"
  for ns in "$NS_A" "$NS_B"; do
    n=$(ip -n "$ns" xfrm state | grep -c '^src' || true)
    check "$v: $ns has 2 SAs (3 or 4 while a rekey overlaps): $n" test "$n" -ge 2 -a "$n" -le 4
    check "$v: $ns has neither of the first SAs ($first_in, $first_out)" \
      sh -c "! ip -n $ns xfrm state | grep -q -e 'spi 0x$first_in ' -e 'spi 0x$first_out '"
  done
  check "$v: $NS_A policy out $sel_a -> $sel_b" xfrm_policy_has "$NS_A" out "$sel_a" "$sel_b" "$mode"
  check "$v: $NS_A policy in $sel_b -> $sel_a" xfrm_policy_has "$NS_A" in "$sel_b" "$sel_a" "$mode"
  check "$v: $NS_B policy out $sel_b -> $sel_a" xfrm_policy_has "$NS_B" out "$sel_b" "$sel_a" "$mode"
  check "$v: $NS_B policy in $sel_a -> $sel_b" xfrm_policy_has "$NS_B" in "$sel_a" "$sel_b" "$mode"
  name=$v-ping
  sniff_start "$NS_A" "$DEV_A" "$name"
  # No reply may be lost across the rekeys: the rekey's responder (B) installs its new
  # outbound SA only when the old SA is deleted (ChildSaInstall::outbound_after_delete), and
  # each side installs the new SAs before the message that completes the exchange leaves.
  # 2500 echoes 2 ms apart: about 8 s, across two or three rekeys; then the kernels must not
  # have dropped a single ESP packet for want of a state (XfrmInNoStates).
  local rc=0 n_echo=2500
  ping_from "$NS_A" "$src" "$dst" "$n_echo" 0.002 2>"$WORK/$v-ping.out" || rc=$?
  tail -n 1 "$WORK/$v-ping.out" >&2
  grep 'no reply' "$WORK/$v-ping.out" | head -n 5 >&2 || true
  for ns in "$NS_A" "$NS_B"; do
    check_eq "$v: $ns: inbound ESP without a state (XfrmInNoStates)" 0 \
      "$(ip netns exec "$ns" awk '$1 == "XfrmInNoStates" { print $2 }' /proc/net/xfrm_stat)"
  done
  check_eq "$v: ping $src -> $dst ($n_echo echo replies across rekeys) exit status" 0 "$rc"
  # Counters across rekeys: the child's totals hold every echo of the ping, though the SA
  # installed now carried only the part after the last rekey.
  local totals
  totals=$(status_json a | jq -r '[.ike_sas[0].child_sas[] | select(.state == "INSTALLED")] | last | "\(.total_packets_out // 0) \(.packets_out // 0)"')
  log "$v: A's child after the rekeys: total_packets_out packets_out = $totals"
  check_ge "$v: A's child total_packets_out holds the echoes of every SA" "$n_echo" "${totals%% *}"
  check "$v: the SA installed now carried fewer than the total (${totals##* } < ${totals%% *})" \
    test "${totals##* }" -lt "${totals%% *}"
  sniff_stop "$name"
  check_ge "$v: ESP frames sent by A" "$n_echo" "$(sniffed "$name" .out.esp)"
  check_eq "$v: plaintext ICMP echo frames sent by A" 0 "$(sniffed "$name" .out.echo)"
  check_eq "$v: frames sent by A with the ping's payload in the clear" 0 "$(sniffed "$name" .out.pattern)"
}

# child_installed SIDE: SIDE's first Child SA is INSTALLED now
child_installed() {
  [[ $(status_json "$1" | jq -r '.ike_sas[0].child_sas[0].state // empty') == INSTALLED ]]
}

run_variant() {
  local v=$1 mode=tunnel sel_a=10.88.1.0/24 sel_b=10.88.2.0/24 src=$HOST_A dst=$HOST_B ga=$A gb=$B
  local t rc spi_in spi_out ns side sa sb name wire=esp failures_before=$FAILURES
  local -a sa_has=("aead rfc4106(gcm(aes))")
  case ${v#v1-} in
  transport) mode=transport sel_a=$A/32 sel_b=$B/32 src=$A dst=$B ;;
  ipv6) ga=$A6 gb=$B6 sel_a=fd88:1::/64 sel_b=fd88:2::/64 src=$HOST_A6 dst=$HOST_B6 ;;
  encap) wire=esp_in_udp sa_has+=("encap type espinudp sport 4500 dport 4500") ;;
  cbc) sa_has=("enc cbc(aes)" "auth-trunc hmac(sha256)") ;;
  ah) wire=ah sa_has=("proto ah" "auth-trunc hmac(sha256)") ;;
  esac
  sa_has+=("mode $mode")
  local XPROTO=esp
  [[ $wire == ah ]] && XPROTO=ah
  log "=== $v: $mode mode, $sel_a <-> $sel_b"
  adapt site-to-site-psk.toml a "$v"
  adapt site-to-site-psk-b.toml b "$v"
  start_daemon a "$NS_A" "$v"
  start_daemon b "$NS_B" "$v"

  t=$EPOCHREALTIME
  if [[ $v == trap || $v == v1-trap ]]; then
    poll 50 xfrm_policy_has "$NS_A" out "$sel_a" "$sel_b" "$mode" || true
    check "$v: the trap policy out $sel_a -> $sel_b is in $NS_A before any traffic" \
      xfrm_policy_has "$NS_A" out "$sel_a" "$sel_b" "$mode"
    check_eq "$v: no states before any traffic" "" "$(ip -n "$NS_A" xfrm state)"
    # the first packets are dropped while the SA is negotiated: one echo request, then wait
    ip netns exec "$NS_A" "$PY" "$NETPY" ping "$dst" --src "$src" --count 1 --timeout 0.5 >&2 || true
    poll 100 child_installed a || true
    check "$v: the acquire brought the Child SA up" child_installed a
  else
    rc=0
    "$IKE" up -s "$RUN/a.sock" -t 30 "$CONN" >"$WORK/$v-up.out" 2>&1 || rc=$?
    log "$v: ike up: $(tr '\n' ' ' <"$WORK/$v-up.out")"
    check_eq "$v: ike up $CONN exit status" 0 "$rc"
  fi
  log "$v: up after $(elapsed "$t") s"
  status_json a >"$WORK/$v-status-a.json" 2>&1 || true
  status_json b >"$WORK/$v-status-b.json" 2>&1 || true
  "$IKE" status -s "$RUN/a.sock" >&2 || true

  check_eq "$v: A's IKE SA" ESTABLISHED "$(jq -r '.ike_sas[0].state' "$WORK/$v-status-a.json")"
  if [[ $v == rekey || $v == v1-rekey ]]; then
    rekey_checks
  else
    standard_checks
  fi

  rc=0
  "$IKE" down -s "$RUN/a.sock" "$CONN" >"$WORK/$v-down.out" 2>&1 || rc=$?
  check_eq "$v: ike down $CONN exit status" 0 "$rc"
  # the responder removes its SAs when the delete arrives: poll (bounded) for both sides
  poll 50 sh -c "[ -z \"\$(ip -n $NS_A xfrm state)\$(ip -n $NS_B xfrm state)\" ]" || true
  check_eq "$v: $NS_A states after ike down" "" "$(ip -n "$NS_A" xfrm state)"
  check_eq "$v: $NS_B states after ike down" "" "$(ip -n "$NS_B" xfrm state)"
  # (the IKE sockets' own bypass policies, "socket in/out", stay as long as the sockets; a trap
  # keeps its outbound policy)
  if [[ $v == trap || $v == v1-trap ]]; then
    check_eq "$v: $NS_A SPD policies after ike down (the trap's)" "dir out" \
      "$(spd_policies "$NS_A" | awk '{ print $1, $2 }' | tr '\n' ' ' | sed 's/ $//')"
  else
    check_eq "$v: $NS_A SPD policies after ike down" "" "$(spd_policies "$NS_A")"
  fi
  check_eq "$v: $NS_B SPD policies after ike down" "" "$(spd_policies "$NS_B")"
  check_eq "$v: A's IKE SAs after ike down" 0 "$(status_json a | jq '.ike_sas | length')"

  for side in a b; do
    local pid_var=PID_${side^^}
    rc=0
    stop_daemon "${!pid_var}" || rc=$?
    check_eq "$v: side ${side^^}'s daemon exit status after SIGTERM" 0 "$rc"
    printf -v "$pid_var" %s ""
  done
  check_eq "$v: $NS_A policies once the daemon stopped (none, not even its sockets')" "" "$(ip -n "$NS_A" xfrm policy)"
  check_eq "$v: $NS_B policies once the daemon stopped" "" "$(ip -n "$NS_B" xfrm policy)"
  check "$v: no ERROR lines in the daemon logs" sh -c "! grep -h ' ERROR ' $WORK/$v-a.log $WORK/$v-b.log"
  if ((FAILURES > failures_before)); then
    show_logs "$v"
  fi
  for ns in "$NS_A" "$NS_B"; do
    ip -n "$ns" xfrm state flush
    ip -n "$ns" xfrm policy flush
  done
}

for v in "${VARIANTS[@]}"; do
  case $v in
  tunnel | transport | encap | cbc | ah | trap | rekey | ipv6 | v1 | v1-transport | v1-rekey | v1-trap | v1-encap) run_variant "$v" ;;
  *) die "unknown variant $v (tunnel, transport, encap, cbc, ah, trap, rekey, ipv6, v1, v1-transport, v1-rekey, v1-trap or v1-encap)" ;;
  esac
done
finish
