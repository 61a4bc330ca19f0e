#!/usr/bin/env bash
# tests/uml/esp-manual.sh - the guest kernel's ESP, without our daemon: manual SAs and policies.
#
#   tests/uml/boot.sh tests/uml/esp-manual.sh
#
# Two namespaces in the guest, uml-a (10.77.3.1) and uml-b (10.77.3.2), joined by a veth pair;
# hosts 10.77.31.1 (behind A) and 10.77.32.1 (behind B) on their loopbacks. Then:
#   1. no SAs: a ping from 10.77.31.1 to 10.77.32.1 crosses A's veth as plaintext ICMP with the
#      pattern in it (the sniffer sees plaintext when there is plaintext);
#   2. tunnel mode: ESP SAs (AES-GCM-16, rfc4106) and policies 10.77.31.0/24 <-> 10.77.32.0/24
#      set with `ip xfrm`; the same ping gets its replies, and on A's veth every frame A sends is
#      ESP with A's outbound SPI and none carries the pattern; the SAs' packet counters
#      (`ip -s xfrm state`) went up on both sides;
#   3. transport mode: the same between 10.77.3.1 and 10.77.3.2 themselves (ICMP only).
# This shows that the harness gives a kernel that really does ESP, before our daemon is involved.
set -euo pipefail
# shellcheck source=tests/uml/guest-lib.sh
source "$(dirname "$0")/guest-lib.sh"

NS_A=uml-a
NS_B=uml-b
DEV_A=uml-va
DEV_B=uml-vb
A=10.77.3.1
B=10.77.3.2
HOST_A=10.77.31.1 # in 10.77.31.0/24, behind A
HOST_B=10.77.32.1 # in 10.77.32.0/24, behind B
COUNT=3

netns_pair "$NS_A" "$NS_B" "$DEV_A" "$DEV_B" "$A/24" "$B/24"
ip -n "$NS_A" addr add "$HOST_A/32" dev lo
ip -n "$NS_B" addr add "$HOST_B/32" dev lo
ip -n "$NS_A" route add 10.77.32.0/24 via "$B" src "$HOST_A"
ip -n "$NS_B" route add 10.77.31.0/24 via "$A" src "$HOST_B"
log "namespaces $NS_A ($A, $HOST_A) and $NS_B ($B, $HOST_B) are up"

key() { echo "0x$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')"; } # 128-bit AES key + 32-bit salt

# both_sides CMD...: `ip CMD` in both namespaces
both_sides() {
  ip -n "$NS_A" "$@"
  ip -n "$NS_B" "$@"
}

# esp_pair MODE SPI_AB SPI_BA REQID SRC_A SRC_B: the two SAs (A to B, B to A) in both namespaces
esp_pair() {
  local mode=$1 spi_ab=$2 spi_ba=$3 reqid=$4
  local k_ab k_ba
  k_ab=$(key)
  k_ba=$(key)
  both_sides xfrm state add src "$A" dst "$B" proto esp spi "$spi_ab" reqid "$reqid" mode "$mode" \
    aead 'rfc4106(gcm(aes))' "$k_ab" 128
  both_sides xfrm state add src "$B" dst "$A" proto esp spi "$spi_ba" reqid "$reqid" mode "$mode" \
    aead 'rfc4106(gcm(aes))' "$k_ba" 128
}

# policies MODE REQID SEL_A SEL_B [proto P]: out/in policies for traffic between the selectors
policies() {
  local mode=$1 reqid=$2 sa=$3 sb=$4
  shift 4
  ip -n "$NS_A" xfrm policy add src "$sa" dst "$sb" "$@" dir out \
    tmpl src "$A" dst "$B" proto esp reqid "$reqid" mode "$mode"
  ip -n "$NS_A" xfrm policy add src "$sb" dst "$sa" "$@" dir in \
    tmpl src "$B" dst "$A" proto esp reqid "$reqid" mode "$mode"
  ip -n "$NS_B" xfrm policy add src "$sb" dst "$sa" "$@" dir out \
    tmpl src "$B" dst "$A" proto esp reqid "$reqid" mode "$mode"
  ip -n "$NS_B" xfrm policy add src "$sa" dst "$sb" "$@" dir in \
    tmpl src "$A" dst "$B" proto esp reqid "$reqid" mode "$mode"
}

