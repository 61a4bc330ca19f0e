#!/usr/bin/env bash
# daemon-cert.sh in IKEv1 with ECDSA P-256 keys: Main Mode with ECDSA signatures (RFC 4754;
# method 9, ECDSA-256) and certificates from a CA made in the test, then Quick Mode, both roles;
# then a strongSwan certificate from a CA we do not trust (only the RSA test CA) is refused.
# See v1-cert-rsa.sh, and pending/README.md for why this one waits here.
# Run: sudo bash tests/interop/pending/THIS.sh
SW_VERSION=1
CERT_KEY_TYPES=ecdsa
d=$(dirname "${BASH_SOURCE[0]}")
[[ -e $d/daemon-cert.sh ]] || d=$d/..
source "$d/daemon-cert.sh"
