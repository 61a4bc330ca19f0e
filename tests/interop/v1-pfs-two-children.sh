#!/usr/bin/env bash
# daemon-two-children.sh in IKEv1 with PFS: one ISAKMP SA (Main Mode PSK,
# aes128-sha256-modp2048) and two children with different selectors, net and net2 (TCP only),
# each its own Quick Mode with a KE payload (esp aes128-sha256-modp2048, RFC 2409 §5.5). strongSwan
# initiates both, then `ike up` brings up both; each time both sides must show one IKE SA with
# both Child SAs (crossed SPIs, own selectors, the PFS proposal), and strongSwan's log two Quick
# Modes with KE. Needs IKEI_KERNEL=libipsec. Run: sudo bash tests/interop/THIS.sh
SW_VERSION=1
source "$(dirname "${BASH_SOURCE[0]}")/daemon-two-children.sh"
