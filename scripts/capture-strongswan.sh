#!/usr/bin/env bash
# capture-strongswan.sh - record real strongSwan IKE exchanges as pcap test data.
#
# For every scenario this script builds two throw-away network namespaces
# (ikecap-a, ikecap-b) joined by a veth pair (10.77.0.1/24 <-> 10.77.0.2/24,
# fd77::1/64 <-> fd77::2/64), starts one isolated charon daemon in each (own
# /run via a bind mount, own strongswan.conf with an explicit plugin list, own
# vici socket and log file), drives the exchange with swanctl from the root
# namespace, and records UDP 500/4500 on the veth in namespace ikecap-a with
# tcpdump.  Results (classic pcap) go to crates/ike-wire/tests/data/ together
# with a "<name>.keys.txt" sidecar holding the IKE SA keys that charon logged
# (ike log level 4), for later decryption tests.
#
# Nothing leaves the namespaces.  Every wait is a bounded polling loop and an
# EXIT trap stops the daemons (by PID), tcpdump and removes the namespaces.
#
# Usage:  bash scripts/capture-strongswan.sh [scenario...]
#         (no argument = all scenarios; KEEP_WORK=1 keeps the temp dir with logs)
# Needs root and: strongswan-charon strongswan-swanctl strongswan-pki
#   libcharon-extra-plugins libstrongswan-extra-plugins
#   libstrongswan-standard-plugins tcpdump iproute2 (tshark for checking).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT_DIR=${OUT_DIR:-$REPO/crates/ike-wire/tests/data}
KEEP_WORK=${KEEP_WORK:-0}

NS_A=ikecap-a
NS_B=ikecap-b
VETH_A=ikecap-va
VETH_B=ikecap-vb
A4=10.77.0.1
B4=10.77.0.2
A6=fd77::1
B6=fd77::2
MAC_A=02:77:00:00:00:01
MAC_B=02:77:00:00:00:02
PSK='ikecap-test-psk-0123456789'   # test data only
CHARON=/usr/lib/ipsec/charon
CAPTURE_FILTER='udp port 500 or udp port 4500'

ALL_SCENARIOS=(
  ikev2-psk
  ikev2-psk-udp500
  ikev2-cookie-invalidke
  ikev2-natt-4500
  ikev2-cert
  ikev2-cert-frag
  ikev2-ipv6-cp
  ikev1-main-psk
  ikev1-aggressive-psk
  ikev1-natt-4500
  ikev1-main-cert-frag
  ikev1-modecfg
)

WORK=$(mktemp -d /tmp/ikecap.XXXXXX)
PIDS=()            # every background process we started
TCPDUMP_PID=""
SCEN=""            # current scenario name
SDIR=""            # current scenario work dir

log() { printf '[capture] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# true while the process exists and is not a zombie
alive() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $st && $st != Z* ]]
}

