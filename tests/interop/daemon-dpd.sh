#!/usr/bin/env bash
# Dead peer detection between the real `ike daemon` and strongSwan, each side killed by PID:
#   1. dpd_delay = 1s, dpd_action = "clear" on our side: liveness checks are answered while
#      strongSwan lives; then charon is killed (SIGKILL, so it sends nothing) and our IKE SA must
#      be gone within a bound (status empty, the log says the peer stopped answering), and stay
#      gone (no new IKE_SA_INIT).
#   2. dpd_action = "restart": charon is killed and a new charon started at once (a peer that
#      rebooted: it knows nothing of the old SA); our daemon must find the old IKE SA dead and
#      initiate the connection again by itself, and both sides must show the new IKE SA.
#   3. The reverse: strongSwan with dpd_delay = 1s (dpd_action clear); our daemon is killed
#      with SIGKILL and strongSwan must drop the IKE SA within a bound.
# Retransmission timers are short on both sides (ours: 0.5 s, 3 tries, no growth; strongSwan:
# 1 s, 3 tries, no growth), so each detection takes a few seconds.
# v1-dpd.sh runs this scenario in IKEv1 (SW_VERSION=1): RFC 3706 DPD, R-U-THERE and
# R-U-THERE-ACK notifies with sequence numbers in protected Informational exchanges, both sides
# having announced DPD with its vendor ID; strongSwan's IKEv1 DPD gives up after its DPD timeout
# (with dpd_timeout unset, as long as its retransmissions would take: 4 x 1 s, less dpd_delay).
# Run: sudo bash tests/interop/THIS.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ikei_begin
if [[ $SW_VERSION == 1 ]]; then
  SW_PROPOSALS=aes128-sha256-x25519
  SW_ESP=aes128-sha256
  # strongSwan's log: our liveness check it answered, its answer, its own check's answer, its
  # giving up
  RE_SW_GOT_CHECK='parsed INFORMATIONAL_V1 request [0-9]+ \[ HASH N\(DPD\) \]'
  RE_SW_ANSWERED='N\(DPD_ACK\)'
  RE_SW_GOT_ANSWER='parsed INFORMATIONAL_V1 request [0-9]+ \[ HASH N\(DPD_ACK\) \]'
  RE_SW_GAVE_UP='DPD check timed out, enforcing DPD action'
  WHAT_CHECK="R-U-THERE"
  WHAT_GAVE_UP="its DPD timeout passed"
else
  SW_PROPOSALS=aes128gcm16-prfsha256-x25519
  SW_ESP=aes128gcm16
  RE_SW_GOT_CHECK='parsed INFORMATIONAL request [0-9]+ \[ \]'
  RE_SW_ANSWERED='generating INFORMATIONAL response'
  RE_SW_GOT_ANSWER='parsed INFORMATIONAL response [0-9]+ \[ \]'
  RE_SW_GAVE_UP='giving up after 3 retransmits'
  WHAT_CHECK="empty INFORMATIONAL requests"
  WHAT_GAVE_UP="it gave up retransmitting"
fi
SW_CHARON_EXTRA="retransmit_base = 1.0"
IKE_DAEMON_EXTRA='retransmit_timeout = "0.5s"
retransmit_base = 1.0
retransmit_tries = 3'
children=$(expected_children "$CHILD")
swan_start
capture_start

# now_s: seconds since the epoch, with decimals
now_s() { date +%s.%N; }
# since T0: seconds since T0, one decimal
since() { printf '%.1f' "$(echo "$(now_s) - $1" | bc)"; }

log "--- 1. dpd_action = clear: strongSwan's charon killed"
IKE_CONN_EXTRA='dpd_delay = "1s"
dpd_action = "clear"'
daemon_start
ike_up
both_wait_up $children
check_sas_match $children
old=$(ike_get '.ike_sas[0].initiator_spi')
sleep 1.8 # (a liveness check after each second without traffic)
check "strongSwan answered our liveness checks ($WHAT_CHECK)" swan_log "$RE_SW_GOT_CHECK"
check_eq "our IKE SA is still the same after the liveness checks" "$old" \
  "$(ike_get '.ike_sas[0].initiator_spi')"
swan_stop KILL
t0=$(now_s)
poll 100 ike_check '.ike_sas | length == 0' || true
took=$(since "$t0")
check_eq "our IKE SAs after charon died" 0 "$(ike_get '.ike_sas | length')"
check "gone in at most 6 s (dpd_delay 1 s + 4 x 0.5 s; took $took s)" \
  eval "(( \$(echo '$took <= 6' | bc) ))"
check "our daemon logged that the peer stopped answering" \
  daemon_log "$CONN: IKE SA ${old}_i [0-9a-f]+_r closed: the peer stopped answering"
sleep 1
check_eq "our IKE SAs 1 s later (clear: no restart)" 0 "$(ike_get '.ike_sas | length')"
check_eq "IKE SAs our daemon initiated (ike up only)" 1 "$(daemon_log_count 'initiating IKE SA')"
daemon_stop

log "--- 2. dpd_action = restart: charon killed and started again"
IKE_CONN_EXTRA='dpd_delay = "1s"
dpd_action = "restart"'
swan_start
daemon_start
ike_up
both_wait_up $children
check_sas_match $children
old=$(ike_get '.ike_sas[0] | "\(.initiator_spi) \(.responder_spi)"')
swan_stop KILL
swan_log_mark
swan_start
t0=$(now_s)
poll 100 daemon_log 'closed: the peer stopped answering' || true
check "our daemon found the old IKE SA dead ($(since "$t0") s after charon's restart)" \
  daemon_log "$CONN: IKE SA ${old% *}_i ${old#* }_r closed: the peer stopped answering"
check "the new charon ignored the old IKE SA's liveness checks" eval '! swan_log "$RE_SW_ANSWERED"'
both_wait_up $children
# (the engine restarts the connection itself: the daemon logs no "initiating" line for it)
check_eq "IKE SAs our daemon established as initiator (ike up, then the restart)" 2 \
  "$(daemon_log_count "$CONN: IKE SA established .*\(initiator\)")"
check_sas_match $children
new=$(ike_snap '.ike_sas[0] | "\(.initiator_spi) \(.responder_spi)"')
check "the new IKE SA ($new) is not the old one ($old)" test "$new" != "$old"
check_eq "IKE SAs strongSwan initiated" 0 \
  "$(swan_log_count 'initiating (Main Mode |Aggressive Mode )?IKE_SA')"
ike_down
both_wait_gone
daemon_stop

log "--- 3. strongSwan's dpd_delay = 1s: our daemon killed"
SW_CONN_EXTRA="dpd_delay = 1s"
swan_reload
swan_log_mark
IKE_CONN_EXTRA=""
daemon_start
swan_initiate
both_wait_up $children
check_sas_match $children
sleep 1.8
check "our daemon answered strongSwan's liveness checks" swan_log "$RE_SW_GOT_ANSWER"
daemon_stop KILL
t0=$(now_s)
poll 150 swan_check 'length == 0' || true
took=$(since "$t0")
check_eq "strongSwan's IKE SAs after our daemon died" 0 "$(swan_get 'length')"
check "gone in at most 10 s (dpd_delay 1 s + 4 x 1 s; took $took s)" \
  eval "(( \$(echo '$took <= 10' | bc) ))"
check "strongSwan: $WHAT_GAVE_UP" swan_log "$RE_SW_GAVE_UP"
ikei_end
