#!/usr/bin/env bash
# Child SA rekey (RFC 7296 §1.3.3) in both directions on one IKE SA that our engine initiated:
# first our engine rekeys (CREATE_CHILD_SA with REKEY_SA, then deletes the old Child SA), then
# strongSwan does (swanctl --rekey --child). After each rekey both sides must hold exactly one
# Child SA, the new one, with the same SPIs. Needs kernel-libipsec (installed Child SAs).
# Run: sudo bash tests/interop/THIS.sh
source "$(dirname "$0")/lib.sh"
need_libipsec
ikei_begin
SW_PROPOSALS=aes128gcm16-prfsha256-x25519
SW_ESP=aes128gcm16
swan_start
capture_start
peer_start --initiate

peer_wait '.event == "child_sa_install"' 1 10 "first Child SA"
swan_wait 'swan_children | map(select(.state == "INSTALLED")) | length == 1' 5 "first Child SA"
check_ike_match
check_child_match
old=$(peer_get '.event == "child_sa_install"' .spi_in)

log "--- our engine rekeys the Child SA"
peer_cmd rekey-child
peer_wait '.event == "child_sa_install"' 2 10 "rekeyed Child SA"
peer_wait ".event == \"child_sa_delete\" and .spi_in == \"$old\"" 1 10 "old Child SA deleted"
swan_wait "swan_children | map(select(.state == \"INSTALLED\"))
  | length == 1 and all(.\"spi-out\" != \"$old\")" 10 "strongSwan's old Child SA replaced"
new=$(peer_get '.event == "child_sa_install"' .spi_in)
check "new inbound SPI differs from the old" test "$new" != "$old"
check_ike_match
check_child_match
check "strongSwan logged the rekey" swan_log 'CHILD_SA net\{1\} state change: (INSTALLED|REKEYING) => REKEYED'
old=$new

log "--- strongSwan rekeys the Child SA"
sw --rekey --child "$CHILD" >>"$WORK/swan/rekey.out" 2>&1 || die "swanctl --rekey failed"
peer_wait '.event == "child_sa_install"' 3 10 "Child SA rekeyed by strongSwan"
peer_wait ".event == \"child_sa_delete\" and .spi_in == \"$old\"" 1 10 "old Child SA deleted"
swan_wait "swan_children | map(select(.state == \"INSTALLED\"))
  | length == 1 and all(.\"spi-out\" != \"$old\")" 10 "strongSwan's old Child SA replaced"
new=$(peer_get '.event == "child_sa_install"' .spi_in)
check "new inbound SPI differs from the old" test "$new" != "$old"
check_ike_match
check_child_match
ikei_end
