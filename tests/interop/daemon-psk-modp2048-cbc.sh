#!/usr/bin/env bash
# daemon-psk.sh with PSK, MODP-2048 and AES-CBC + HMAC-SHA-256 (IKE and ESP) instead of
# X25519 and AES-GCM: the same checks on both sides, the proposal strings compared too.
# Run: sudo bash tests/interop/THIS.sh
DAEMON_PSK_PROPOSALS=aes256-sha256-modp2048
DAEMON_PSK_ESP=aes256-sha256
source "$(dirname "$0")/daemon-psk.sh"
