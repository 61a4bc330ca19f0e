#!/usr/bin/env bash
# Writes interop/*.conf: the swanctl.conf that tests/interop/lib.sh (write_swanctl_conf) writes
# for each interop scenario and each configuration a scenario reloads, with the scenario's own
# SW_* settings. Run it again after changing lib.sh or a scenario's SW_* settings; the import
# tests (crates/ike/tests/import.rs) read the files.
# Run: bash crates/ike/tests/import/make-interop-fixtures.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
out=$here/interop
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# gen NAME SCENARIO VAR=VALUE...: write_swanctl_conf with these settings into interop/NAME.conf
gen() {
  local name=$1 scen=$2
  shift 2
  (
    # shellcheck source=../../../../tests/interop/lib.sh
    source "$repo/tests/interop/lib.sh"
    import_check() { :; } # (lib.sh's hook runs `ike import` on the file: not wanted here)
    SCEN=$scen
    WORK=$tmp
    mkdir -p "$WORK/swan"
    local a
    for a in "$@"; do
      printf -v "${a%%=*}" '%s' "${a#*=}"
    done
    write_swanctl_conf
    cp "$WORK/swan/swanctl.conf" "$out/$name.conf"
  )
}

V2=aes128gcm16-prfsha256-x25519
# psk-x25519-gcm-ike-initiates, psk-x25519-gcm-strongswan-initiates, delete, rekey-child,
# rekey-ike, daemon-psk: the same configuration (daemon-import runs it, and v1-main-psk's, in an
# ike daemon in strongSwan's place; daemon-failures starts from it and reloads disagreeing
# settings)
gen psk-x25519-gcm psk-x25519-gcm-ike-initiates SW_PROPOSALS=$V2 SW_ESP=aes128gcm16
# psk-modp2048-cbc, daemon-psk-modp2048-cbc
gen psk-modp2048-cbc psk-modp2048-cbc SW_PROPOSALS=aes256-sha256-modp2048 SW_ESP=aes256-sha256
# daemon-cert; v1-cert-rsa and v1-cert-ecdsa (SW_VERSION=1)
gen cert daemon-cert SW_PROPOSALS=$V2 SW_ESP=aes128gcm16 SW_AUTH=pubkey \
  "SW_LOCAL_EXTRA=certs = b.pem" "SW_REMOTE_EXTRA=cacerts = ca.pem"
gen v1-cert v1-cert-rsa SW_VERSION=1 SW_PROPOSALS=aes128-sha256-x25519 SW_ESP=aes128gcm16 \
  SW_AUTH=pubkey "SW_LOCAL_EXTRA=certs = b.pem" "SW_REMOTE_EXTRA=cacerts = ca.pem"
# daemon-dpd (and its part 3, dpd_delay = 1s); v1-dpd
gen dpd daemon-dpd SW_PROPOSALS=$V2 SW_ESP=aes128gcm16
gen dpd-delay daemon-dpd SW_PROPOSALS=$V2 SW_ESP=aes128gcm16 "SW_CONN_EXTRA=dpd_delay = 1s"
gen v1-dpd v1-dpd SW_VERSION=1 SW_PROPOSALS=aes128-sha256-x25519 SW_ESP=aes128-sha256
gen v1-dpd-delay v1-dpd SW_VERSION=1 SW_PROPOSALS=aes128-sha256-x25519 SW_ESP=aes128-sha256 \
  "SW_CONN_EXTRA=dpd_delay = 1s"
# daemon-natt (and its part 2, encap = yes); v1-natt
gen natt daemon-natt SW_PROPOSALS=$V2 SW_ESP=aes128gcm16
gen natt-encap daemon-natt SW_PROPOSALS=$V2 SW_ESP=aes128gcm16 "SW_CONN_EXTRA=encap = yes"
gen v1-natt v1-natt SW_VERSION=1 SW_PROPOSALS=aes128-sha256-x25519 SW_ESP=aes128-sha256
gen v1-natt-encap v1-natt SW_VERSION=1 SW_PROPOSALS=aes128-sha256-x25519 SW_ESP=aes128-sha256 \
  "SW_CONN_EXTRA=encap = yes"
# daemon-rekey: the start, B1 (child rekey times), B2 (IKE rekey times); v1-rekey the same
gen rekey daemon-rekey SW_PROPOSALS=$V2 SW_ESP=aes128gcm16-x25519
gen rekey-child daemon-rekey SW_PROPOSALS=$V2 SW_ESP=aes128gcm16-x25519 "SW_CHILD_EXTRA=rekey_time = 2s
        life_time = 10s
        rand_time = 0s"
gen rekey-ike daemon-rekey SW_PROPOSALS=$V2 SW_ESP=aes128gcm16-x25519 "SW_CONN_EXTRA=rekey_time = 3s
    over_time = 10s
    rand_time = 0s"
gen v1-rekey v1-rekey SW_VERSION=1 SW_PROPOSALS=aes128-sha256-x25519 SW_ESP=aes128-sha256-x25519
gen v1-rekey-child v1-rekey SW_VERSION=1 SW_PROPOSALS=aes128-sha256-x25519 \
  SW_ESP=aes128-sha256-x25519 "SW_CHILD_EXTRA=rekey_time = 2s
        life_time = 10s
        rand_time = 0s"
gen v1-rekey-ike v1-rekey SW_VERSION=1 SW_PROPOSALS=aes128-sha256-x25519 \
  SW_ESP=aes128-sha256-x25519 "SW_CONN_EXTRA=rekey_time = 4s
    over_time = 2s
    rand_time = 0s"
# daemon-two-children; v1-pfs-two-children
two="net2 {
        local_ts = 10.88.12.0/24[tcp]
        remote_ts = 10.88.11.0/24[tcp]
        esp_proposals = ESP
      }"
gen two-children daemon-two-children SW_PROPOSALS=$V2 SW_ESP=aes128gcm16 \
  "SW_CHILDREN_EXTRA=${two/ESP/aes128gcm16}"
gen v1-pfs-two-children v1-pfs-two-children SW_VERSION=1 SW_PROPOSALS=aes128-sha256-modp2048 \
  SW_ESP=aes128-sha256-modp2048 "SW_CHILDREN_EXTRA=${two/ESP/aes128-sha256-modp2048}"
# v1-main-psk; v1-aggressive-psk
gen v1-main-psk v1-main-psk SW_VERSION=1 SW_PROPOSALS=aes128-sha256-modp2048 SW_ESP=aes128-sha256
gen v1-aggressive-psk v1-aggressive-psk SW_VERSION=1 SW_PROPOSALS=aes128-sha256-modp2048 \
  SW_ESP=aes128-sha256 "SW_CONN_EXTRA=aggressive = yes"
ls "$out"