stop_pid() { # pid [signal]
  local pid=$1 sig=${2:-TERM} i
  if alive "$pid"; then
    kill -s "$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      log "pid $pid ignored SIG$sig, killing"
      kill -s KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  # forget it, so that cleanup never signals a recycled PID
  local keep=() p
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# remove our namespaces; processes still inside them (left over by an
# interrupted earlier run of this script) are stopped by PID first
ns_down() {
  local ns pid
  for ns in "$NS_A" "$NS_B"; do
    ip netns list | grep -qw "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do stop_pid "$pid"; done
    ip netns del "$ns" || true
  done
}

cleanup() {
  local rc=$? pid
  set +e
  [[ -n $TCPDUMP_PID ]] && stop_pid "$TCPDUMP_PID" INT
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  ns_down
  if [[ $KEEP_WORK == 1 || $rc != 0 ]]; then
    log "work dir kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# poll: run "$@" up to TRIES times (default 100) every 0.1 s until it succeeds
TRIES=100
poll() {
  local i
  for ((i = 0; i < TRIES; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

ns_up() {
  ns_down
  ip netns add "$NS_A"
  ip netns add "$NS_B"
  ip -n "$NS_A" link add "$VETH_A" address "$MAC_A" type veth \
    peer name "$VETH_B" address "$MAC_B" netns "$NS_B"
  ip -n "$NS_A" link set lo up
  ip -n "$NS_B" link set lo up
  ip -n "$NS_A" addr add "$A4/24" dev "$VETH_A"
  ip -n "$NS_B" addr add "$B4/24" dev "$VETH_B"
  ip -n "$NS_A" -6 addr add "$A6/64" dev "$VETH_A" nodad
  ip -n "$NS_B" -6 addr add "$B6/64" dev "$VETH_B" nodad
  # hosts inside the traffic selectors (used to push one packet through a tunnel)
  ip -n "$NS_A" addr add 10.88.1.1/32 dev lo
  ip -n "$NS_B" addr add 10.88.2.1/32 dev lo
  ip -n "$NS_A" link set "$VETH_A" up
  ip -n "$NS_B" link set "$VETH_B" up
  # static neighbours: no ARP/NDP delay in front of the first IKE packet
  ip -n "$NS_A" neigh replace "$B4" lladdr "$MAC_B" dev "$VETH_A" nud permanent
  ip -n "$NS_A" neigh replace "$B6" lladdr "$MAC_B" dev "$VETH_A" nud permanent
  ip -n "$NS_B" neigh replace "$A4" lladdr "$MAC_A" dev "$VETH_B" nud permanent
  ip -n "$NS_B" neigh replace "$A6" lladdr "$MAC_A" dev "$VETH_B" nud permanent
}

# --- charon instances ------------------------------------------------------

# role (a|b) -> namespace
ns_of() { if [[ $1 == a ]]; then echo "$NS_A"; else echo "$NS_B"; fi; }
uri_of() { echo "unix://$SDIR/$1/charon.vici"; }
# sw role --command [args]: swanctl against that peer's daemon (--uri must follow the command)
sw() { local role=$1 cmd=$2; shift 2; swanctl "$cmd" --uri "$(uri_of "$role")" "$@"; }
clog() { echo "$SDIR/$1/charon.log"; }

# write_strongswan_conf role "kernel plugins" [extra charon settings]
write_strongswan_conf() {
  local role=$1 kernel=$2 extra=${3:-} d=$SDIR/$1
  local load="random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints"
  load+=" curve25519 aes sha1 sha2 md5 hmac gcm kdf attr $kernel socket-default vici"
  cat >"$d/strongswan.conf" <<EOF
# generated by capture-strongswan.sh (scenario $SCEN, peer $role)
charon {
  load = $load
  install_routes = no
  retransmit_tries = 3
  retransmit_timeout = 1.0
  $extra
  plugins {
    vici {
      socket = unix://$d/charon.vici
    }
  }
  filelog {
    main {
      path = $d/charon.log
      append = no
      flush_line = yes
      time_format = %H:%M:%S
      ike_name = yes
      default = 1
      cfg = 2
      ike = 4
      chd = 2
      enc = 1
      net = 1
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
}
EOF
}

start_charon() { # role
  local role=$1 d=$SDIR/$1 pid
  mkdir -p "$d/run"
  STRONGSWAN_CONF=$d/strongswan.conf \
    ip netns exec "$(ns_of "$role")" \
    sh -c 'mount --bind "$1" /run && exec "$2"' sh "$d/run" "$CHARON" \
    >"$d/charon.stdout" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  printf '%s\n' "$pid" >"$d/pid"
  if ! poll sw "$role" --stats; then
    cat "$d/charon.stdout" >&2 || true
    die "charon $role did not come up"
  fi
}

start_capture() {
  local f=$SDIR/capture.pcap
  ip netns exec "$NS_A" tcpdump -i "$VETH_A" -n -U --immediate-mode -Z root -s 0 -w "$f" "$CAPTURE_FILTER" \
    >"$SDIR/tcpdump.out" 2>&1 &
  TCPDUMP_PID=$!
  PIDS+=("$TCPDUMP_PID")
  poll grep -q 'listening on' "$SDIR/tcpdump.out" || die "tcpdump did not start"
}

stop_capture() {
  sleep 1   # let the last answers arrive
  stop_pid "$TCPDUMP_PID" INT
  TCPDUMP_PID=""
  # tcpdump reports "N packets captured" / "M packets received by filter"
  local cap rcv
  cap=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured.*/\1/p' "$SDIR/tcpdump.out")
  rcv=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter.*/\1/p' "$SDIR/tcpdump.out")
  [[ -n $cap && $cap == "$rcv" ]] || die "$SCEN: tcpdump captured ${cap:-?} of ${rcv:-?} packets"
}

# scenario_begin name "kernel plugins" [charon settings a] [charon settings b]
# (expects $SDIR/{a,b}/swanctl.conf to be written by the caller afterwards)
scenario_begin() {
  SCEN=$1
  SDIR=$WORK/$SCEN
  log "=== $SCEN"
  mkdir -p "$SDIR/a" "$SDIR/b"
  ns_up
  write_strongswan_conf a "$2" "${3:-}"
  write_strongswan_conf b "$2" "${4:-}"
}

# start both daemons, load the swanctl.conf files, start tcpdump
scenario_run() {
  local role
  for role in b a; do
    start_charon "$role"
    sw "$role" --load-all --file "$SDIR/$role/swanctl.conf" >"$SDIR/$role/load.out" 2>&1 ||
      { cat "$SDIR/$role/load.out" >&2; die "swanctl --load-all failed for $role"; }
  done
  start_capture
}

scenario_end() {
  local role pid
  stop_capture
  for role in a b; do
    pid=$(cat "$SDIR/$role/pid")
    stop_pid "$pid"
  done
  ns_down
  mkdir -p "$OUT_DIR"
  cp "$SDIR/capture.pcap" "$OUT_DIR/$SCEN.pcap"
  extract_keys >"$OUT_DIR/$SCEN.keys.txt"
  log "wrote $OUT_DIR/$SCEN.pcap ($(packet_count "$OUT_DIR/$SCEN.pcap") packets)"
  verify_capture "$OUT_DIR/$SCEN.pcap" "$OUT_DIR/$SCEN.keys.txt"
}

# With tshark installed: no packet may be malformed or carry an expert warning,
# and with the logged keys every IKEv2 SK/SKF payload must decrypt with a valid
# integrity checksum.
verify_capture() { # pcap keys
  command -v tshark >/dev/null || { log "tshark not found, skipping checks"; return 0; }
  local f=$1 keys=$2 row bad enc dec badicv
  local -a opts=()
  bad=$(tshark -r "$f" -Y '_ws.malformed || _ws.expert.severity >= "warning"' 2>/dev/null | wc -l)
  ((bad == 0)) || die "$f: tshark flags $bad packets as malformed or with warnings"
  while IFS= read -r row; do
    opts+=(-o "uat:ikev2_decryption_table:$row")
  done < <(sed -n 's/^wireshark_ikev2 = //p' "$keys")
  ((${#opts[@]})) || return 0
  enc=$(tshark -r "$f" -Y 'isakmp.typepayload == 46 || isakmp.typepayload == 53' 2>/dev/null | wc -l)
  dec=$(tshark -r "$f" "${opts[@]}" -Y 'isakmp.enc.decrypted' 2>/dev/null | wc -l)
  badicv=$(tshark -r "$f" "${opts[@]}" -Y 'isakmp.ikev2.integrity_checksum' 2>/dev/null | wc -l)
  ((dec == enc && badicv == 0)) ||
    die "$f: only $dec of $enc encrypted messages decrypt with the logged keys ($badicv bad ICVs)"
}

packet_count() {
  if command -v capinfos >/dev/null; then
    capinfos -c -M "$1" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}'
  else
    tcpdump -r "$1" -n 2>/dev/null | wc -l
  fi
}

# wait until the log of role matches an extended regex
wait_log() { # role regex [what]
  poll grep -Eq "$2" "$(clog "$1")" || die "$SCEN: timed out waiting for ${3:-$2} in $1's log"
}

initiate() { # role child [ike]
  local out=$SDIR/$1/initiate.out
  if [[ -n ${3:-} ]]; then
    sw "$1" --initiate --child "$2" --ike "$3" --timeout 15 >>"$out" 2>&1 || true
  else
    sw "$1" --initiate --child "$2" --timeout 15 >>"$out" 2>&1 || true
  fi
}

terminate_ike() { # role ike
  sw "$1" --terminate --ike "$2" --timeout 15 >>"$SDIR/$1/terminate.out" 2>&1 || true
}

# --- key sidecar -----------------------------------------------------------

# Write "<scenario>.keys.txt": for each IKE SA peer a knew (SPIs from
# "swanctl --list-sas --raw" snapshots, by unique id) the keys charon logged at
# "ike = 4" (matched by the IKE_SA unique id in the log context), plus
# ready-made rows for Wireshark's ikev2_decryption_table / ikev1_decryption_table.
extract_keys() {
  local sas=$SDIR/a/sas.raw
  [[ -s $sas ]] || : >"$sas"
  cat <<EOF
# IKE SA keys for $SCEN.pcap (test data only, made by scripts/capture-strongswan.sh).
# Source: charon log of peer a (10.77.0.1 / fd77::1, the initiator) at "ike = 4"
# and "swanctl --list-sas --raw" snapshots.  One [ike_sa N] block per IKE SA in
# order of creation; hex without 0x.  The wireshark_* lines are rows for the
# "ikev2_decryption_table" / "ikev1_decryption_table" UATs, e.g.
#   tshark -r $SCEN.pcap -o 'uat:ikev2_decryption_table:<wireshark_ikev2 row>'
#   tshark -r $SCEN.pcap -o 'uat:ikev1_decryption_table:<wireshark_ikev1 row>'
EOF
  awk '
    function wsenc(alg, ks) {
      if (alg == "AES_CBC") return "AES-CBC-" ks " [RFC3602]"
      if (alg ~ /^AES_GCM_(8|12|16)$/) { sub(/AES_GCM_/, "", alg); return "AES-GCM-" ks " with " alg " octet ICV [RFC5282]" }
      if (alg ~ /^AES_CTR$/) return "AES-CTR-" ks " [RFC5930]"
      if (alg == "3DES") return "3DES [RFC2451]"
      return "?" alg
    }
    function wsinteg(alg) {
      if (alg == "") return "NONE [RFC4306]"
      if (alg == "HMAC_SHA1_96") return "HMAC_SHA1_96 [RFC2404]"
      if (alg == "HMAC_MD5_96") return "HMAC_MD5_96 [RFC2403]"
      if (alg ~ /^HMAC_SHA2_(256_128|384_192|512_256)$/) return alg " [RFC4868]"
      return "?" alg
    }
    function ctx_id(tok) {   # "<cap|3>" or "<3>" -> 3
      if (tok !~ /^<.*>$/) return ""
      sub(/^<([^|>]*\|)?/, "", tok); sub(/>$/, "", tok)
      return tok
    }
    # pass 1: list-sas snapshots, one IKE_SA per "list-sa event" line
    FNR == NR {
      line = $0
      if (line !~ /^list-sa event/) next
      sub(/ child-sas .*/, "", line)
      if (!match(line, /uniqueid=[0-9]+/)) next
      id = substr(line, RSTART + 9, RLENGTH - 9) + 0
      if (id in seen) next
      seen[id] = 1
      if (id > maxid) maxid = id
      nf = split(line, tok, /[ {}]+/)
      for (i = 1; i <= nf; i++) {
        if (split(tok[i], kv, "=") == 2) sa[id, kv[1]] = kv[2]
      }
      next
    }
    # pass 2: the charon log.  Keys are logged in the context of the IKE_SA
    # that derives them; for a rekeying that is the old SA, which first logs
    # "initiating IKE_SA name[new]".
    /selected proposal: IKE:/ { prop[ctx_id($3)] = $NF }
    / initiating IKE_SA [^ ]+\[[0-9]+\]/ {
      c = ctx_id($3)
      match($0, /initiating IKE_SA [^ ]+\[[0-9]+\]/)
      t = substr($0, RSTART, RLENGTH); sub(/.*\[/, "", t); sub(/\]/, "", t)
      if (c != "" && t != c) target[c] = t
    }
    / => [0-9]+ bytes @ / {
      name = ""
      if (match($0, /> (Sk_(d|ai|ar|ei|er|pi|pr) secret|SKEYID(_d|_a|_e)?|encryption key Ka|initial IV) => /)) {
        name = substr($0, RSTART + 2, RLENGTH - 6)
      }
      need = 0
      if (name == "") next
      c = ctx_id($3)
      if (c == "") next
      if (name == "Sk_d secret" || name == "SKEYID") {
        k = (c in target) ? target[c] : c
        delete target[c]
        kprop[k] = prop[c]
        kn[k] = 0
        if (k + 0 > maxid) maxid = k + 0
      }
      sub(/ secret$/, "", name)
      gsub(/ /, "_", name)
      name = tolower(name)
      if (name == "encryption_key_ka") name = "enc_key"
      kname[k, ++kn[k]] = name
      cur = kn[k]
      thread = $2
      match($0, /=> [0-9]+ bytes/)
      need = substr($0, RSTART + 3, RLENGTH - 9) + 0
      next
    }
    need > 0 && $2 == thread && $4 ~ /^[0-9]+:$/ {
      for (i = 5; i <= NF && need > 0; i++) {
        if ($i !~ /^[0-9A-F][0-9A-F]$/) break
        kval[k, cur] = kval[k, cur] tolower($i)
        need--
      }
      next
    }
    END {
      for (s = 1; s <= maxid; s++) {
        if (!(s in seen) && !(s in kn)) continue
        printf "\n[ike_sa %d]\n", s
        if (!(s in seen)) print "# WARNING: keys logged but SPIs not recorded"
        if (!(s in kn)) print "# WARNING: no keys logged"
        v = sa[s, "version"]
        printf "version = %s\n", v
        printf "spi_i = %s\n", sa[s, "initiator-spi"]
        printf "spi_r = %s\n", sa[s, "responder-spi"]
        printf "encr = %s\n", sa[s, "encr-alg"] (sa[s, "encr-keysize"] != "" ? "-" sa[s, "encr-keysize"] : "")
        if (sa[s, "integ-alg"] != "") printf "integ = %s\n", sa[s, "integ-alg"]
        printf "prf = %s\n", sa[s, "prf-alg"]
        printf "dh = %s\n", sa[s, "dh-group"]
        if (kprop[s] != "") printf "proposal = %s\n", kprop[s]
        for (j = 1; j <= kn[s]; j++) {
          printf "%s = %s\n", kname[s, j], kval[s, j]
          key[kname[s, j]] = kval[s, j]
        }
        if (v == 2) {
          printf "wireshark_ikev2 = %s,%s,%s,%s,\"%s\",%s,%s,\"%s\"\n",
            sa[s, "initiator-spi"], sa[s, "responder-spi"], key["sk_ei"], key["sk_er"],
            wsenc(sa[s, "encr-alg"], sa[s, "encr-keysize"]), key["sk_ai"], key["sk_ar"],
            wsinteg(sa[s, "integ-alg"])
        } else if (v == 1) {
          printf "wireshark_ikev1 = %s,%s\n", sa[s, "initiator-spi"], key["enc_key"]
        }
        split("", key)
      }
    }
  ' "$sas" "$(clog a)"
}

# --- swanctl.conf generation -------------------------------------------------

PKI=$WORK/pki

# make a throw-away CA and RSA end-entity certificates for a.ikecap.test and
# b.ikecap.test (2048 and 4096 bit) with strongSwan's pki tool
make_pki() {
  [[ -e $PKI/done ]] && return 0
  command -v pki >/dev/null || die "pki (strongswan-pki) is needed for the certificate scenarios"
  mkdir -p "$PKI"
  log "creating test CA and certificates"
  # a minimal plugin list keeps pki from probing TPMs and the like
  cat >"$PKI/strongswan.conf" <<EOF
pki {
  load = random openssl pem pkcs1 pkcs8 x509 pubkey sha1 sha2
}
EOF
  export STRONGSWAN_CONF=$PKI/strongswan.conf
  pki --gen --type rsa --size 2048 --outform pem >"$PKI/ca.key"
  pki --self --ca --lifetime 3650 --in "$PKI/ca.key" --outform pem \
    --dn "C=XX, O=ikecap test, CN=ikecap test CA" >"$PKI/ca.pem"
  local role bits
  for bits in 2048 4096; do
    for role in a b; do
      pki --gen --type rsa --size "$bits" --outform pem >"$PKI/$role-rsa$bits.key"
      pki --pub --in "$PKI/$role-rsa$bits.key" |
        pki --issue --cacert "$PKI/ca.pem" --cakey "$PKI/ca.key" --lifetime 3650 \
          --dn "C=XX, O=ikecap test, CN=$role.ikecap.test" --san "$role.ikecap.test" \
          --outform pem >"$PKI/$role-rsa$bits.pem"
    done
  done
  unset STRONGSWAN_CONF
  touch "$PKI/done"
}

# Connection parameters; conf_reset sets the defaults, scenarios override them.
conf_reset() {
  C_VERSION=2
  C_FAMILY=4
  C_PROPOSALS_A="aes128gcm16-prfsha256-x25519"
  C_PROPOSALS_B=""            # empty = same as A
  C_ESP="aes128gcm16"
  C_AUTH=psk                  # psk | pubkey
  C_CERT=rsa2048              # certificate/key used with pubkey
  C_EXTRA=""                  # extra connection settings for both peers
  C_EXTRA_A=""                # ... initiator only
  C_EXTRA_B=""                # ... responder only
  C_TS_A="10.88.1.0/24"       # subnet(s) behind a
  C_TS_B="10.88.2.0/24"       # subnet(s) behind b
  C_VIPS=""                   # virtual IPs a requests (Mode-Config / CP)
  C_CONN2_PROPOSALS_A=""      # if set, a gets a second connection "cap2"
}

gen_swanctl() { # role
  local role=$1 peer me him props lts rts
  if [[ $role == a ]]; then peer=b; else peer=a; fi
  if [[ $C_FAMILY == 6 ]]; then
    if [[ $role == a ]]; then me=$A6 him=$B6; else me=$B6 him=$A6; fi
  else
    if [[ $role == a ]]; then me=$A4 him=$B4; else me=$B4 him=$A4; fi
  fi
  props=$C_PROPOSALS_A
  [[ $role == b && -n $C_PROPOSALS_B ]] && props=$C_PROPOSALS_B
  local ts_a=$C_TS_A
  [[ -n $C_VIPS ]] && ts_a=dynamic
  if [[ $role == a ]]; then lts=$ts_a rts=$C_TS_B; else lts=$C_TS_B rts=$ts_a; fi

  local extra=$C_EXTRA
  if [[ $role == a ]]; then
    extra+=$'\n'"$C_EXTRA_A"
    [[ -n $C_VIPS ]] && extra+=$'\n'"vips = $C_VIPS"
  else
    extra+=$'\n'"$C_EXTRA_B"
    [[ -n $C_VIPS ]] && extra+=$'\n'"pools = p4, p6"
  fi

  local local_auth remote_auth secrets
  if [[ $C_AUTH == psk ]]; then
    local_auth="auth = psk"
    remote_auth="auth = psk"
    secrets=$(
      cat <<EOF
  ike-cap {
    id-a = a.ikecap.test
    id-b = b.ikecap.test
    secret = "$PSK"
  }
EOF
    )
  else
    # swanctl loads credentials from directories next to swanctl.conf
    mkdir -p "$SDIR/$role/x509" "$SDIR/$role/x509ca" "$SDIR/$role/private"
    cp "$PKI/$role-$C_CERT.pem" "$SDIR/$role/x509/"
    cp "$PKI/ca.pem" "$SDIR/$role/x509ca/"
    cp "$PKI/$role-$C_CERT.key" "$SDIR/$role/private/"
    local_auth="auth = pubkey
      certs = $role-$C_CERT.pem"
    remote_auth="auth = pubkey
      cacerts = ca.pem"
    secrets=""
  fi

  # conn_block name proposals: one connection section
  conn_block() {
    cat <<EOF
  $1 {
    version = $C_VERSION
    local_addrs = $me
    remote_addrs = $him
    proposals = $2
    $(sed 's/^ *//' <<<"$extra" | sed '/^$/d; 2,$s/^/    /')
    local {
      $local_auth
      id = $role.ikecap.test
    }
    remote {
      $remote_auth
      id = $peer.ikecap.test
    }
    children {
      net {
        local_ts = $lts
        remote_ts = $rts
        esp_proposals = $C_ESP
      }
    }
  }
EOF
  }

  echo "# generated by capture-strongswan.sh (scenario $SCEN, peer $role)"
  echo "connections {"
  conn_block cap "$props"
  if [[ $role == a && -n $C_CONN2_PROPOSALS_A ]]; then
    conn_block cap2 "$C_CONN2_PROPOSALS_A"
  fi
  echo "}"
  if [[ $role == b && -n $C_VIPS ]]; then
    cat <<EOF
pools {
  p4 {
    addrs = 10.88.3.0/28
    dns = 10.88.3.53
  }
  p6 {
    addrs = fd88:3::/124
    dns = fd88:3::53
  }
}
EOF
  fi
  printf 'secrets {\n%s\n}\n' "$secrets"
}

# scenario_start name "kernel plugins" [charon settings a] [charon settings b]
# writes all configuration from the C_* variables, starts daemons and capture
scenario_start() {
  scenario_begin "$@"
  gen_swanctl a >"$SDIR/a/swanctl.conf"
  gen_swanctl b >"$SDIR/b/swanctl.conf"
  scenario_run
}

# record the IKE SAs (SPIs, algorithms) peer a currently knows, for the key file
snap() { sw a --list-sas --raw >>"$SDIR/a/sas.raw" 2>/dev/null || true; }

wait_ike_up() { # unique id of the IKE_SA on peer a [connection name]
  wait_log a "IKE_SA ${2:-cap}\\[$1\\] (established|rekeyed)" "IKE_SA $1"
  snap
}

wait_child_up() { # unique id of the CHILD_SA on peer a
  wait_log a "CHILD_SA net\\{$1\\} established" "CHILD_SA $1"
  snap
}

# one UDP datagram from a host behind a to a host behind b, through the tunnel
# (produces ESP-in-UDP packets with kernel-libipsec; needs install_routes)
send_through_tunnel() {
  ip netns exec "$NS_A" bash -c 'echo ikecap >/dev/udp/10.88.2.1/9' 2>/dev/null || true
}

NETLINK="kernel-netlink"
LIBIPSEC="kernel-libipsec kernel-netlink"   # libipsec does ESP, netlink the rest
ROUTES="install_routes = yes"
AGGR_PSK="i_dont_care_about_security_and_use_aggressive_mode_psk = yes"

# --- scenarios -------------------------------------------------------------

# IKEv2 PSK with kernel-libipsec: the CHILD_SA installs, so a child rekey works.
# libipsec fakes a NAT, so everything after IKE_SA_INIT moves to UDP 4500.
scen_ikev2-psk() {
  conf_reset
  C_PROPOSALS_A="aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048"
  C_ESP="aes128gcm16-x25519, aes256-sha256-modp2048"
  scenario_start ikev2-psk "$LIBIPSEC"
  initiate a net
  wait_ike_up 1
  wait_child_up 1
  sw a --rekey --child net >/dev/null
  wait_child_up 2
  sw a --rekey --ike cap >/dev/null
  wait_ike_up 2
  terminate_ike a cap
  scenario_end
}

# IKEv2 PSK with kernel-netlink and no MOBIKE: all on UDP 500.  The kernel here
# has no ESP, so the responder fails to install the CHILD_SA and answers
# IKE_AUTH (and a later CREATE_CHILD_SA) with an error notify.
scen_ikev2-psk-udp500() {
  conf_reset
  C_PROPOSALS_A="aes256-sha256-modp2048, aes128-sha1-modp1024"
  C_ESP="aes256-sha256, aes128-sha1"
  C_EXTRA="mobike = no"
  scenario_start ikev2-psk-udp500 "$NETLINK"
  initiate a net
  wait_ike_up 1
  sw a --rekey --ike cap >/dev/null
  wait_ike_up 2
  initiate a net
  terminate_ike a cap
  scenario_end
}

# COOKIE and INVALID_KE_PAYLOAD.  The responder wants cookies as soon as one
# IKE_SA is half open (cookie_threshold = 1) and holds IKE_AUTH requests back
# for 0.8 s (receive_delay, a charon test option), so the first IKE_SA ("cap",
# modp2048) stays half open while a second one ("cap2") starts.  cap2 sends an
# x25519 KE first but the responder accepts only modp2048: IKE_SA_INIT gets
# COOKIE, then INVALID_KE_PAYLOAD, then succeeds.
scen_ikev2-cookie-invalidke() {
  conf_reset
  C_PROPOSALS_A="aes128-sha256-modp2048"
  C_CONN2_PROPOSALS_A="aes128-sha256-x25519-modp2048"
  C_PROPOSALS_B="aes128-sha256-modp2048"
  C_ESP="aes128-sha256"
  C_EXTRA="mobike = no"
  C_EXTRA_B="unique = never"   # keep cap when cap2 (same IDs) sends INITIAL_CONTACT
  scenario_start ikev2-cookie-invalidke "$NETLINK" "" "cookie_threshold = 1
  receive_delay = 800
  receive_delay_type = 35
  receive_delay_response = no"
  initiate a net cap &
  local first=$!
  wait_log a '<cap\|1> generating IKE_AUTH request' "first IKE_AUTH request"
  initiate a net cap2
  wait "$first" || true
  wait_ike_up 1 cap
  wait_ike_up 2 cap2
  terminate_ike a cap
  terminate_ike a cap2
  scenario_end
}

# IKEv2 with forced UDP encapsulation (libipsec): IKE on 4500 with the non-ESP
# marker, ESP-in-UDP data packets and DPD (empty INFORMATIONAL) exchanges.
# (No NAT keepalives: the NAT is only faked, so neither side is "behind" one.)
scen_ikev2-natt-4500() {
  conf_reset
  C_PROPOSALS_A="aes256-sha384-ecp256"
  C_ESP="aes256-sha256"
  C_EXTRA="encap = yes
dpd_delay = 1s"
  scenario_start ikev2-natt-4500 "$LIBIPSEC" "$ROUTES" "$ROUTES"
  initiate a net
  wait_ike_up 1
  wait_child_up 1
  send_through_tunnel
  sleep 2.5
  terminate_ike a cap
  scenario_end
}

# IKEv2 with RSA certificates (CERT, CERTREQ payloads), no fragmentation.
scen_ikev2-cert() {
  conf_reset
  make_pki
  C_AUTH=pubkey C_CERT=rsa2048
  C_PROPOSALS_A="aes128-sha256-ecp256"
  C_ESP="aes128-sha256"
  C_EXTRA="mobike = no
fragmentation = no"
  scenario_start ikev2-cert "$NETLINK"
  initiate a net
  wait_ike_up 1
  terminate_ike a cap
  scenario_end
}

# IKEv2 with 4096-bit RSA certificates: IKE_AUTH exceeds the fragment size and
# is sent as IKEv2 fragments (SKF payloads, RFC 7383).
scen_ikev2-cert-frag() {
  conf_reset
  make_pki
  C_AUTH=pubkey C_CERT=rsa4096
  C_PROPOSALS_A="aes256-sha512-modp3072"
  C_ESP="aes256-sha512"
  C_EXTRA="mobike = no
fragmentation = yes"
  scenario_start ikev2-cert-frag "$NETLINK"
  initiate a net
  wait_ike_up 1
  terminate_ike a cap
  scenario_end
}

# IKEv2 over IPv6 with virtual IPs (CP payload: CFG_REQUEST/CFG_REPLY) and IPv4+IPv6
# traffic selectors.
scen_ikev2-ipv6-cp() {
  conf_reset
  C_FAMILY=6
  C_PROPOSALS_A="aes256gcm16-prfsha384-ecp384"
  C_ESP="aes256gcm16"
  C_EXTRA="mobike = no"
  C_VIPS="0.0.0.0, ::"
  C_TS_B="10.88.2.0/24, fd88:2::/64"
  scenario_start ikev2-ipv6-cp "$NETLINK"
  initiate a net
  wait_ike_up 1
  terminate_ike a cap
  scenario_end
}

# IKEv1 Main Mode PSK + Quick Mode (PFS), all on UDP 500.
scen_ikev1-main-psk() {
  conf_reset
  C_VERSION=1
  C_PROPOSALS_A="aes128-sha256-modp2048, 3des-sha1-modp1024"
  C_ESP="aes128-sha256-modp2048, 3des-sha1-modp2048"
  scenario_start ikev1-main-psk "$NETLINK"
  initiate a net
  wait_ike_up 1
  terminate_ike a cap
  scenario_end
}

# IKEv1 Aggressive Mode PSK + Quick Mode, all on UDP 500.
scen_ikev1-aggressive-psk() {
  conf_reset
  C_VERSION=1
  C_PROPOSALS_A="aes256-sha256-modp2048"
  C_ESP="aes256-sha256"
  C_EXTRA="aggressive = yes"
  scenario_start ikev1-aggressive-psk "$NETLINK" "$AGGR_PSK" "$AGGR_PSK"
  initiate a net
  wait_ike_up 1
  terminate_ike a cap
  scenario_end
}

# IKEv1 Main Mode with kernel-libipsec: NAT-T (RFC 3947) floats to UDP 4500,
# Quick Mode installs, a Quick Mode rekey, ESP-in-UDP data, deletes.
scen_ikev1-natt-4500() {
  conf_reset
  C_VERSION=1
  C_PROPOSALS_A="aes128-sha1-modp2048"
  C_ESP="aes128-sha1"
  C_EXTRA="encap = yes"
  scenario_start ikev1-natt-4500 "$LIBIPSEC" "$ROUTES" "$ROUTES"
  initiate a net
  wait_ike_up 1
  wait_child_up 1
  send_through_tunnel
  sw a --rekey --child net >/dev/null
  wait_child_up 2
  terminate_ike a cap
  scenario_end
}

# IKEv1 Main Mode with RSA certificates and forced IKEv1 fragmentation.
scen_ikev1-main-cert-frag() {
  conf_reset
  make_pki
  C_VERSION=1
  C_AUTH=pubkey C_CERT=rsa2048
  C_PROPOSALS_A="aes256-sha256-modp2048"
  C_ESP="aes256-sha256"
  C_EXTRA="fragmentation = force"
  scenario_start ikev1-main-cert-frag "$NETLINK" "fragment_size = 512" "fragment_size = 512"
  initiate a net
  wait_ike_up 1
  terminate_ike a cap
  scenario_end
}

# IKEv1 Main Mode PSK + Mode-Config (transaction exchange) for a virtual IP.
scen_ikev1-modecfg() {
  conf_reset
  C_VERSION=1
  C_PROPOSALS_A="aes128-sha256-modp2048"
  C_ESP="aes128-sha256"
  C_VIPS="0.0.0.0"
  scenario_start ikev1-modecfg "$NETLINK"
  initiate a net
  wait_ike_up 1
  terminate_ike a cap
  scenario_end
}

# --- main ------------------------------------------------------------------

[[ $(id -u) == 0 ]] || die "must run as root (network namespaces)"
for cmd in ip swanctl tcpdump "$CHARON"; do
  command -v "$cmd" >/dev/null || die "missing $cmd"
done

if (($# == 0)); then set -- "${ALL_SCENARIOS[@]}"; fi
for s in "$@"; do
  declare -F "scen_$s" >/dev/null || die "unknown scenario $s"
done
for s in "$@"; do
  "scen_$s"
done
log "done"
