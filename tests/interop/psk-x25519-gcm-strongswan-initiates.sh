#!/usr/bin/env bash
# strongSwan initiates (swanctl --initiate) and our engine responds: PSK, IKE
# aes128gcm16-prfsha256-x25519, ESP aes128gcm16. Both sides must hold the same IKE SA and Child
# SA. Run: sudo bash tests/interop/THIS.sh
source "$(dirname "$0")/lib.sh"
ikei_begin
SW_PROPOSALS=aes128gcm16-prfsha256-x25519
SW_ESP=aes128gcm16
swan_start
capture_start
peer_start --ike-proposal aes128gcm16-prfsha256-x25519 --esp-proposal aes128gcm16
swan_initiate

peer_wait '.event == "ike_sa_established"' 1 10 "IKE SA"
peer_wait '.event == "child_sa_install" or .event == "child_sa_failed"' 1 5 "Child SA"
swan_wait '.[] | select(.state == "ESTABLISHED")' 5 "IKE SA"
check_eq "strongSwan initiated" false "$(peer_get '.event == "ike_sa_established"' .initiator)"
check_eq "negotiated IKE proposal" aes128gcm16-prfsha256-x25519 \
  "$(peer_get '.event == "ike_sa_established"' .proposal)"
check_ike_match
check_child_or_kernel_refusal
ikei_end
