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
# keep the Child SA, and strongSwan's log must show who rekeyed. While waiting for a rekey both
# sides are sampled (every 0.1-0.2 s, and 1 s past the rekey): each sample must show the child
# with a Child SA in the kernel on each side (INSTALLED, or the old one still installed while it
# is being replaced: our REKEYING, strongSwan's REKEYING/REKEYED), so the rekey left no gap.
# pending/v1-rekey.sh runs this scenario in IKEv1 (SW_VERSION=1): a Child SA rekey is a new
# Quick Mode (with PFS here) and the old pair's Delete; an IKE SA "rekey" is a
# re-authentication, a new Main Mode whose ISAKMP SA takes over the Child SAs, then the old
# ISAKMP SA's Delete (RFC 2409 has no ISAKMP SA rekey; strongSwan's rekey_time on an IKEv1 IKE SA
# means re-authentication). The timers differ there, see below.
# Needs IKEI_KERNEL=libipsec (installed Child SAs). Run: sudo bash tests/interop/THIS.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ikei_begin
need_libipsec
if [[ $SW_VERSION == 1 ]]; then
  SW_PROPOSALS=aes128-sha256-x25519
  SW_ESP=aes128-sha256-x25519
  # Our engine deletes the old pair of its own Quick Mode rekey 5 s after the new one is up
  # (REKEY_OVERLAP, crates/ike-proto/src/v1/rekey.rs): a child rekey_time under that overlaps
  # rekeys without end, so ours is 8 s (the rekey at 7.2-8 s, the old pair gone 5 s later, the
  # next rekey 7.2-8 s after the first).
  OUR_CHILD_REKEY='rekey_time = "8s"
life_time = "30s"'
  CHILD_WAIT=16
  # strongSwan 5.9.8 keeps the old Child SA of its own IKEv1 rekey as REKEYED until its hard
  # lifetime by default (charon.delete_rekeyed = no), and we keep our half until its Delete:
  # several Child SAs per child on both sides. delete_rekeyed sends the Delete at once.
  SW_CHARON_EXTRA='delete_rekeyed = yes'
  # strongSwan's log: our rekey (a Quick Mode with KE, after the first), its own, and the
  # re-authentications
  RE_OUR_CHILD_REKEY='parsed QUICK_MODE request [0-9]+ \[ HASH SA No KE ID ID \]'
  RE_SW_CHILD_REKEY='generating QUICK_MODE request [0-9]+ \[ HASH SA No KE ID ID \]'
  RE_OUR_IKE_REKEY="$A4 is initiating a Main Mode IKE_SA"
  RE_SW_IKE_REKEY='initiating Main Mode IKE_SA'
  REKEY_MIN=2 # (the first Quick Mode or Main Mode has the same line)
  # strongSwan 5.9.8 re-authenticates an IKEv1 IKE SA by moving its Child SAs to a new one at
  # once and leaving the old one REKEYING, unannounced, until its hard lifetime (rekey_time +
  # over_time), when it sends the old ISAKMP SA's Delete; we move our Child SAs then. So a short
  # over_time: the old ISAKMP SA goes 2 s after the re-authentication, 2 s before the next one.
  SW_IKE_REKEY="rekey_time = 4s
    over_time = 2s
    rand_time = 0s"
else
  SW_PROPOSALS=aes128gcm16-prfsha256-x25519
  SW_ESP=aes128gcm16-x25519
  OUR_CHILD_REKEY='rekey_time = "2s"'
  CHILD_WAIT=7
  RE_OUR_CHILD_REKEY='parsed CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\) SA No KE TSi TSr \]'
  RE_SW_CHILD_REKEY='generating CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\) SA No KE TSi TSr \]'
  RE_OUR_IKE_REKEY='parsed CREATE_CHILD_SA request [0-9]+ \[ SA No KE \]'
  RE_SW_IKE_REKEY='generating CREATE_CHILD_SA request [0-9]+ \[ SA No KE \]'
  REKEY_MIN=1
  # (over_time: with the default, 10%, strongSwan's IKE_SA delete for the hard lifetime comes
  # with the rekey, waits for it, moves to the new IKE SA and deletes that; rand_time = 0 as in
  # B1)
  SW_IKE_REKEY="rekey_time = 3s
    over_time = 10s
    rand_time = 0s"
fi
swan_start
capture_start

# oneline TEXT: TEXT's lines and indentation as single spaces (for log lines)
oneline() { tr -s '\n ' ' ' <<<"$1" | sed 's/ $//'; }

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

