#!/usr/bin/env bash
# Deletes (RFC 7296 §1.4.1) from either side: our engine initiates, deletes the Child SA alone
# (the IKE SA must stay up on both sides), then the IKE SA; strongSwan initiates, deletes the
# Child SA alone (swanctl --terminate --child), then the IKE SA (--terminate --ike). After each
# step the state on both sides must agree. With IKEI_KERNEL=netlink the Child SA steps are
# skipped (no Child SA there). Run: sudo bash tests/interop/THIS.sh
source "$(dirname "$0")/lib.sh"
ikei_begin
SW_PROPOSALS=aes128gcm16-prfsha256-x25519
SW_ESP=aes128gcm16
swan_start
capture_start
peer_start

# up N: the Nth IKE SA came up, on both sides
up() {
  peer_wait '.event == "ike_sa_established"' "$1" 10 "IKE SA $1"
  peer_wait '.event == "child_sa_install" or .event == "child_sa_failed"' "$1" 5 "Child SA $1"
  swan_wait '.[] | select(.state == "ESTABLISHED")' 5 "IKE SA"
  check_ike_match
  check_child_or_kernel_refusal
}

# child_gone: our Child SA was deleted; the IKE SA lives on, on both sides
child_gone() {
  local spi=$1
  peer_wait ".event == \"child_sa_delete\" and .spi_in == \"$spi\"" 1 10 "Child SA deleted"
  swan_wait "swan_children | map(select(.\"spi-out\" == \"$spi\" and .state == \"INSTALLED\"))
    | length == 0" 10 "strongSwan's Child SA gone"
  check_eq "our live Child SAs" 0 "$(peer_live_children | jq length)"
  check_eq "strongSwan's INSTALLED Child SAs" 0 \
    "$(swan_get 'swan_children | map(select(.state == "INSTALLED")) | length')"
  check_ike_match
}

log "--- our engine initiates, then deletes the Child SA, then the IKE SA"
peer_cmd initiate
up 1
if [[ $IKEI_KERNEL == libipsec ]]; then
  spi=$(peer_live_children | jq -r 'last | .spi_in')
  peer_cmd delete-child
  child_gone "$spi"
fi
peer_cmd delete
peer_wait '.event == "ike_sa_closed"' 1 10 "IKE SA closed"
check_eq "close reason" Deleted "$(peer_get '.event == "ike_sa_closed"' .reason)"
swan_wait 'length == 0' 10 "no IKE SA at strongSwan"
check_eq "our live IKE SAs" null "$(peer_ike)"

log "--- strongSwan initiates, then deletes the Child SA, then the IKE SA"
swan_initiate
up 2
if [[ $IKEI_KERNEL == libipsec ]]; then
  spi=$(peer_live_children | jq -r 'last | .spi_in')
  swan_terminate_child
  child_gone "$spi"
fi
swan_terminate_ike
peer_wait '.event == "ike_sa_closed"' 2 10 "IKE SA closed"
check_eq "close reason" DeletedByPeer "$(peer_get '.event == "ike_sa_closed"' .reason)"
swan_wait 'length == 0' 10 "no IKE SA at strongSwan"
check_eq "our live IKE SAs" null "$(peer_ike)"
ikei_end
