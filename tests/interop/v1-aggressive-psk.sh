#!/usr/bin/env bash
# v1-main-psk.sh with Aggressive Mode (RFC 2409 §5.4: SA KE Ni IDii; SA KE Nr IDir HASH_R;
# HASH_I) instead of Main Mode, both roles: our connection has `aggressive = true`, strongSwan's
# `aggressive = yes`, and strongSwan, which refuses to answer Aggressive Mode with a pre-shared
# key by default ("Aggressive Mode PSK disabled for security reasons"), gets
# charon.i_dont_care_about_security_and_use_aggressive_mode_psk = yes. The same checks on both
# sides as in Main Mode; each capture must hold Aggressive Mode (at least 3 messages, the first
# from the part's initiator), Quick Mode and the Deletes, and no Main Mode.
# With kernel-libipsec (the default) strongSwan fakes a NAT, so NAT-T (NAT-D in Aggressive Mode
# messages 2 and 3, message 3 on UDP 4500) is needed for the Child SA; IKEI_KERNEL=netlink runs
# the IKE SA part without it.
# Run: sudo bash tests/interop/THIS.sh
V1_AGGRESSIVE=1
source "$(dirname "${BASH_SOURCE[0]}")/v1-main-psk.sh"
