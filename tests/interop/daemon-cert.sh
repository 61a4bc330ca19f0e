#!/usr/bin/env bash
# The real `ike daemon` against strongSwan with certificate authentication, once with RSA keys
# and once with ECDSA keys: the test makes a CA (its name carries a random tag, so that no
# other credential can pass for it) and one end-entity certificate per side whose
# subjectAltName is the side's identity (DNS:a.ike.test, DNS:b.swan.test), with the openssl CLI.
# Neither side has a pre-shared key. For each key type: `ike up` then `ike down`, and
# strongSwan initiates and deletes; each time both sides' SAs must agree (ike status --json vs
# swanctl --list-sas), and strongSwan's log must show that it verified our signature with the
# key type's method, signed its own with it, and built the chain to the test's CA.
# The last part: our side trusts only the CA of the other key type, strongSwan presents a
# certificate of the last key type (ours is of that type too): refused.
# v1-cert-rsa.sh and pending/v1-cert-ecdsa.sh run this scenario in IKEv1 (SW_VERSION=1), one
# key type each (CERT_KEY_TYPES): Main Mode with RSA or ECDSA signatures (RFC 2409 §5.1, RFC
# 4754), CERT and SIG in messages 5 and 6, then Quick Mode.
# Run: sudo bash tests/interop/THIS.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v openssl >/dev/null || die "missing openssl"
ikei_begin
if [[ $SW_VERSION == 1 ]]; then
  SW_PROPOSALS=aes128-sha256-x25519 # (no AEAD for an ISAKMP SA)
else
  SW_PROPOSALS=aes128gcm16-prfsha256-x25519
fi
SW_ESP=aes128gcm16
SW_AUTH=pubkey
IKE_AUTH=pubkey
TAG=$(openssl rand -hex 4)
children=$(expected_children "$CHILD")

# check_swan_auth KEYTYPE: strongSwan's log (since the mark) shows certificate authentication
# of both sides with the key type, through the test's CA, and no pre-shared key
check_swan_auth() {
  local kt=$1 m
  [[ $kt == rsa ]] && m='RSA[A-Z0-9_]*' || m='ECDSA[A-Z0-9_-]*( signature)?'
  check "strongSwan verified our signature ($kt)" \
    swan_log "authentication of '$ID_A' with $m successful"
  if [[ $SW_VERSION == 1 ]]; then
    # (IKEv1: the method is the SA payload's authentication attribute, not in this line)
    check "strongSwan signed with its key" \
      swan_log "authentication of '$ID_B' \(myself\) successful"
    check "strongSwan's Main Mode carried its certificate and signature" \
      swan_log 'generating ID_PROT (request|response) 0 \[ ID CERT SIG'
  else
    check "strongSwan signed with its $kt key" \
      swan_log "authentication of '$ID_B' \(myself\) with $m successful"
  fi
  check "strongSwan used our certificate" \
    swan_log "using certificate \"C=XX, O=ikei interop, CN=$ID_A\""
  check "strongSwan chained it to the test's CA" \
    swan_log "using trusted ca certificate \"C=XX, O=ikei interop, CN=ikei test CA $kt $TAG\""
  check "strongSwan used no pre-shared key" eval '! swan_log "pre-shared key"'
}

first=1
for kt in ${CERT_KEY_TYPES:-rsa ecdsa}; do
  log "=== $kt certificates"
  pki=$WORK/pki-$kt
  make_pki "$pki" "$kt"
  # strongSwan's credentials: only this key type's (swanctl loads its directories whole)
  sd=$WORK/swan
  rm -f "$sd"/private/* "$sd"/x509/* "$sd"/x509ca/*
  cp "$pki/b.key.pem" "$sd/private/b.key.pem"
  cp "$pki/b.pem" "$sd/x509/b.pem"
  cp "$pki/ca.pem" "$sd/x509ca/ca.pem"
  SW_LOCAL_EXTRA="certs = b.pem"
  SW_REMOTE_EXTRA="cacerts = ca.pem"
  if ((first)); then
    swan_start
    capture_start
    first=0
  else
    sw --flush-certs >/dev/null 2>&1 || true
    swan_reload
  fi
  check "strongSwan loaded its $kt private key" grep -q "loaded .*key from '$sd/private/b.key.pem'" \
    "$WORK/swan/load.out"
  IKE_LOCAL_EXTRA="certs = [\"$pki/a.pem\"]"
  IKE_TAIL="[[secrets.private_key]]
file = \"$pki/a.key.pem\"

[[authorities]]
cacert = \"$pki/ca.pem\""
  daemon_start
  check "our configuration has no pre-shared key" eval '! grep -q "secrets.ike" "$WORK/ike.toml"'

  log "--- $kt: ike up, ike down"
  swan_log_mark
  ike_up
  both_wait_up $children
  check_sas_match $children
  check_swan_auth "$kt"
  ike_down
  both_wait_gone

  log "--- $kt: strongSwan initiates and deletes"
  swan_log_mark
  swan_initiate
  both_wait_up $children
  check_sas_match $children
  check_swan_auth "$kt"
  swan_terminate_ike
  both_wait_gone
  daemon_stop
done

# (strongSwan keeps the last key type's credentials; our certificate and key are of that type
# too, as IKEv1 needs one signature method for both ends)
[[ $kt == rsa ]] && other=ecdsa || other=rsa
[[ -e $WORK/pki-$other/ca.pem ]] || make_pki "$WORK/pki-$other" "$other"
log "=== our side trusts only the $other CA; strongSwan's certificate ($kt) is refused"
IKE_TAIL="[[secrets.private_key]]
file = \"$WORK/pki-$kt/a.key.pem\"

[[authorities]]
cacert = \"$WORK/pki-$other/ca.pem\""
daemon_start
swan_log_mark
check "ike up $CONN fails" eval '! "$IKE" up "$CONN" -s "$IKE_SOCK" --timeout 10'
check_eq "our IKE SAs" 0 "$(ike_get '.ike_sas | length')"
check "our daemon says why" daemon_log "$CONN: IKE SA .*closed: .*certificate not issued by a trusted CA"
if [[ $SW_VERSION == 1 ]]; then
  check "strongSwan's Main Mode 6 carried its certificate" \
    swan_log 'generating ID_PROT response 0 \[ ID CERT SIG'
else
  check "strongSwan's IKE_AUTH response carried its certificate" \
    swan_log 'generating IKE_AUTH response 1 \[ IDr CERT AUTH'
fi
# (RFC 7296 §2.21.2 lets the initiator tell the responder in an INFORMATIONAL exchange (MAY);
# ours does not, so strongSwan keeps its half of the SA until it is deleted here. In IKEv1 the
# responder is ESTABLISHED once it has sent Main Mode 6.)
log "strongSwan's IKE SAs after our refusal: $(swan_get 'map(.state) | join(",")')"
sw --terminate --ike "$CONN" --force >>"$WORK/swan/terminate.out" 2>&1 || true
daemon_end
