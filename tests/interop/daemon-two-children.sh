#!/usr/bin/env bash
# The real `ike daemon` against strongSwan with a connection of two children with different
# selectors: net (10.88.1.0/24 <-> 10.88.2.0/24) and net2 (10.88.11.0/24 <-> 10.88.12.0/24,
# TCP only). Both Child SAs must sit on the same IKE SA on both sides: one IKE SA, two Child
# SAs, each with crossed SPIs, its own selectors, and one Child SA per child.
#   1. strongSwan initiates net (IKE_AUTH), then net2 (CREATE_CHILD_SA on the same IKE SA);
#      strongSwan deletes the IKE SA.
#   2. `ike up` (both children have start_action = none): the daemon brings up the connection,
#      net with IKE_AUTH and net2 with CREATE_CHILD_SA; `ike down`.
# v1-pfs-two-children.sh runs this scenario in IKEv1 (SW_VERSION=1) with PFS: each child is its
# own Quick Mode (RFC 2409 §5.5) with a KE payload, aes128-sha256-modp2048.
# Needs IKEI_KERNEL=libipsec (installed Child SAs). Run: sudo bash tests/interop/THIS.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ikei_begin
need_libipsec
if [[ $SW_VERSION == 1 ]]; then
  SW_PROPOSALS=aes128-sha256-modp2048
  SW_ESP=aes128-sha256-modp2048
  # strongSwan's log lines for the second child (v1: a Quick Mode with PFS, KE present)
  SECOND_REQ='generating QUICK_MODE request [0-9]+ \[ HASH SA No KE ID ID \]'
  SECOND_RESP='generating QUICK_MODE response [0-9]+ \[ HASH SA No KE ID ID \]'
  SECOND_HOW="a Quick Mode with PFS"
  SECOND_COUNT=2 # (the first child's Quick Mode has the same payloads)
else
  SW_PROPOSALS=aes128gcm16-prfsha256-x25519
  SW_ESP=aes128gcm16
  SECOND_REQ='generating CREATE_CHILD_SA request [0-9]+ \[ SA No (KE )?TSi TSr \]'
  SECOND_RESP='generating CREATE_CHILD_SA response [0-9]+ \[ SA No (KE )?TSi TSr \]'
  SECOND_HOW="CREATE_CHILD_SA"
  SECOND_COUNT=1
fi
CHILD2=net2
TS_A2="10.88.11.0/24[tcp]"
TS_B2="10.88.12.0/24[tcp]"
# kernel-libipsec refuses a policy whose local selector holds none of the host's addresses
ip -n "$NS_A" addr add 10.88.11.1/32 dev lo
ip -n "$NS_B" addr add 10.88.12.1/32 dev lo
SW_CHILDREN_EXTRA="$CHILD2 {
        local_ts = $TS_B2
        remote_ts = $TS_A2
        esp_proposals = $SW_ESP
      }"
IKE_TAIL="[connections.$CONN.children.$CHILD2]
local_ts = [\"$TS_A2\"]
remote_ts = [\"$TS_B2\"]
esp_proposals = \"$SW_ESP\""
swan_start
capture_start
daemon_start

# check_two_children: on top of check_sas_match, each child's selectors are its own
check_two_children() {
  check_sas_match "$CHILD" "$CHILD2"
  local name l r
  for name in "$CHILD" "$CHILD2"; do
    [[ $name == "$CHILD" ]] && l=$TS_A r=$TS_B || l=$TS_A2 r=$TS_B2
    check_eq "$name: our selectors (normalized)" \
      "$(jq -r "$SWAN_JQ_DEFS \"\([\"$l\"] | map(norm_ts)) \([\"$r\"] | map(norm_ts))\"" <<<null)" \
      "$(ike_snap ".ike_sas[0].child_sas[] | select(.name == \"$name\")
        | \"\(.local_ts | map(norm_ts)) \(.remote_ts | map(norm_ts))\"")"
  done
  check "the two Child SAs have four different SPIs" eval \
    "[[ \$(ike_snap '[.ike_sas[0].child_sas[] | .spi_in, .spi_out] | unique | length') == 4 ]]"
  check_eq "both Child SAs' proposal is the configured one (ours)" "$SW_ESP $SW_ESP" \
    "$(ike_snap '[.ike_sas[0].child_sas[].proposal] | join(" ")')"
}

log "--- strongSwan initiates $CHILD, then $CHILD2 on the same IKE SA"
swan_initiate
log "strongSwan initiates $CONN/$CHILD2"
sw --initiate --child "$CHILD2" --ike "$CONN" --timeout 15 >>"$WORK/swan/initiate.out" 2>&1 ||
  log "swanctl --initiate: $(tail -n 1 "$WORK/swan/initiate.out")"
both_wait_up "$CHILD" "$CHILD2"
check_two_children
check "strongSwan made $CHILD2 with $SECOND_HOW" \
  test "$(swan_log_count "$SECOND_REQ")" -ge "$SECOND_COUNT"
swan_terminate_ike
both_wait_gone

log "--- ike up: $CHILD, then $CHILD2 with $SECOND_HOW"
swan_log_mark
ike_up
both_wait_up "$CHILD" "$CHILD2"
check_two_children
check "strongSwan answered $SECOND_HOW for $CHILD2" \
  test "$(swan_log_count "$SECOND_RESP")" -ge "$SECOND_COUNT"
ike_down
both_wait_gone
daemon_end
