#!/usr/bin/env bash
# `ike import` brings the same tunnel up: the swanctl.conf that lib.sh writes for strongSwan's
# side (ikei-b) is converted with `ike import`, given a [daemon] section, and run by a second
# `ike daemon` in ikei-b in strongSwan's place; our usual daemon in ikei-a brings the tunnel up
# against it with `ike up`, in IKEv2 and in IKEv1 (Main Mode), with pre-shared keys and with
# certificates (ECDSA, as daemon-cert.sh makes them: strongSwan's x509/, x509ca/ and private/
# directories, which the import lists). Both daemons' `ike status --json` must show the same
# IKE SA (SPIs, proposal) and crossed Child SA SPIs with the configured selectors; then
# `ike down` deletes it on both. No strongSwan process runs; the scenario needs only the
# namespaces, openssl and the two ike binaries.
# Run: sudo bash tests/interop/THIS.sh
source "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || die "missing openssl"
ikei_begin
TAG=$(openssl rand -hex 4)

# b_status: `ike status --json` of the imported daemon in ikei-b
b_status() { "$IKE" status --json -s "$WORK/b.sock"; }
b_check() { b_status | jq -e "$1" >/dev/null; }

for run in 2-psk 1-psk 2-pubkey 1-pubkey; do
  version=${run%%-*}
  auth=${run#*-}
  log "=== IKEv$version, $auth"
  SW_VERSION=$version
  SW_AUTH=$auth
  IKE_AUTH=$auth
  if [[ $auth == pubkey ]]; then
    # strongSwan's side as daemon-cert.sh lays it out; the import takes the directories.
    pki=$WORK/pki-ecdsa
    [[ -e $pki/ca.pem ]] || make_pki "$pki" ecdsa
    sd=$WORK/swan
    rm -f "$sd"/private/* "$sd"/x509/* "$sd"/x509ca/*
    cp "$pki/b.key.pem" "$sd/private/b.key.pem"
    cp "$pki/b.pem" "$sd/x509/b.pem"
    cp "$pki/ca.pem" "$sd/x509ca/ca.pem"
    SW_LOCAL_EXTRA="certs = b.pem"
    SW_REMOTE_EXTRA="cacerts = ca.pem"
    IKE_LOCAL_EXTRA="certs = [\"$pki/a.pem\"]"
    IKE_TAIL="[[secrets.private_key]]
file = \"$pki/a.key.pem\"

[[authorities]]
cacert = \"$pki/ca.pem\""
  fi
  if [[ $version == 1 ]]; then
    SW_PROPOSALS=aes128-sha256-modp2048
    SW_ESP=aes128-sha256
  else
    SW_PROPOSALS=aes128gcm16-prfsha256-x25519
    SW_ESP=aes128gcm16
  fi
  write_swanctl_conf # (runs import_check: the import passes `ike check`)
  {
    cat <<EOF
[daemon]
listen = ["$B4"]
control_socket = "$WORK/b.sock"
kernel = "none"

EOF
    "$IKE" import "$WORK/swan/swanctl.conf"
  } >"$WORK/b.toml" 2>"$WORK/b-import.err" || die "ike import failed: $(cat "$WORK/b-import.err")"
  "$IKE" check -c "$WORK/b.toml" >"$WORK/b-check.out" 2>&1 || die "ike check: $(cat "$WORK/b-check.out")"
  ip netns exec "$NS_B" "$IKE" daemon -c "$WORK/b.toml" --log debug \
    </dev/null >>"$WORK/b-daemon.out" 2>>"$WORK/b-daemon.log" 8>&- 9>&- &
  B_PID=$!
  PIDS+=("$B_PID")
  poll 100 "$IKE" status -s "$WORK/b.sock" || die "the imported daemon did not come up: $(tail -n 20 "$WORK/b-daemon.log")"
  log "imported daemon up in $NS_B (pid $B_PID)"
  daemon_start

  ike_up
  ike_wait '.ike_sas | length == 1 and .[0].state == "ESTABLISHED" and (.[0].child_sas | length) == 1' 20 "our IKE and Child SA"
  poll 200 b_check '.ike_sas | length == 1 and .[0].state == "ESTABLISHED" and (.[0].child_sas | length) == 1' ||
    die "the imported daemon has no SA: $(b_status | jq -c .)"
  A=$(ike_status)
  B=$(b_status)
  check_eq "IKEv$version $auth: the same IKE SA on both (SPIs)" \
    "$(jq -r '.ike_sas[0] | .initiator_spi + "/" + .responder_spi' <<<"$A")" \
    "$(jq -r '.ike_sas[0] | .initiator_spi + "/" + .responder_spi' <<<"$B")"
  check_eq "IKEv$version $auth: the same proposal" \
    "$(jq -r '.ike_sas[0].proposal' <<<"$A")" "$(jq -r '.ike_sas[0].proposal' <<<"$B")"
  check_eq "IKEv$version $auth: crossed Child SA SPIs" \
    "$(jq -r '.ike_sas[0].child_sas[0] | .spi_in + "/" + .spi_out' <<<"$A")" \
    "$(jq -r '.ike_sas[0].child_sas[0] | .spi_out + "/" + .spi_in' <<<"$B")"
  check_eq "IKEv$version $auth: the imported side's selectors are strongSwan's" \
    "$(jq -r '.ike_sas[0].child_sas[0] | (.local_ts | join(",")) + " " + (.remote_ts | join(","))' <<<"$B")" \
    "$TS_B $TS_A"
  check_eq "IKEv$version $auth: the imported side's identities" \
    "$(jq -r '.ike_sas[0] | .local_id + " " + .remote_id' <<<"$B")" "$ID_B $ID_A"

  ike_down
  ike_wait '.ike_sas | length == 0' 15 "our SA gone"
  poll 150 b_check '.ike_sas | length == 0' || die "the imported daemon kept its SA after ike down"
  check "IKEv$version $auth: the imported daemon deleted its SA" true
  daemon_stop TERM
  stop_pid "$B_PID" TERM
done
ikei_end
