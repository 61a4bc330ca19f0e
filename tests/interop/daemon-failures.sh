#!/usr/bin/env bash
# What goes wrong, said plainly, against strongSwan: the real `ike daemon` meets a strongSwan
# configured to disagree, and each case checks what `ike up` prints (the RFC notify name, exit
# status 1) and the line our daemon logs at the default level, in both roles:
#   - disjoint IKE proposals (ike initiates: strongSwan answers NO_PROPOSAL_CHOSEN; strongSwan
#     initiates: we log what it offered and what we have, side by side);
#   - disjoint ESP proposals (both directions, the same);
#   - a different pre-shared key (ike initiates: AUTHENTICATION_FAILED from strongSwan;
#     strongSwan initiates: we name the rule, the AUTH does not match our key);
#   - selectors that do not overlap (TS_UNACCEPTABLE both ways, ours with both sides' lists);
#   - strongSwan with another identity (it refuses us; initiating, it gets our explanation:
#     the identity received and the connections considered);
#   - strongSwan presenting an expired certificate (we name the rule: certificate expired);
#   - a dead peer (charon killed: `ike up` says the peer has not answered).
# Nothing is established in any case; both sides are left without SAs.
# Run: sudo bash tests/interop/THIS.sh
source "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || die "missing openssl"
ikei_begin
TAG=$(openssl rand -hex 4)
SW_PROPOSALS=aes128gcm16-prfsha256-x25519
SW_ESP=aes128gcm16
swan_start
daemon_start

# up_fails WHAT REGEX: `ike up` exits 1 and its message matches REGEX
up_fails() {
  local out code=0
  out=$("$IKE" up "$CONN" -s "$IKE_SOCK" --timeout 10 2>&1) || code=$?
  check_eq "$1: ike up exits 1" 1 "$code"
  check "$1: ike up says: $2" grep -Eq "$2" <<<"$out"
  log "ike up printed: $out"
}

# logged WHAT REGEX: our daemon logged a line matching REGEX at INFO or WARN (default level)
logged() {
  check "$1: our daemon logged: $2" poll 50 daemon_log " (INFO|WARN) .*$2"
}

# no_sas: neither side keeps an SA (half-made ones go)
no_sas() {
  ike_wait '.ike_sas | map(select(.state == "ESTABLISHED")) | length == 0' 15 "no established SA on our side"
  swan_wait 'map(select(.state == "ESTABLISHED")) | length == 0' 15 "no established SA at strongSwan"
}

log "--- disjoint IKE proposals"
SW_PROPOSALS=aes256-sha384-ecp384
swan_reload
daemon_log_mark
up_fails "IKE proposals" "NO_PROPOSAL_CHOSEN"
swan_initiate
logged "IKE proposals (strongSwan initiates)" "IKE_SA_INIT from $B4:500 refused with NO_PROPOSAL_CHOSEN for connection $CONN: received aes256-sha384-prfsha384-ecp384.*; configured aes128gcm16-prfsha256-x25519; no common"
no_sas
SW_PROPOSALS=aes128gcm16-prfsha256-x25519

log "--- disjoint ESP proposals"
SW_ESP=aes256-sha256
swan_reload
daemon_log_mark
up_fails "ESP proposals" "child $CHILD failed: no acceptable proposal \(NO_PROPOSAL_CHOSEN\)"
"$IKE" down "$CONN" -s "$IKE_SOCK" --timeout 10 >/dev/null 2>&1 || true
both_wait_gone
daemon_log_mark
swan_initiate
logged "ESP proposals (strongSwan initiates)" "Child SA $CHILD: no acceptable proposal \(NO_PROPOSAL_CHOSEN\): received aes256-sha256.*; configured aes128gcm16; no common encryption algorithm"
"$IKE" down "$CONN" -s "$IKE_SOCK" --timeout 10 >/dev/null 2>&1 || true
swan_terminate_ike
both_wait_gone
SW_ESP=aes128gcm16

