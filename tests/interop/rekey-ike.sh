#!/usr/bin/env bash
# IKE SA rekey (RFC 7296 §1.3.2, §2.18) in both directions on an IKE SA our engine initiated:
# first our engine rekeys it, then strongSwan does (swanctl --rekey --ike). After each rekey
# both sides must hold exactly one IKE SA, the new one with the same new SPIs, with the Child SA
# moved over unchanged; then a Child SA rekey and traffic prove the new IKE SA's keys work, and
# finally a delete through the newest IKE SA. With IKEI_KERNEL=netlink only the IKE SA part
# runs (no Child SA there). Run: sudo bash tests/interop/THIS.sh
source "$(dirname "$0")/lib.sh"
ikei_begin
SW_PROPOSALS=aes128gcm16-prfsha256-x25519
SW_ESP=aes128gcm16
swan_start
capture_start
peer_start --initiate

peer_wait '.event == "ike_sa_established"' 1 10 "IKE SA"
peer_wait '.event == "child_sa_install" or .event == "child_sa_failed"' 1 5 "Child SA"
swan_wait '.[] | select(.state == "ESTABLISHED")' 5 "IKE SA"
check_ike_match
check_child_or_kernel_refusal
child=$(peer_live_children | jq -c 'last | {spi_in, spi_out}')

# ike_rekeyed N: after the Nth rekey, strongSwan holds just the new IKE SA (the old one is
# deleted by the rekey's initiator) and the Child SA is still the same on both sides
ike_rekeyed() {
  peer_wait '.event == "ike_sa_rekeyed"' "$1" 10 "IKE SA rekey $1"
  peer_wait '.event == "ike_sa_closed" and .reason == "Rekeyed"' "$1" 10 "old IKE SA closed"
  local new
  new=$(peer_ike)
  swan_wait "length == 1 and .[0].\"initiator-spi\" == $(jq .spi_i <<<"$new") and
    .[0].\"responder-spi\" == $(jq .spi_r <<<"$new")" 10 "strongSwan on the new IKE SA only"
  check_ike_match
  check_eq "our Child SA kept across the IKE rekey" "$child" \
    "$(peer_live_children | jq -c 'last | {spi_in, spi_out}')"
  check_child_or_kernel_refusal
}

log "--- our engine rekeys the IKE SA"
old=$(peer_ike | jq -r '.spi_i + "/" + .spi_r')
peer_cmd rekey-ike
ike_rekeyed 1
new=$(peer_ike | jq -r '.spi_i + "/" + .spi_r')
check "new SPIs $new differ from $old" test "$new" != "$old"
check "strongSwan: we (the rekey's initiator) are the new IKE SA's initiator" \
  swan_check '.[0].initiator != "yes"'

log "--- strongSwan rekeys the IKE SA"
old=$new
sw --rekey --ike "$CONN" >>"$WORK/swan/rekey.out" 2>&1 || die "swanctl --rekey failed"
ike_rekeyed 2
new=$(peer_ike | jq -r '.spi_i + "/" + .spi_r')
check "new SPIs $new differ from $old" test "$new" != "$old"
check "strongSwan: it (the rekey's initiator) is the new IKE SA's initiator" \
  swan_check '.[0].initiator == "yes"'

if [[ $IKEI_KERNEL == libipsec ]]; then
  log "--- a Child SA rekey on the newest IKE SA, each side once"
  old=$(peer_live_children | jq -r 'last | .spi_in')
  peer_cmd rekey-child
  peer_wait ".event == \"child_sa_delete\" and .spi_in == \"$old\"" 1 10 "old Child SA deleted"
  swan_wait 'swan_children | map(select(.state == "INSTALLED")) | length == 1' 10 "Child SA rekey"
  check_child_match
  old=$(peer_live_children | jq -r 'last | .spi_in')
  sw --rekey --child "$CHILD" >>"$WORK/swan/rekey.out" 2>&1 || die "swanctl --rekey failed"
  peer_wait ".event == \"child_sa_delete\" and .spi_in == \"$old\"" 1 10 "old Child SA deleted"
  swan_wait "swan_children | map(select(.state == \"INSTALLED\"))
    | length == 1 and all(.\"spi-out\" != \"$old\")" 10 "Child SA rekey"
  check_child_match
fi

log "--- we delete the newest IKE SA"
peer_cmd delete
peer_wait '.event == "ike_sa_closed" and .reason == "Deleted"' 1 10 "IKE SA deleted"
swan_wait 'length == 0' 10 "no IKE SA at strongSwan"
check_eq "our live IKE SAs" null "$(peer_ike)"
ikei_end