# child_in_kernel_now: each side has a Child SA of $CHILD in the kernel, on any of its IKE SAs
child_in_kernel_now() {
  ike_check "[.ike_sas[].child_sas[] | select(.name == \"$CHILD\")
      | select(.state == \"INSTALLED\" or .state == \"REKEYING\")] | length >= 1" &&
    swan_check "[swan_children[] | select(.name == \"$CHILD\")
      | select(.state == \"INSTALLED\" or .state == \"REKEYING\" or .state == \"REKEYED\")]
      | length >= 1"
}

# watch_rekey SECONDS WHAT CONDITION ARGS...: until CONDITION holds (SECONDS at most, then 1 s
# more), sample both sides: a sample without the child in the kernel on a side is a gap; checks
# that there was none
watch_rekey() {
  local secs=$1 what=$2 samples=0 gaps=0 end settle=""
  shift 2
  end=$(($(date +%s%N) + secs * 1000000000))
  while (($(date +%s%N) < end)); do
    samples=$((samples + 1))
    child_in_kernel_now || gaps=$((gaps + 1))
    if [[ -z $settle ]] && "$@"; then
      settle=1
      end=$(($(date +%s%N) + 1000000000))
    fi
    sleep 0.1
  done
  [[ -n $settle ]] || log "no $what seen in $secs s"
  check_eq "samples during the $what without $CHILD in the kernel on a side (of $samples)" 0 "$gaps"
}

# rekey_child_phase WHO: wait for a Child SA rekey ($CHILD_WAIT s at most) and check both sides
rekey_child_phase() {
  local old new
  both_wait_up "$CHILD"
  check_sas_match "$CHILD"
  old=$(ike_get '.ike_sas[0].child_sas[0] | "\(.spi_in) \(.spi_out)"')
  watch_rekey "$CHILD_WAIT" "Child SA rekey" child_rekeyed_now "${old% *}"
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
  watch_rekey 8 "IKE SA rekey" ike_rekeyed_now "${old% *}"
  check_sas_match "$CHILD"
  new=$(ike_snap '.ike_sas[0] | "\(.initiator_spi) \(.responder_spi)"')
  check "IKE SA rekeyed by $1: SPIs $old -> $new, both new" \
    eval "[[ '${new% *}' != '${old% *}' && '${new#* }' != '${old#* }' ]]"
  check_eq "the Child SA moved to the new IKE SA unchanged" "$child" \
    "$(ike_snap '.ike_sas[0].child_sas[0] | "\(.spi_in) \(.spi_out)"')"
  OLD_IKE=$old
}

log "--- A1: our daemon rekeys the Child SA ($(oneline "$OUR_CHILD_REKEY"))"
IKE_CHILD_EXTRA=$OUR_CHILD_REKEY
daemon_start
swan_log_mark
ike_up
rekey_child_phase "us"
check "strongSwan answered our rekey (with PFS)" \
  test "$(swan_log_count "$RE_OUR_CHILD_REKEY")" -ge "$REKEY_MIN"
check "our daemon logged the old Child SA's delete" \
  daemon_log "$CONN/$CHILD: Child SA deleted in ${OLD_CHILD% *}"
if [[ $SW_VERSION == 1 ]]; then
  check "strongSwan got our Delete for the old ESP SA" \
    swan_log "received DELETE for ESP CHILD_SA with SPI ${OLD_CHILD% *}"
fi
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
  test "$(swan_log_count "$RE_OUR_IKE_REKEY")" -ge "$REKEY_MIN"
check "our daemon logged the rekey" daemon_log "$CONN: IKE SA rekeyed"
if [[ $SW_VERSION == 1 ]]; then
  check "strongSwan moved the Child SA to the new ISAKMP SA" \
    swan_log 'detected reauth of existing IKE_SA, adopting 1 children'
  check "strongSwan got our Delete for the old ISAKMP SA" swan_log 'received DELETE for IKE_SA'
  check "strongSwan deleted no Child SA" eval '! swan_log "received DELETE for ESP CHILD_SA"'
fi
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
daemon_log_mark
swan_initiate
rekey_child_phase "strongSwan"
check "strongSwan initiated the rekey (with PFS)" \
  test "$(swan_log_count "$RE_SW_CHILD_REKEY")" -ge "$REKEY_MIN"
if [[ $SW_VERSION == 1 ]]; then
  check "strongSwan sent its Delete for the old ESP SA" \
    swan_log "sending DELETE for ESP CHILD_SA with SPI ${OLD_CHILD#* }"
  check "our daemon dropped the old Child SA" \
    daemon_log "$CONN/$CHILD: Child SA deleted in ${OLD_CHILD% *}"
fi
swan_terminate_ike
both_wait_gone

log "--- B2: strongSwan rekeys the IKE SA ($(oneline "$SW_IKE_REKEY"))"
SW_CHILD_EXTRA=""
SW_CONN_EXTRA=$SW_IKE_REKEY
swan_reload
swan_log_mark
daemon_log_mark
swan_initiate
rekey_ike_phase "strongSwan"
check "strongSwan initiated the IKE SA rekey" \
  test "$(swan_log_count "$RE_SW_IKE_REKEY")" -ge "$REKEY_MIN"
check "our daemon logged the rekey" daemon_log "$CONN: IKE SA rekeyed"
if [[ $SW_VERSION == 1 ]]; then
  if swan_log 'sending DELETE for IKE_SA'; then
    check "strongSwan deleted the old ISAKMP SA" swan_log 'sending DELETE for IKE_SA'
  else
    # (with lifetimes this short the old ISAKMP SA's negotiated lifetime can end on our side
    # before strongSwan gets to delete it; then we delete it, and the Child SA must have moved
    # to the new one, which the next check and rekey_ike_phase above show)
    log "note: the old ISAKMP SA's lifetime ended on our side before strongSwan deleted it"
    check "our daemon deleted the old ISAKMP SA at its lifetime" daemon_log 'ISAKMP SA lifetime ended: deleting it'
    check "strongSwan got our Delete for the old ISAKMP SA" swan_log 'received DELETE for IKE_SA'
  fi
  check "our daemon deleted no Child SA" eval '! daemon_log "$CONN/$CHILD: Child SA deleted"'
fi
swan_terminate_ike
both_wait_gone
daemon_end
