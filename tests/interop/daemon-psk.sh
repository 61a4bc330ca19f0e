#!/usr/bin/env bash
# The real `ike daemon` (not ike-peer) against strongSwan, driven and checked through its
# control socket: `ike up` then `ike down`; strongSwan initiates and `ike status --json` must
# agree with `swanctl --list-sas` (SPIs, state, proposal, identities, crossed Child SA SPIs,
# selectors, mode); strongSwan deletes; SIGTERM on the daemon with an SA up must delete it at
# strongSwan and remove the control socket. The daemon runs with kernel = "none", so no ESP is
# carried (ESP in UDP 4500 from kernel-libipsec is dropped by design). With IKEI_KERNEL=netlink
# strongSwan refuses Child SAs: only the IKE SA is compared. Run: sudo bash tests/interop/THIS.sh
source "$(dirname "$0")/lib.sh"
ikei_begin
SW_PROPOSALS=aes128gcm16-prfsha256-x25519
SW_ESP=aes128gcm16
swan_start
capture_start

SOCK=$WORK/ike.sock
cat >"$WORK/ike.toml" <<CONF
[daemon]
listen = ["$A4"]
control_socket = "$SOCK"
kernel = "none"

[connections.$CONN]
local_addrs = ["$A4"]
remote_addrs = ["$B4"]
proposals = ["$SW_PROPOSALS"]
[connections.$CONN.local]
auth = "psk"
id = "$ID_A"
[connections.$CONN.remote]
auth = "psk"
id = "$ID_B"
[connections.$CONN.children.$CHILD]
local_ts = ["$TS_A"]
remote_ts = ["$TS_B"]
esp_proposals = ["$SW_ESP"]

[[secrets.ike]]
secret = "$PSK"
CONF
ip netns exec "$NS_A" "$IKE" daemon -c "$WORK/ike.toml" --log debug \
  </dev/null >"$WORK/daemon.out" 2>"$WORK/daemon.log" 8>&- 9>&- &
DAEMON_PID=$!
PIDS+=("$DAEMON_PID")
poll 100 "$IKE" status -s "$SOCK" || {
  cat "$WORK/daemon.log" >&2
  die "ike daemon did not come up"
}
log "ike daemon up (pid $DAEMON_PID)"

ike_status() { "$IKE" status --json -s "$SOCK"; }
ike_get() { ike_status | jq -r "$1"; }

# both_up: one IKE SA on each side, the same one; the Child SA too (libipsec)
both_up() {
  swan_wait '.[] | select(.state == "ESTABLISHED")' 10 "IKE SA at strongSwan"
  poll 50 eval '[[ $(ike_get ".ike_sas[0].state") == ESTABLISHED ]]' || true
  local spi_i spi_r sel
  check_eq "our IKE SAs" 1 "$(ike_get '.ike_sas | length')"
  check_eq "our IKE SA state" ESTABLISHED "$(ike_get '.ike_sas[0].state')"
  spi_i=$(ike_get '.ike_sas[0].initiator_spi')
  spi_r=$(ike_get '.ike_sas[0].responder_spi')
  sel=".[] | select(.\"initiator-spi\" == \"$spi_i\" and .\"responder-spi\" == \"$spi_r\")"
  check "strongSwan has our IKE SA $spi_i/$spi_r ESTABLISHED" \
    swan_check "[$sel | select(.state == \"ESTABLISHED\")] | length == 1"
  check_eq "IKE proposal (ours vs strongSwan's)" "$(ike_get '.ike_sas[0].proposal')" \
    "$(swan_get "$sel | swan_prop")"
  check_eq "our remote identity" "$ID_B" "$(ike_get '.ike_sas[0].remote_id')"
  check_eq "strongSwan's remote identity" "$ID_A" "$(swan_get "$sel | .\"remote-id\"")"
  if [[ $IKEI_KERNEL == libipsec ]]; then
    local c spi_in spi_out csel
    poll 50 eval '[[ $(ike_get ".ike_sas[0].child_sas | length") == 1 ]]' || true
    c=$(ike_status | jq -c '.ike_sas[0].child_sas[0]')
    check_eq "our Child SA state" INSTALLED "$(jq -r .state <<<"$c")"
    spi_in=$(jq -r .spi_in <<<"$c")
    spi_out=$(jq -r .spi_out <<<"$c")
    csel="swan_children[] | select(.\"spi-in\" == \"$spi_out\" and .\"spi-out\" == \"$spi_in\")"
    check "strongSwan has our Child SA crossed (in=$spi_out out=$spi_in) INSTALLED" \
      swan_check "[$csel | select(.state == \"INSTALLED\")] | length == 1"
    check_eq "ESP proposal" "$(jq -r .proposal <<<"$c")" "$(swan_get "$csel | swan_prop")"
    check_eq "mode" "$(jq -r '.mode | ascii_upcase' <<<"$c")" "$(swan_get "$csel | .mode")"
    check_eq "strongSwan's local TS = our remote TS" "$(jq -c .remote_ts <<<"$c")" \
      "$(swan_get "$csel | .\"local-ts\" | tojson")"
    check_eq "strongSwan's remote TS = our local TS" "$(jq -c .local_ts <<<"$c")" \
      "$(swan_get "$csel | .\"remote-ts\" | tojson")"
  fi
}

both_gone() {
  swan_wait 'length == 0' 10 "no IKE SA at strongSwan"
  poll 50 eval '[[ $(ike_get ".ike_sas | length") == 0 ]]' || true
  check_eq "our IKE SAs" 0 "$(ike_get '.ike_sas | length')"
}

log "--- ike up, ike down"
if [[ $IKEI_KERNEL == libipsec ]]; then
  check "ike up $CONN exits 0" "$IKE" up "$CONN" -s "$SOCK" --timeout 15
else
  "$IKE" up "$CONN" -s "$SOCK" --timeout 15 || true
fi
both_up
check "ike down $CONN exits 0" "$IKE" down "$CONN" -s "$SOCK" --timeout 15
both_gone

log "--- strongSwan initiates and deletes"
swan_initiate
both_up
swan_terminate_ike
both_gone

log "--- SIGTERM with an SA up"
"$IKE" up "$CONN" -s "$SOCK" --timeout 15 >/dev/null 2>&1 || true
both_up
stop_pid "$DAEMON_PID" TERM
check "the control socket is removed" test ! -e "$SOCK"
swan_wait 'length == 0' 10 "no IKE SA at strongSwan after SIGTERM"
check "strongSwan logged our delete" swan_log 'received DELETE for IKE_SA'
check "the daemon logged no panic" eval '! grep -q panicked "$WORK/daemon.log"'
ikei_end
