#!/usr/bin/env bash
# The real `ike daemon` against strongSwan in IKEv1 (`version = 1` on both connections): Main Mode
# with a pre-shared key (RFC 2409 §5, §5.4), aes128-sha256-modp2048 for the ISAKMP SA, then
# Quick Mode (§5.5) for one ESP Child SA, aes128-sha256 without PFS.
#   1. `ike up`: we initiate Main Mode (6 messages) and Quick Mode (3); both sides must agree
#      (check_sas_match: cookies as the SPIs, proposal, identities, addresses with ports, crossed
#      ESP SPIs, selectors, mode) and both must call the SA IKEv1; `ike down` deletes
#      (Informational exchanges with Delete payloads, unanswered in IKEv1): strongSwan must log
#      both Deletes and drop both SAs.
#   2. strongSwan initiates; the same checks; strongSwan deletes (its Deletes: one Informational
#      for the ESP SA, naming its inbound SPI, then one for the ISAKMP SA) and we drop both SAs.
# Each part has its own capture, which must hold IKEv1 messages only: Main Mode started by the
# part's initiator, Quick Mode, Informational, never Aggressive Mode.
# strongSwan 5.9.8's kernel-libipsec (IKEI_KERNEL=libipsec, the default) fakes a NAT: with RFC
# 3947 NAT-T negotiated, IKE moves to UDP 4500 at Main Mode message 5 and the ESP SA is
# UDP-Encapsulated-Tunnel (encapsulation mode 3). A peer without NAT-T gets its Child SA deleted
# by strongSwan right after Quick Mode ("IPsec SA: only UDP encapsulation is supported").
# With IKEI_KERNEL=netlink strongSwan refuses Child SAs: only the IKE SA is compared. As the
# responder it then deletes the Child SA right after Quick Mode 3 with a Delete that names the
# initiator's (our) inbound SPI, not its own; strongSwan itself accepts a Delete naming either
# SPI, and we must drop the Child SA for it too.
# In pending/ (scripts/test.sh does not run it) until the IKEv1 engine is declared ready; then
# `git mv` it to tests/interop/. Run: sudo bash tests/interop/pending/THIS.sh
d=$(dirname "$0")
[[ -e $d/lib.sh ]] || d=$d/..
source "$d/lib.sh"
ikei_begin
SW_VERSION=1 # and so our connection's version too (IKE_VERSION defaults to it)
SW_PROPOSALS=aes128-sha256-modp2048
SW_ESP=aes128-sha256
swan_start
daemon_start
children=$(expected_children "$CHILD")

# check_v1: on top of check_sas_match (same snapshot), both sides call the IKE SA IKEv1
check_v1() {
  check_eq "our IKE SA's version" 1 "$(ike_snap '.ike_sas[0].version')"
  check_eq "strongSwan's IKE SA's version" 1 "$(sw_snap '.[0].version')"
}

# v1_exchanges: the exchanges of the last stopped capture, one per line, in order, each as
# "IKEv1 Quick Mode (32)" (ike decode's names: protocol, then exchange type)
v1_exchanges() {
  jq -r '.messages[] | "\(.ike.name) \([.ike.children[]? | select(.name == "Exchange type")
    | .value] | first)"' "$WORK/$CAPTURE.json" 2>/dev/null
}

# check_capture INITIATOR_ADDR: the part's capture holds IKEv1 only; Main Mode begun by
# INITIATOR_ADDR (first message from it), at least 6 Main Mode messages, at least 3 Quick Mode
# messages when a Child SA was expected, an Informational (the Deletes), no Aggressive Mode
check_capture() {
  local ex
  ex=$(v1_exchanges)
  check "the capture $CAPTURE has IKE messages" test -n "$ex"
  check_eq "every message in $CAPTURE is IKEv1" 0 "$(grep -vc '^IKEv1 ' <<<"$ex" || true)"
  check_eq "Main Mode's first message from $1" "$1" \
    "$(capture_messages '(.exchange // "") | startswith("Identity Protection")' | head -n 1 |
      jq -r '.src | sub(":[0-9]+$"; "")')"
  check "at least 6 Main Mode messages" test "$(grep -c 'Main Mode' <<<"$ex" || true)" -ge 6
  if [[ -n $children ]]; then
    check "at least 3 Quick Mode messages" test "$(grep -c 'Quick Mode' <<<"$ex" || true)" -ge 3
  fi
  check "an Informational exchange (the Deletes)" grep -q 'Informational' <<<"$ex"
  check_eq "Aggressive Mode messages" 0 "$(grep -c 'Aggressive' <<<"$ex" || true)"
}

log "--- ike up (Main Mode, Quick Mode), ike down"
swan_log_mark
capture_start ours
ike_up
both_wait_up $children
check_sas_match $children
check_v1
check "strongSwan answered a Main Mode" swan_log "$A4 is initiating a Main Mode IKE_SA"
if [[ -n $children ]]; then
  check "strongSwan answered a Quick Mode" swan_log 'parsed QUICK_MODE request [0-9]+ \[ HASH SA No ID ID \]'
fi
ike_down
both_wait_gone
check "strongSwan logged our Delete for the IKE SA" swan_log 'received DELETE for IKE_SA'
if [[ -n $children ]]; then
  check "strongSwan logged our Delete for the ESP SA" swan_log 'received DELETE for ESP CHILD_SA'
fi
capture_stop
check_capture "$A4"

log "--- strongSwan initiates (Main Mode, Quick Mode) and deletes"
swan_log_mark
capture_start theirs
swan_initiate
both_wait_up $children
check_sas_match $children
check_v1
check "strongSwan initiated a Main Mode" swan_log 'initiating Main Mode IKE_SA'
if [[ -n $children ]]; then
  check "strongSwan's Quick Mode completed" swan_log "CHILD_SA $CHILD\{[0-9]+\} established"
fi
swan_terminate_ike
both_wait_gone
check "strongSwan sent its Delete for the IKE SA" swan_log 'sending DELETE for IKE_SA'
capture_stop
check_capture "$B4"
daemon_end
