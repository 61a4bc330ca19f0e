#!/usr/bin/env bash
# daemon-cert.sh in IKEv1 with RSA keys: Main Mode with RSA signatures (RFC 2409 §5.1: PKCS#1
# v1.5 over the bare HASH_I/HASH_R) and certificates from a CA made in the test, then Quick Mode,
# both roles (`ike up` / `ike down`; strongSwan initiates and deletes). Both sides' SAs must agree;
# strongSwan's log must show our signature verified (RSA_EMSA_PKCS1_NULL), its own made, CERT
# and SIG in its Main Mode message and the chain to the test's CA; then a strongSwan certificate
# from a CA we do not trust (only the ECDSA test CA) is refused. v1-cert-ecdsa.sh: the same with
# ECDSA. Run: sudo bash tests/interop/THIS.sh
SW_VERSION=1
CERT_KEY_TYPES=rsa
d=$(dirname "${BASH_SOURCE[0]}")
[[ -e $d/daemon-cert.sh ]] || d=$d/..
source "$d/daemon-cert.sh"
