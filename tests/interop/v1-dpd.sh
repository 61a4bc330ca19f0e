#!/usr/bin/env bash
# daemon-dpd.sh in IKEv1 (RFC 3706 dead peer detection: R-U-THERE / R-U-THERE-ACK), Main Mode
# PSK, short retransmissions on both sides:
#   1. our dpd_delay 1s, dpd_action clear: strongSwan answers our R-U-THERE; charon SIGKILLed:
#      our daemon closes the ISAKMP SA after its retransmissions (within 6 s), no restart;
#   2. dpd_action restart: charon SIGKILLed and started again; our daemon finds the old ISAKMP
#      SA dead and initiates again by itself; both sides show the new one;
#   3. strongSwan's dpd_delay 1s: our daemon answers its R-U-THERE; our daemon SIGKILLed:
#      strongSwan's DPD timeout closes its SA (within 10 s).
# Run: sudo bash tests/interop/THIS.sh
SW_VERSION=1
d=$(dirname "${BASH_SOURCE[0]}")
[[ -e $d/daemon-dpd.sh ]] || d=$d/..
source "$d/daemon-dpd.sh"
