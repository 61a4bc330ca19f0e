#!/usr/bin/env bash
# NAT-T forced through UDP 4500 (RFC 7296 §2.23, RFC 3948) between the real `ike daemon` and
# strongSwan, without a NAT: a side with encap = true sends a NAT_DETECTION_SOURCE_IP that cannot
# match, so both believe it is behind a NAT, and IKE moves to port 4500 after IKE_SA_INIT.
# kernel-libipsec fakes a NAT by itself, which would hide whether the forced encapsulation
# works, so parts 0-2 run strongSwan with kernel-netlink (it then refuses Child SAs: only the
# IKE SA is compared) and part 3 with kernel-libipsec:
#   0. control: no encap anywhere, we initiate: IKE stays on port 500;
#   1. our encap = true, we initiate: strongSwan sees us behind a NAT, IKE moves to 4500;
#   2. strongSwan's encap = yes, it initiates: we see it behind a NAT, IKE moves to 4500;
#   3. (kernel-libipsec) our encap = true, we initiate: the Child SA is UDP-encapsulated on both
#      sides (strongSwan's encap flag, our daemon's install line).
# Each part has its own capture: IKE_SA_INIT on 500, every later IKE message between the 4500
# ports behind the non-ESP marker (ike decode's non_esp_marker); both sides' status show the
# ports.
# pending/v1-natt.sh runs this scenario in IKEv1 (SW_VERSION=1, RFC 3947): NAT-D payloads in
# Main Mode messages 3 and 4, then from message 5 on everything (encrypted) between the 4500
# ports behind the marker, and Quick Mode's UDP-encapsulated tunnel mode.
# Run: sudo bash tests/interop/THIS.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ikei_begin
if [[ $SW_VERSION == 1 ]]; then
  SW_PROPOSALS=aes128-sha256-x25519
  SW_ESP=aes128-sha256
  # the messages before the move: Main Mode 1-4, the only ones in the clear
  BEFORE='.flags | test("Encryption") | not'
  BEFORE_WHAT="clear Main Mode messages (1-4)"
  # NAT-D payloads from both sides (Main Mode 3 and 4)
  NATD_JQ='map(select(.payloads | index("NAT-D (20)") != null) | .src) | unique | length == 2'
else
  SW_PROPOSALS=aes128gcm16-prfsha256-x25519
  SW_ESP=aes128gcm16
  BEFORE='.exchange | startswith("IKE_SA_INIT")'
  BEFORE_WHAT="IKE_SA_INIT messages"
  # NAT_DETECTION_SOURCE_IP in every IKE_SA_INIT message, both ways
  NATD_JQ='map(.notify | index("NAT_DETECTION_SOURCE_IP (16388)") != null) | all and length >= 2'
fi
KERNEL_WANTED=$IKEI_KERNEL

# check_ports PORT: our IKE SA and strongSwan's are between PORT and PORT (check_sas_match has
# compared the two sides' addresses already)
check_ports() {
  check_eq "our IKE SA's ports (local, remote)" "$A4:$1 $B4:$1" \
    "$(ike_snap '.ike_sas[0] | "\(.local_addr) \(.remote_addr)"')"
}

# natd_both_ways: the messages before the move carried NAT detection payloads both ways
natd_both_ways() { [[ $(capture_messages "$BEFORE" | jq -s "$NATD_JQ") == true ]]; }