# esp_checks NAME SPI_AB SPI_BA SRC DST: ping SRC -> DST while sniffing A's veth; assert ESP only
esp_checks() {
  local name=$1 spi_ab=$2 spi_ba=$3 src=$4 dst=$5 t
  sniff_start "$NS_A" "$DEV_A" "$name"
  t=$EPOCHREALTIME
  check "$name: ping $src -> $dst ($COUNT echo replies)" ping_from "$NS_A" "$src" "$dst" "$COUNT"
  log "$name: ping took $(elapsed "$t") s"
  sniff_stop "$name"
  check_ge "$name: ESP frames sent by A" "$COUNT" "$(sniffed "$name" .out.esp)"
  check_ge "$name: ESP frames received by A (the replies)" "$COUNT" "$(sniffed "$name" .in.esp)"
  check_eq "$name: plaintext ICMP echo frames sent by A" 0 "$(sniffed "$name" .out.echo)"
  check_eq "$name: frames sent by A with the ping's payload in the clear" 0 "$(sniffed "$name" .out.pattern)"
  check_eq "$name: SPIs of the ESP frames A sent" "${spi_ab#0x}" "$(sniffed "$name" '.out.spis | join(",")')"
  check_ge "$name: packets of SA A->B at A" "$COUNT" "$(sa_counter "$NS_A" "$spi_ab" packets)"
  check_ge "$name: packets of SA A->B at B" "$COUNT" "$(sa_counter "$NS_B" "$spi_ab" packets)"
  check_ge "$name: packets of SA B->A at B" "$COUNT" "$(sa_counter "$NS_B" "$spi_ba" packets)"
  check_ge "$name: packets of SA B->A at A" "$COUNT" "$(sa_counter "$NS_A" "$spi_ba" packets)"
}

# --- 1. no SAs: the sniffer sees plaintext ------------------------------------------------------

sniff_start "$NS_A" "$DEV_A" plain
check "plain: ping $HOST_A -> $HOST_B" ping_from "$NS_A" "$HOST_A" "$HOST_B" "$COUNT"
sniff_stop plain
check_ge "plain: plaintext ICMP echo frames sent by A" "$COUNT" "$(sniffed plain .out.echo)"
check_ge "plain: frames sent by A with the ping's payload" "$COUNT" "$(sniffed plain .out.pattern)"
check_eq "plain: ESP frames sent by A" 0 "$(sniffed plain .out.esp)"

# --- 2. tunnel mode -------------------------------------------------------------------------------

t=$EPOCHREALTIME
esp_pair tunnel 0x0a0b0001 0x0b0a0001 1
policies tunnel 1 10.77.31.0/24 10.77.32.0/24
log "tunnel: SAs and policies installed in $(elapsed "$t") s (the first ESP SA loads esp4 and the GCM modules)"
ip -n "$NS_A" xfrm state >&2
esp_checks tunnel 0x0a0b0001 0x0b0a0001 "$HOST_A" "$HOST_B"
both_sides xfrm policy flush
both_sides xfrm state flush
check_eq "tunnel: states left after flush" "" "$(ip -n "$NS_A" xfrm state; ip -n "$NS_B" xfrm state)"

# --- 3. transport mode ----------------------------------------------------------------------------

esp_pair transport 0x0a0b0002 0x0b0a0002 2
policies transport 2 "$A/32" "$B/32" proto icmp
ip -n "$NS_A" xfrm policy >&2
esp_checks transport 0x0a0b0002 0x0b0a0002 "$A" "$B"
check_eq "transport: no plaintext ICMP echo received by A either" 0 "$(sniffed transport .in.echo)"
check_eq "transport: the ping's payload not received in the clear either" 0 "$(sniffed transport .in.pattern)"

finish
