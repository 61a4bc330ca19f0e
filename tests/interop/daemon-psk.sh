#!/usr/bin/env bash
# The real `ike daemon` (not ike-peer) against strongSwan, driven and checked through its
# control socket: `ike up` then `ike down`; strongSwan initiates and `ike status --json` must
# agree with `swanctl --list-sas` (SPIs, state, proposal, identities, addresses, crossed Child
# SA SPIs, selectors, mode); strongSwan deletes; SIGTERM on the daemon with an SA up must delete
# it at strongSwan and remove the control socket. The daemon runs with kernel = "none", so no
# ESP is carried (ESP in UDP 4500 from kernel-libipsec is dropped by design). With
# IKEI_KERNEL=netlink strongSwan refuses Child SAs: only the IKE SA is compared. The daemon
# serves its metrics page in its namespace; each scrape must agree with `ike stats --json`.
# Run: sudo bash tests/interop/THIS.sh
source "$(dirname "$0")/lib.sh"
ikei_begin
# (daemon-psk-modp2048-cbc.sh runs this scenario with other proposals)
SW_PROPOSALS=${DAEMON_PSK_PROPOSALS:-aes128gcm16-prfsha256-x25519}
SW_ESP=${DAEMON_PSK_ESP:-aes128gcm16}
swan_start
capture_start
# The metrics page, scraped during the run and compared with `ike stats`.
IKE_DAEMON_EXTRA="metrics = \"127.0.0.1:$METRICS_PORT\""
daemon_start
children=$(expected_children "$CHILD")
check_metrics_match_stats
check_eq "metrics: no handshake yet" 0 "$(metric_sum ike_handshakes_total)"

log "--- ike up, ike down"
ike_up
both_wait_up $children
check_sas_match $children
check_metrics_match_stats
check_eq "metrics: one handshake as IKEv$SW_VERSION initiator" 1 \
  "$(metric "ike_handshakes_total{version=\"$SW_VERSION\",role=\"initiator\"}")"
check_eq "metrics: the connection's traffic (kernel = none: 0)" 0 \
  "$(metric_sum "ike_connection_bytes_total{connection=\"$CONN\"")"
ike_down
both_wait_gone

log "--- strongSwan initiates and deletes"
swan_initiate
both_wait_up $children
check_sas_match $children
check_metrics_match_stats
check_eq "metrics: one handshake as IKEv$SW_VERSION responder" 1 \
  "$(metric "ike_handshakes_total{version=\"$SW_VERSION\",role=\"responder\"}")"
swan_terminate_ike
both_wait_gone

log "--- SIGTERM with an SA up"
"$IKE" up "$CONN" -s "$IKE_SOCK" --timeout 15 >/dev/null 2>&1 || true
both_wait_up $children
check_sas_match $children
daemon_stop TERM
check "the control socket is removed" test ! -e "$IKE_SOCK"
swan_wait 'length == 0' 10 "no IKE SA at strongSwan after SIGTERM"
check "strongSwan logged our delete" swan_log 'received DELETE for IKE_SA'
daemon_end
