#!/usr/bin/env bash
# The real `ike daemon` against strongSwan: rekeys on timers (short rekey_time), four phases:
#   A1. our child rekey_time = 2s (ESP with PFS, x25519); we initiate, our daemon rekeys the
#       Child SA;
#   A2. our IKE SA rekey_time = 3s; we initiate, our daemon rekeys the IKE SA;
#   B1. strongSwan's child rekey_time = 2s; strongSwan initiates and rekeys the Child SA;
#   B2. strongSwan's IKE SA rekey_time = 3s; strongSwan initiates and rekeys the IKE SA.
# After each rekey both sides must show the new SPIs (the old ones gone), exactly one IKE SA and
# one Child SA per child (ike status --json vs swanctl --list-sas, from one snapshot each; at
# strongSwan the old Child SA may linger as not INSTALLED for a moment), an IKE SA rekey must
# keep the Child SA, and strongSwan's log must show who rekeyed.
# Needs IKEI_KERNEL=libipsec (installed Child SAs). Run: sudo bash tests/interop/THIS.sh
source "$(dirname "$0")/lib.sh"
ikei_begin
need_libipsec
SW_PROPOSALS=aes128gcm16-prfsha256-x25519
SW_ESP=aes128gcm16-x25519
swan_start
capture_start

# child_rekeyed_now OLD_SPI_IN: our one Child SA has another inbound SPI and strongSwan's one
# INSTALLED Child SA is its mirror
child_rekeyed_now() {
  local new
  new=$(ike_get '.ike_sas[0].child_sas | if length == 1 then .[0].spi_in else "" end')
  [[ -n $new && $new != "$1" ]] &&
    swan_check "[swan_children[] | select(.state == \"INSTALLED\")]
      | length == 1 and .[0].\"spi-out\" == \"$new\""
}

# ike_rekeyed_now OLD_SPI_I: our one IKE SA has another initiator SPI, ESTABLISHED, and it is
# strongSwan's only IKE SA
ike_rekeyed_now() {
  local spis
  spis=$(ike_get '.ike_sas | if length == 1 and .[0].state == "ESTABLISHED"
    then .[0] | "\(.initiator_spi) \(.responder_spi)" else "" end')
  [[ -n $spis && ${spis% *} != "$1" ]] &&
    swan_check "length == 1 and .[0].state == \"ESTABLISHED\"
      and .[0].\"initiator-spi\" == \"${spis% *}\" and .[0].\"responder-spi\" == \"${spis#* }\""
}

# rekey_child_phase WHO: wait for a Child SA rekey (7 s at most) and check both sides
rekey_child_phase() {
  local old new
  both_wait_up "$CHILD"
  check_sas_match "$CHILD"
  old=$(ike_get '.ike_sas[0].child_sas[0] | "\(.spi_in) \(.spi_out)"')
  poll 70 child_rekeyed_now "${old% *}" || log "no Child SA rekey seen in 7 s"
  check_sas_match "$CHILD"
  new=$(ike_snap '.ike_sas[0].child_sas[0] | "\(.spi_in) \(.spi_out)"')
  check "Child SA rekeyed by $1: SPIs $old -> $new, both new" \
    eval "[[ '${new% *}' != '${old% *}' && '${new#* }' != '${old#* }' ]]"
  check "strongSwan holds no INSTALLED Child SA with the old SPIs" \
    swan_check "[swan_children[] | select(.state == \"INSTALLED\")
      | select(.\"spi-out\" == \"${old% *}\" or .\"spi-in\" == \"${old#* }\")] | length == 0"
  OLD_CHILD=$old
}

# rekey_ike_phase WHO: wait for an IKE SA rekey (8 s at most) and check both sides
rekey_ike_phase() {
  local old new child
  both_wait_up "$CHILD"
  check_sas_match "$CHILD"
  old=$(ike_get '.ike_sas[0] | "\(.initiator_spi) \(.responder_spi)"')
  child=$(ike_get '.ike_sas[0].child_sas[0] | "\(.spi_in) \(.spi_out)"')
  poll 80 ike_rekeyed_now "${old% *}" || log "no IKE SA rekey seen in 8 s"
  check_sas_match "$CHILD"
  new=$(ike_snap '.ike_sas[0] | "\(.initiator_spi) \(.responder_spi)"')
  check "IKE SA rekeyed by $1: SPIs $old -> $new, both new" \
    eval "[[ '${new% *}' != '${old% *}' && '${new#* }' != '${old#* }' ]]"
  check_eq "the Child SA moved to the new IKE SA unchanged" "$child" \
    "$(ike_snap '.ike_sas[0].child_sas[0] | "\(.spi_in) \(.spi_out)"')"
}

log "--- A1: our daemon rekeys the Child SA (rekey_time = 2s)"
IKE_CHILD_EXTRA='rekey_time = "2s"'
daemon_start
swan_log_mark
ike_up
rekey_child_phase "us"
check "strongSwan answered our rekey (CREATE_CHILD_SA with REKEY_SA and PFS)" \
  swan_log 'parsed CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\) SA No KE TSi TSr \]'
check "our daemon logged the old Child SA's delete" \
  daemon_log "$CONN/$CHILD: Child SA deleted in ${OLD_CHILD% *}"
ike_down
both_wait_gone
daemon_stop

log "--- A2: our daemon rekeys the IKE SA (rekey_time = 3s)"
IKE_CHILD_EXTRA=""
IKE_CONN_EXTRA='rekey_time = "3s"'
daemon_start
swan_log_mark
ike_up
rekey_ike_phase "us"
check "strongSwan answered our IKE SA rekey" \
  swan_log 'parsed CREATE_CHILD_SA request [0-9]+ \[ SA No KE \]'
check "our daemon logged the rekey" daemon_log "$CONN: IKE SA rekeyed"
ike_down
both_wait_gone
daemon_stop

IKE_CONN_EXTRA=""
daemon_start
log "--- B1: strongSwan rekeys the Child SA (rekey_time = 2s)"
# (an explicit life_time: with the default, rekey_time + 10%, strongSwan's whole-second timers
# can make the hard expiry fire with the rekey, and the Child SA is deleted, not rekeyed; and
# rand_time = 0: it defaults to life_time - rekey_time, and a random jitter larger than
# rekey_time puts the rekey off past the hard expiry)
SW_CHILD_EXTRA="rekey_time = 2s
        life_time = 10s
        rand_time = 0s"
swan_reload
swan_log_mark
swan_initiate
rekey_child_phase "strongSwan"
check "strongSwan initiated the rekey (CREATE_CHILD_SA with REKEY_SA and PFS)" \
  swan_log 'generating CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\) SA No KE TSi TSr \]'
swan_terminate_ike
both_wait_gone

log "--- B2: strongSwan rekeys the IKE SA (rekey_time = 3s)"
SW_CHILD_EXTRA=""
# (likewise over_time: with the default, 10%, strongSwan's IKE_SA delete for the hard lifetime
# comes with the rekey, waits for it, moves to the new IKE SA and deletes that; rand_time as
# above)
SW_CONN_EXTRA="rekey_time = 3s
    over_time = 10s
    rand_time = 0s"
swan_reload
swan_log_mark
daemon_log_mark
swan_initiate
rekey_ike_phase "strongSwan"
check "strongSwan initiated the IKE SA rekey" \
  swan_log 'generating CREATE_CHILD_SA request [0-9]+ \[ SA No KE \]'
check "our daemon logged the rekey" daemon_log "$CONN: IKE SA rekeyed"
swan_terminate_ike
both_wait_gone
daemon_end