# check_capture_moved: in the part's capture, the messages before the move (IKE_SA_INIT; IKEv1:
# Main Mode 1-4) went between the 500 ports without a marker, and every other IKE message
# between the 4500 ports behind the non-ESP marker
check_capture_moved() {
  local init others
  init=$(capture_messages "$BEFORE" | wc -l)
  others=$(capture_messages "($BEFORE) | not" | wc -l)
  check "$BEFORE_WHAT seen ($init)" test "$init" -ge 2
  check_eq "$BEFORE_WHAT, all on 500 -> 500 without a marker" "$init" \
    "$(capture_messages "($BEFORE) and (.src | endswith(\":500\"))
      and (.dst | endswith(\":500\")) and (.non_esp_marker | not)" | wc -l)"
  check "later IKE messages seen ($others)" test "$others" -ge 4
  check_eq "later IKE messages on 4500 -> 4500 behind the non-ESP marker" "$others" \
    "$(capture_messages "(($BEFORE) | not) and (.src | endswith(\":4500\"))
      and (.dst | endswith(\":4500\")) and .non_esp_marker" | wc -l)"
  check "$BEFORE_WHAT carried NAT detection payloads both ways" natd_both_ways
}

# swan_nat FLAG: strongSwan's nat-FLAG of its IKE SA (yes or no)
swan_nat() { sw_snap ".[0].\"nat-$1\" // \"no\""; }

# part NAME KERNEL: (re)start charon with that kernel interface and a capture named NAME
part() {
  capture_stop
  if [[ -n $CHARON_PID ]]; then swan_stop; fi
  IKEI_KERNEL=$2
  swan_log_mark
  swan_start
  capture_start "$1"
  daemon_stop
  daemon_start
}

log "--- 0. control: no encap, we initiate (strongSwan with kernel-netlink)"
part control netlink
ike_up
both_wait_up
check_sas_match
check_ports 500
check_eq "strongSwan: NAT (any)" no "$(swan_nat any)"
ike_down
both_wait_gone
capture_stop
check_eq "IKE messages away from port 500" 0 \
  "$(capture_messages '(.src | endswith(":500") | not) or (.dst | endswith(":500") | not)' | wc -l)"

log "--- 1. our encap = true, we initiate (kernel-netlink)"
IKE_CONN_EXTRA='encap = true'
part ours netlink
ike_up
both_wait_up
check_sas_match
check_ports 4500
check_eq "strongSwan: we are behind a NAT (nat-remote)" yes "$(swan_nat remote)"
check_eq "strongSwan: it is not (nat-local)" no "$(swan_nat local)"
check "strongSwan logged it" swan_log 'remote host is behind NAT'
ike_down
both_wait_gone
capture_stop
check_capture_moved

log "--- 2. strongSwan's encap = yes, it initiates (kernel-netlink)"
IKE_CONN_EXTRA=''
SW_CONN_EXTRA='encap = yes'
part swan netlink
swan_initiate
both_wait_up
check_sas_match
check_ports 4500
check_eq "strongSwan: it fakes a NAT (nat-fake)" yes "$(swan_nat fake)"
check "strongSwan logged it" swan_log 'faking NAT situation to enforce UDP encapsulation'
check "our Child SA (strongSwan's kernel then refused its half) is UDP-encapsulated (install line)" \
  daemon_log "$CONN/$CHILD: would install SAs .* $A4:4500 -> $B4:4500 udp-encap 4500->4500"
swan_terminate_ike
both_wait_gone
capture_stop
check_capture_moved

if [[ $KERNEL_WANTED == libipsec ]]; then
  log "--- 3. our encap = true, we initiate, Child SA installed (kernel-libipsec)"
  IKE_CONN_EXTRA='encap = true'
  SW_CONN_EXTRA=''
  part libipsec libipsec
  ike_up
  both_wait_up "$CHILD"
  check_sas_match "$CHILD"
  check_ports 4500
  check_eq "strongSwan: we are behind a NAT (nat-remote)" yes "$(swan_nat remote)"
  check_eq "strongSwan's Child SA is UDP-encapsulated" yes \
    "$(sw_snap '[swan_children[] | select(.state == "INSTALLED")][0].encap // "no"')"
  check "our Child SA is UDP-encapsulated (our daemon's install line)" \
    daemon_log "$CONN/$CHILD: would install SAs .* $A4:4500 -> $B4:4500 udp-encap 4500->4500"
  ike_down
  both_wait_gone
  capture_stop
  check_capture_moved
else
  log "--- 3. skipped (IKEI_KERNEL=$KERNEL_WANTED: no installed Child SAs)"
fi
daemon_end
