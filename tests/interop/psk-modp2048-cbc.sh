#!/usr/bin/env bash
# PSK with IKE aes256-sha256-modp2048 and ESP aes256-sha256, both ways: first our engine
# initiates (and deletes the IKE SA), then strongSwan initiates (and deletes it). Each time both
# sides must hold the same IKE SA and Child SA. Run: sudo bash tests/interop/THIS.sh
source "$(dirname "$0")/lib.sh"
ikei_begin
SW_PROPOSALS=aes256-sha256-modp2048
SW_ESP=aes256-sha256
swan_start
capture_start
peer_start --ike-proposal aes256-sha256-modp2048 --esp-proposal aes256-sha256

log "--- our engine initiates"
peer_cmd initiate
peer_wait '.event == "ike_sa_established"' 1 10 "IKE SA"
peer_wait '.event == "child_sa_install" or .event == "child_sa_failed"' 1 5 "Child SA"
swan_wait '.[] | select(.state == "ESTABLISHED")' 5 "IKE SA"
check_eq "we initiated" true "$(peer_get '.event == "ike_sa_established"' .initiator)"
check_eq "negotiated IKE proposal" aes256-sha256-prfsha256-modp2048 \
  "$(peer_get '.event == "ike_sa_established"' .proposal)"
check_ike_match
check_child_or_kernel_refusal
peer_cmd delete
peer_wait '.event == "ike_sa_closed"' 1 10 "our IKE SA closed"
check_eq "close reason" Deleted "$(peer_get '.event == "ike_sa_closed"' .reason)"
swan_wait 'length == 0' 5 "no IKE SA"

log "--- strongSwan initiates"
swan_initiate
peer_wait '.event == "ike_sa_established"' 2 10 "second IKE SA"
peer_wait '.event == "child_sa_install" or .event == "child_sa_failed"' 2 5 "second Child SA"
swan_wait '.[] | select(.state == "ESTABLISHED")' 5 "IKE SA"
check_eq "strongSwan initiated" false "$(peer_get '.event == "ike_sa_established"' .initiator)"
check_eq "negotiated IKE proposal" aes256-sha256-prfsha256-modp2048 \
  "$(peer_get '.event == "ike_sa_established"' .proposal)"
check_ike_match
check_child_or_kernel_refusal
swan_terminate_ike
peer_wait '.event == "ike_sa_closed"' 2 10 "our IKE SA closed"
check_eq "close reason" DeletedByPeer "$(peer_get '.event == "ike_sa_closed"' .reason)"
swan_wait 'length == 0' 5 "no IKE SA"
ikei_end