log "--- a different pre-shared key"
saved_psk=$PSK
PSK='another-interop-psk-of-some-length'
swan_reload
PSK=$saved_psk
daemon_log_mark
up_fails "PSK" "the peer refused with AUTHENTICATION_FAILED"
swan_initiate
logged "PSK (strongSwan initiates)" "authentication failed: the AUTH payload does not match our pre-shared key"
no_sas
swan_reload # (strongSwan's PSK as ours again)

log "--- selectors that do not overlap"
saved_ts=("$TS_A" "$TS_B")
TS_A=10.99.1.0/24
TS_B=10.99.2.0/24
swan_reload
TS_A=${saved_ts[0]}
TS_B=${saved_ts[1]}
daemon_log_mark
up_fails "selectors" "child $CHILD failed: traffic selectors unacceptable \(TS_UNACCEPTABLE\)"
"$IKE" down "$CONN" -s "$IKE_SOCK" --timeout 10 >/dev/null 2>&1 || true
both_wait_gone
daemon_log_mark
swan_initiate
logged "selectors (strongSwan initiates)" "Child SA $CHILD: traffic selectors do not overlap \(TS_UNACCEPTABLE\): received TSi 10.99.2.0/24 TSr 10.99.1.0/24; configured remote 10.88.2.0/24 local 10.88.1.0/24"
"$IKE" down "$CONN" -s "$IKE_SOCK" --timeout 10 >/dev/null 2>&1 || true
swan_terminate_ike
both_wait_gone

log "--- strongSwan presents another identity"
saved_id=$ID_B
ID_B=c.swan.test
swan_reload
ID_B=$saved_id
daemon_log_mark
# (strongSwan refuses our IKE_AUTH: we asked for b.swan.test, it is c.swan.test now)
up_fails "identity" "the peer refused with AUTHENTICATION_FAILED"
logged "identity (we initiate)" "closed: the peer refused with AUTHENTICATION_FAILED"
no_sas
daemon_log_mark
swan_initiate
logged "identity (strongSwan initiates)" "no connection matches the peer's identity c\\.swan\\.test \\(ID_FQDN\\)"
no_sas
swan_reload

log "--- strongSwan's certificate has expired"
pki=$WORK/pki-ecdsa
make_pki "$pki" ecdsa
# B's certificate again, its validity ended a day before it began (openssl x509 -days -1).
(cd "$pki" && openssl x509 -req -in b.csr -CA ca.pem -CAkey ca.key.pem -CAcreateserial \
  -out b.pem -days -1 -sha256 -extfile b.ext 2>/dev/null) || die "openssl: the expired certificate"
sd=$WORK/swan
rm -f "$sd"/private/* "$sd"/x509/* "$sd"/x509ca/*
cp "$pki/b.key.pem" "$sd/private/b.key.pem"
cp "$pki/b.pem" "$sd/x509/b.pem"
cp "$pki/ca.pem" "$sd/x509ca/ca.pem"
SW_AUTH=pubkey
SW_LOCAL_EXTRA="certs = b.pem"
SW_REMOTE_EXTRA="cacerts = ca.pem"
sw --flush-certs >/dev/null 2>&1 || true
swan_reload
daemon_stop
IKE_AUTH=pubkey
IKE_LOCAL_EXTRA="certs = [\"$pki/a.pem\"]"
IKE_TAIL="[[secrets.private_key]]
file = \"$pki/a.key.pem\"

[[authorities]]
cacert = \"$pki/ca.pem\""
daemon_start
up_fails "expired certificate" "AUTHENTICATION_FAILED|authentication failed"
logged "expired certificate" "$CONN: IKE SA .*closed: .*authentication failed: certificate expired"
no_sas

log "--- a dead peer"
swan_stop KILL
daemon_log_mark
up_fails "dead peer" "not established within 10s: the peer has not answered yet"

daemon_end
