# tests/interop/lib.sh - harness for interop tests of the IKEv2 engine against strongSwan (and,
# with SW_VERSION=1, of the IKEv1 engine through the real daemon).
#
# Sourced by the scenario scripts in this directory (run them as root:
# `sudo bash tests/interop/NAME.sh`). It builds two throw-away network namespaces, ikei-a and
# ikei-b, joined by a veth pair (10.77.1.1/24 <-> 10.77.1.2/24), runs our engine in ikei-a
# through the test driver `ike-peer` (crates/ike-testkit/src/bin/ike-peer.rs; it prints the
# engine's events as JSON lines) and an isolated strongSwan charon in ikei-b (its own
# strongswan.conf with an explicit plugin list, its own /run through a bind mount, its own vici
# socket and log file), records UDP 500/4500 with tcpdump, and checks the capture with
# `ike decode`.
#
# State is asserted on both sides: from ike-peer's events (peer_* functions, jq filters over
# the JSON lines) and from `swanctl --list-sas --raw` in ikei-b, converted to JSON (swan_sas).
# The daemon-* scenarios run the real `ike daemon` in ikei-a instead (daemon_* and ike_*
# functions, at the end of this file) and compare `ike status --json` with swan_sas
# (check_sas_match).
#
# Everything is cleaned up by an EXIT trap, also on failure or Ctrl-C: processes we started are
# stopped by PID, the namespaces deleted. Every wait is a bounded polling loop. A lock
# (flock on /run/ikei-interop.lock) keeps two scenarios from sharing the namespace names. A
# leftover from an interrupted run is removed first, so every script is idempotent.
#
# Environment:
#   IKEI_KERNEL=libipsec (default) | netlink   strongSwan's kernel interface (see README.md)
#   IKE_PEER, IKE      paths of the binaries (default: $CARGO_TARGET_DIR or <repo>/target, debug)
#   KEEP_WORK=1        keep the work directory (logs, capture) even on success
#   IKEI_LOG_ENC=2     charon's enc log level (default 1: one line per message with its payloads;
#                      2 adds every parsing rule)
#
# Needs: root, iproute2, strongswan-charon, strongswan-swanctl, libcharon-extra-plugins
# (kernel-libipsec), libstrongswan-standard-plugins, libstrongswan-extra-plugins, tcpdump, jq,
# and `cargo build -p ike-testkit --bin ike-peer -p ike` done beforehand.

set -euo pipefail

IKEI_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IKEI_TARGET=${CARGO_TARGET_DIR:-$IKEI_REPO/target}
IKE_PEER=${IKE_PEER:-$IKEI_TARGET/debug/ike-peer}
IKE=${IKE:-$IKEI_TARGET/debug/ike}
CHARON=${CHARON:-/usr/lib/ipsec/charon}
IKEI_KERNEL=${IKEI_KERNEL:-libipsec}
KEEP_WORK=${KEEP_WORK:-0}

NS_A=ikei-a
NS_B=ikei-b
VETH_A=ikei-va
VETH_B=ikei-vb
A4=10.77.1.1
B4=10.77.1.2
MAC_A=02:77:01:00:00:01
MAC_B=02:77:01:00:00:02
TS_A=10.88.1.0/24 # the subnet behind our engine
TS_B=10.88.2.0/24 # the subnet behind strongSwan
ID_A=a.ike.test   # our engine's identity
ID_B=b.swan.test  # strongSwan's identity
PSK='ikei-interop-test-psk-5f0c2a9e' # test data only
CONN=ikei  # strongSwan's connection name
CHILD=net  # child name on both sides

SCEN=$(basename "$0" .sh)
WORK=""
PIDS=()         # background processes we started (their PIDs)
PEER_PID=""
CHARON_PID=""
TCPDUMP_PID=""
FAILURES=0
CHECKS=0
T0=$(date +%s.%N)

log() { printf '[%s %5.1fs] %s\n' "$SCEN" "$(elapsed)" "$*" >&2; }
die() {
  log "FATAL: $*"
  exit 1
}
elapsed() { echo "$(date +%s.%N) - $T0" | bc; }

# --- assertions --------------------------------------------------------------

# check DESCRIPTION CMD...: run CMD, count a failure (and go on) if it fails
check() {
  local what=$1
  shift
  CHECKS=$((CHECKS + 1))
  if "$@" >/dev/null 2>&1; then
    log "ok   $what"
  else
    FAILURES=$((FAILURES + 1))
    log "FAIL $what"
  fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
  CHECKS=$((CHECKS + 1))
  if [[ $2 == "$3" ]]; then
    log "ok   $1 ($3)"
  else
    FAILURES=$((FAILURES + 1))
    log "FAIL $1: expected '$2', got '$3'"
  fi
}

# --- processes ----------------------------------------------------------------

# true while the process exists and is not a zombie
alive() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $st && $st != Z* ]]
}

# stop_pid PID [SIGNAL]: signal, wait up to 5 s, then SIGKILL; reap; forget the PID
stop_pid() {
  local pid=$1 sig=${2:-TERM} i
  [[ -n $pid ]] || return 0
  if alive "$pid"; then
    kill -s "$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "pid $pid ignored SIG$sig, killing"
      kill -s KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# poll TRIES CMD...: run CMD every 0.1 s until it succeeds, at most TRIES times
poll() {
  local tries=$1 i
  shift
  for ((i = 0; i < tries; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

# --- namespaces ----------------------------------------------------------------

# remove our namespaces; processes still inside (from an interrupted earlier run) are stopped by
# PID first
ns_down() {
  local ns pid
  for ns in "$NS_A" "$NS_B"; do
    ip netns list | grep -qw "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do stop_pid "$pid"; done
    ip netns del "$ns" || true
  done
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
  # hosts inside the traffic selectors: kernel-libipsec routes the policies' traffic through its
  # TUN device and refuses a policy whose local selector holds none of the host's addresses
  ip -n "$NS_A" addr add 10.88.1.1/32 dev lo
  ip -n "$NS_B" addr add 10.88.2.1/32 dev lo
  ip -n "$NS_A" link set "$VETH_A" up
  ip -n "$NS_B" link set "$VETH_B" up
  # static neighbours: no ARP delay in front of the first IKE packet
  ip -n "$NS_A" neigh replace "$B4" lladdr "$MAC_B" dev "$VETH_A" nud permanent
  ip -n "$NS_B" neigh replace "$A4" lladdr "$MAC_A" dev "$VETH_B" nud permanent
}

# --- setup and teardown ----------------------------------------------------------

cleanup() {
  local rc=$? pid
  set +e
  [[ -n $TCPDUMP_PID ]] && stop_pid "$TCPDUMP_PID" INT
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  ns_down
  if [[ -n $WORK ]]; then
    if [[ $KEEP_WORK == 1 || $rc != 0 ]]; then
      log "work dir kept: $WORK"
    else
      rm -rf "$WORK"
    fi
  fi
  exit "$rc"
}

# ikei_begin: checks, lock, namespaces, work dir. Call first.
ikei_begin() {
  [[ $(id -u) == 0 ]] || die "must run as root (network namespaces): sudo bash $0"
  local cmd
  for cmd in ip swanctl tcpdump jq bc flock "$CHARON"; do
    command -v "$cmd" >/dev/null || die "missing $cmd"
  done
  [[ -x $IKE_PEER && -x $IKE ]] ||
    die "missing $IKE_PEER or $IKE: run 'cargo build -p ike-testkit --bin ike-peer -p ike' first"
  case $IKEI_KERNEL in
  libipsec | netlink) ;;
  *) die "IKEI_KERNEL must be libipsec or netlink" ;;
  esac
  # (background processes get 8>&- 9>&-: a leftover of a killed run must not keep the lock)
  exec 9>/run/ikei-interop.lock
  flock -w 300 9 || die "another interop scenario holds /run/ikei-interop.lock"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  WORK=$(mktemp -d "/tmp/ikei-$SCEN.XXXXXX")
  mkdir -p "$WORK/swan/run"
  # swanctl's credential directories: with --file, swanctl reads them beside swanctl.conf (not
  # in /etc/swanctl): private keys in private/, CA certificates in x509ca/, its own in x509/
  mkdir -p "$WORK/swan/"{x509,x509ca,x509ocsp,x509aa,x509ac,x509crl,pubkey,private,rsa,ecdsa}
  mkdir -p "$WORK/swan/"{bliss,pkcs8,pkcs12}
  ns_up
  log "work dir $WORK, strongSwan kernel interface: $IKEI_KERNEL"
}

# ikei_end: stop everything, check the capture, print the verdict; the script's exit status.
ikei_end() {
  peer_stop
  capture_stop
  log "$CHECKS checks, $FAILURES failed, $(elapsed) s"
  if ((FAILURES > 0)); then
    if [[ -e $WORK/daemon.log ]]; then
      log "charon log: $WORK/swan/charon.log; ike daemon: $WORK/daemon.log, $WORK/ike.toml"
    else
      log "charon log: $WORK/swan/charon.log; ike-peer: $WORK/peer.jsonl, $WORK/peer.err"
    fi
    exit 1
  fi
  log "PASS"
}

# --- strongSwan ------------------------------------------------------------------

SWAN_DIR() { echo "$WORK/swan"; }

# swanctl against our charon (--uri must follow the command)
sw() {
  local cmd=$1
  shift
  swanctl "$cmd" --uri "unix://$WORK/swan/charon.vici" "$@"
}

# Settings of strongSwan's side, set by the scenario before swan_start:
# the connection's IKE version: 2 | 1 (IKEv1); kept when already set, so that a v1-*.sh script can
# set SW_VERSION=1 and source an IKEv2 daemon-*.sh scenario (v1-cert.sh runs daemon-cert.sh)
SW_VERSION=${SW_VERSION:-2}
SW_PROPOSALS="aes128gcm16-prfsha256-x25519" # connection proposals
SW_ESP="aes128gcm16"                        # child esp_proposals
SW_CONN_EXTRA=""                            # more lines in the connection section
SW_CHILD_EXTRA=""                           # more lines in the child section
SW_CHARON_EXTRA=""                          # more lines in strongswan.conf's charon section
SW_AUTH=psk                                 # both ends' auth: psk | pubkey
SW_LOCAL_EXTRA=""                           # more lines in the local section (certs = ...)
SW_REMOTE_EXTRA=""                          # more lines in the remote section
SW_CHILDREN_EXTRA=""                        # more child sections beside $CHILD
SW_SECRETS=""                               # the secrets section's body (default: the PSK)

write_strongswan_conf() {
  local d=$WORK/swan kernel load
  if [[ $IKEI_KERNEL == libipsec ]]; then
    # in 5.9.8 kernel-libipsec needs kernel-netlink beside it (routes, addresses)
    kernel="kernel-libipsec kernel-netlink"
  else
    kernel="kernel-netlink"
  fi
  # openssl before strongSwan's own aes/gcm (AES-NI); explicit list: /etc/strongswan.d ignored
  load="random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints"
  load+=" curve25519 aes sha1 sha2 md5 hmac gcm kdf attr $kernel socket-default vici"
  cat >"$d/strongswan.conf" <<EOF
# generated by tests/interop/lib.sh (scenario $SCEN)
charon {
  load = $load
  install_routes = $([[ $IKEI_KERNEL == libipsec ]] && echo yes || echo no)
  retransmit_tries = 3
  retransmit_timeout = 1.0
  $SW_CHARON_EXTRA
  plugins {
    vici {
      socket = unix://$d/charon.vici
    }
  }
  filelog {
    main {
      path = $d/charon.log
      append = yes
      flush_line = yes
      time_format = %H:%M:%S
      ike_name = yes
      default = 1
      cfg = 2
      ike = 2
      enc = ${IKEI_LOG_ENC:-1}
      chd = 2
      knl = 2
      net = 2
      esp = ${IKEI_LOG_ESP:-1}
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

write_swanctl_conf() {
  local secrets=$SW_SECRETS
  if [[ $SW_AUTH == psk && -z $secrets ]]; then
    secrets="ike-ikei {
    id-a = $ID_A
    id-b = $ID_B
    secret = \"$PSK\"
  }"
  fi
  cat >"$WORK/swan/swanctl.conf" <<EOF
# generated by tests/interop/lib.sh (scenario $SCEN)
connections {
  $CONN {
    version = $SW_VERSION
    local_addrs = $B4
    remote_addrs = $A4
    proposals = $SW_PROPOSALS
    $SW_CONN_EXTRA
    local {
      auth = $SW_AUTH
      id = $ID_B
      $SW_LOCAL_EXTRA
    }
    remote {
      auth = $SW_AUTH
      id = $ID_A
      $SW_REMOTE_EXTRA
    }
    children {
      $CHILD {
        local_ts = $TS_B
        remote_ts = $TS_A
        esp_proposals = $SW_ESP
        $SW_CHILD_EXTRA
      }
      $SW_CHILDREN_EXTRA
    }
  }
}
secrets {
  $secrets
}
EOF
  import_check
}

# import_check: `ike import` must turn the swanctl.conf just written into a configuration that
# `ike check` accepts (the import names swanctl's credentials, x509/, x509ca/ and private/ in
# $WORK/swan, by absolute path); either failing ends the scenario
import_check() {
  "$IKE" import "$WORK/swan/swanctl.conf" >"$WORK/imported.toml" 2>"$WORK/import.err" || {
    cat "$WORK/import.err" >&2
    die "ike import failed on $WORK/swan/swanctl.conf"
  }
  "$IKE" check -c "$WORK/imported.toml" >"$WORK/import-check.out" 2>&1 || {
    cat "$WORK/import-check.out" >&2
    die "ike check refused $WORK/imported.toml (ike import of $WORK/swan/swanctl.conf)"
  }
  log "ike import of swanctl.conf: $WORK/imported.toml passes ike check"
}

# swan_start: write the configuration, start charon in ikei-b, load the connection
swan_start() {
  local d=$WORK/swan
  write_strongswan_conf
  write_swanctl_conf
  STRONGSWAN_CONF=$d/strongswan.conf \
    ip netns exec "$NS_B" \
    sh -c 'mount --bind "$1" /run && exec "$2"' sh "$d/run" "$CHARON" \
    >"$d/charon.stdout" 2>&1 8>&- 9>&- &
  CHARON_PID=$!
  PIDS+=("$CHARON_PID")
  if ! poll 100 sw --stats; then
    cat "$d/charon.stdout" >&2 || true
    die "charon did not come up"
  fi
  sw --load-all --file "$d/swanctl.conf" >"$d/load.out" 2>&1 ||
    {
      cat "$d/load.out" >&2
      die "swanctl --load-all failed"
    }
  log "charon up (pid $CHARON_PID), connection $CONN loaded"
}

# swan_reload: write swanctl.conf again (after changing SW_* settings) and load it; strongSwan's
# SAs up at the time keep the settings they were made with
swan_reload() {
  write_swanctl_conf
  sw --load-all --file "$WORK/swan/swanctl.conf" >"$WORK/swan/load.out" 2>&1 ||
    {
      cat "$WORK/swan/load.out" >&2
      die "swanctl --load-all failed"
    }
  log "strongSwan's configuration reloaded"
}

# swan_stop [SIGNAL]: stop charon (SIGTERM: it deletes its SAs, telling us; SIGKILL: it just dies)
swan_stop() {
  log "charon (pid $CHARON_PID) gets SIG${1:-TERM}"
  stop_pid "$CHARON_PID" "${1:-TERM}"
  CHARON_PID=""
}

# swan_log REGEX: whether charon's log matches (since the last swan_log_mark; the log is
# appended to when charon restarts)
SWAN_LOG_FROM=0
# (grep reads a process substitution: with a pipe, grep -q's early exit would fail tail with
# SIGPIPE, and pipefail the whole)
swan_log() { grep -Eq "$1" < <(tail -n "+$((SWAN_LOG_FROM + 1))" "$WORK/swan/charon.log"); }

# swan_log_count REGEX: how many lines of charon's log match (since the last swan_log_mark)
swan_log_count() {
  tail -n "+$((SWAN_LOG_FROM + 1))" "$WORK/swan/charon.log" 2>/dev/null | grep -Ec "$1" || true
}

# swan_log_mark: later swan_log calls see only what charon logs from now on
swan_log_mark() {
  SWAN_LOG_FROM=0
  if [[ -e $WORK/swan/charon.log ]]; then SWAN_LOG_FROM=$(wc -l <"$WORK/swan/charon.log"); fi
}

# swan_wait_log REGEX [TIMEOUT_S] [WHAT]: wait until charon's log matches
swan_wait_log() {
  local tries=$(((${2:-15}) * 10))
  poll "$tries" swan_log "$1" || die "timed out waiting for ${3:-$1} in charon's log"
}

# swan_sas: `swanctl --list-sas --raw` as a JSON array of IKE SAs, each
# {"name": "ikei", "uniqueid": "1", ..., "child-sas": {"net-1": {...}}}; vici lists become arrays.
swan_sas() {
  sw --list-sas --raw 2>/dev/null | vici_raw_to_json
}

# vici_raw_to_json: converts swanctl's --raw output (one "list-sa event {...}" line per IKE SA,
# then "list-sas reply {}") to a JSON array. Grammar of a line: "name {" opens a section, "}"
# closes it, "key=value" is a value, "key=[a b]" a list. Values here never contain spaces
# (addresses, SPIs, FQDN identities, algorithm names); a value's own brackets (a traffic
# selector's protocol and ports, 10.88.2.0/24[tcp/443]) are turned into <> for the parse and
# back afterwards.
vici_raw_to_json() {
  sed -E ':a; s/([^= [])\[([^][ ]*)\]/\1<\2>/; ta' | awk '
    function esc(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
    function sep() { if (need[depth]) out = out ","; need[depth] = 1 }
    /^list-sa event / {
      line = substr($0, length("list-sa event ") + 1)
      gsub(/[][{}]/, " & ", line)
      n = split(line, tok, / +/)
      out = ""; depth = 0; inlist = 0
      for (i = 1; i <= n; i++) {
        t = tok[i]
        if (t == "") continue
        if (t == "{") { out = out "{"; depth++; need[depth] = 0; continue }
        if (t == "}") { out = out "}"; depth--; continue }
        if (t == "]") { out = out "]"; depth--; inlist = 0; continue }
        if (inlist) { sep(); out = out esc(t); continue }
        p = index(t, "=")
        if (p) {
          k = substr(t, 1, p - 1); v = substr(t, p + 1)
          sep()
          if (v == "" && tok[i + 1] == "[") {
            out = out esc(k) ":["; depth++; need[depth] = 0; inlist = 1; i++
          } else {
            out = out esc(k) ":" esc(v)
          }
          continue
        }
        # a section name: "{" follows
        sep(); out = out esc(t) ":"
      }
      sas[++nsas] = out
    }
    END {
      printf "["
      for (i = 1; i <= nsas; i++) printf "%s%s", (i > 1 ? "," : ""), sas[i]
      print "]"
    }
  ' | jq -c '[ .[] | to_entries[] | .value + {name: .key} ]
    | walk(if type == "string" then gsub("<"; "[") | gsub(">"; "]") else . end)'
}

# jq functions available in swan_* filters: swan_prop turns an IKE SA's or Child SA's algorithm
# fields into our engine's proposal text (aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048).
SWAN_JQ_DEFS='
def swan_encr: .["encr-alg"] as $a | (.["encr-keysize"] // "") as $k |
  if $a == "AES_CBC" then "aes\($k)"
  elif ($a | test("^AES_GCM_")) then "aes\($k)gcm\($a | ltrimstr("AES_GCM_"))"
  elif ($a | test("^AES_CCM_")) then "aes\($k)ccm\($a | ltrimstr("AES_CCM_"))"
  elif $a == "AES_CTR" then "aes\($k)ctr"
  elif $a == "CHACHA20_POLY1305" then "chacha20poly1305"
  else $a | ascii_downcase end;
def swan_integ: {"HMAC_MD5_96": "md5", "HMAC_SHA1_96": "sha1", "HMAC_SHA2_256_128": "sha256",
  "HMAC_SHA2_384_192": "sha384", "HMAC_SHA2_512_256": "sha512", "AES_XCBC_96": "aesxcbc",
  "AES_CMAC_96": "aescmac"}[.["integ-alg"]] // .["integ-alg"];
def swan_prf: .["prf-alg"] | ltrimstr("PRF_") | ascii_downcase | sub("hmac_"; "") |
  sub("sha2_"; "sha") | "prf" + .;
def swan_dh: .["dh-group"] | if . == "CURVE_25519" then "x25519" elif . == "CURVE_448" then "x448"
  else ascii_downcase | sub("_"; "") end;
def swan_prop: [swan_encr,
  (if .["integ-alg"] then swan_integ else empty end),
  (if .["prf-alg"] then swan_prf else empty end),
  (if .["dh-group"] then swan_dh else empty end),
  (if .esn == "1" then "esn" else empty end)] | join("-");
def swan_children: [.[] | .["child-sas"] // {} | to_entries[] | .value];
def norm_ts: if test("\\[") then
    capture("^(?<net>[^\\[]+)\\[(?<p>[^/\\]]+)(/(?<ports>[^\\]]*))?\\]$") as $c
    | ({"tcp": "6", "udp": "17", "icmp": "1", "ipv6-icmp": "58", "sctp": "132"}[$c.p] // $c.p)
      as $proto
    | "\($c.net)[\($proto)/\($c.ports // "0-65535")]"
  else . end;
'

# swan_check JQ_FILTER: whether jq -e FILTER holds over swan_sas
swan_check() { swan_sas | jq -e "$SWAN_JQ_DEFS $1" >/dev/null; }

# swan_wait JQ_FILTER [TIMEOUT_S] [WHAT]: wait until swan_check holds
swan_wait() {
  local tries=$(((${2:-15}) * 10))
  poll "$tries" swan_check "$1" || {
    log "strongSwan's SAs: $(swan_sas)"
    die "timed out waiting for ${3:-$1} on strongSwan's side"
  }
}

# swan_get JQ_FILTER: print jq -r FILTER over swan_sas
swan_get() { swan_sas | jq -r "$SWAN_JQ_DEFS $1"; }

# --- our engine (ike-peer) ---------------------------------------------------------

# peer_start [ike-peer options...]: run ike-peer in ikei-a with the common options; its stdin
# is a FIFO that peer_cmd writes commands to
peer_start() {
  local fifo=$WORK/peer.ctl
  rm -f "$fifo"
  mkfifo "$fifo"
  exec 8<>"$fifo" # held open by us: ike-peer never sees EOF, and opening does not block
  ip netns exec "$NS_A" "$IKE_PEER" --verbose --exit-after "${PEER_EXIT_AFTER:-60}" \
    --local "$A4" --remote "$B4" --local-id "$ID_A" --remote-id "$ID_B" --psk "$PSK" \
    --local-ts "$TS_A" --remote-ts "$TS_B" --child "$CHILD" "$@" \
    <"$fifo" >"$WORK/peer.jsonl" 2>"$WORK/peer.err" 8>&- 9>&- &
  PEER_PID=$!
  PIDS+=("$PEER_PID")
  poll 50 peer_has '.event == "start"' || {
    cat "$WORK/peer.err" >&2
    die "ike-peer did not start"
  }
  log "ike-peer up (pid $PEER_PID): $*"
}

# peer_cmd COMMAND: initiate | rekey-child | rekey-ike | delete-child | delete | exit
peer_cmd() {
  log "ike-peer <- $1"
  echo "$1" >&8
}

peer_stop() {
  [[ -n $PEER_PID ]] || return 0
  alive "$PEER_PID" && echo exit >&8 2>/dev/null || true
  poll 20 eval "! alive $PEER_PID" || true
  stop_pid "$PEER_PID"
  PEER_PID=""
  exec 8>&-
}

# peer_events JQ_SELECT: the events (compact JSON lines) for which the filter is true
peer_events() { jq -c "select($1)" "$WORK/peer.jsonl" 2>/dev/null; }

# peer_count JQ_SELECT: how many events match
peer_count() { peer_events "$1" | wc -l; }

# peer_has JQ_SELECT [N]: whether at least N (default 1) events match
peer_has() { (($(peer_count "$1") >= ${2:-1})); }

# peer_wait JQ_SELECT [N] [TIMEOUT_S] [WHAT]: wait until at least N events match
peer_wait() {
  local tries=$(((${3:-15}) * 10))
  poll "$tries" peer_has "$1" "${2:-1}" || {
    log "ike-peer events so far:"
    sed 's/^/    /' "$WORK/peer.jsonl" >&2 || true
    die "timed out waiting for ${4:-$1} from ike-peer"
  }
}

# peer_get JQ_SELECT JQ_FIELD_FILTER: that filter applied to the last matching event
peer_get() { peer_events "$1" | tail -n 1 | jq -r "$2"; }

# --- capture -------------------------------------------------------------------------

CAPTURE=capture # the current capture's name: $WORK/$CAPTURE.pcap

# capture_start [NAME]: record UDP 500/4500 on our veth into $WORK/NAME.pcap (default capture)
capture_start() {
  CAPTURE=${1:-capture}
  ip netns exec "$NS_A" tcpdump -i "$VETH_A" -n -U --immediate-mode -s 0 \
    -w "$WORK/$CAPTURE.pcap" 'udp port 500 or udp port 4500' >"$WORK/tcpdump.out" 2>&1 8>&- 9>&- &
  TCPDUMP_PID=$!
  PIDS+=("$TCPDUMP_PID")
  poll 50 grep -q 'listening on' "$WORK/tcpdump.out" || die "tcpdump did not start"
}

# capture_stop: stop tcpdump; `ike decode` must decode every IKE message (exit 0); the decoded
# tree goes to $WORK/NAME.txt and as JSON ({"messages": [...]}) to $WORK/NAME.json
capture_stop() {
  [[ -n $TCPDUMP_PID ]] || return 0
  sleep 0.3 # the last datagrams
  stop_pid "$TCPDUMP_PID" INT
  TCPDUMP_PID=""
  local n f=$WORK/$CAPTURE.pcap
  n=$(tcpdump -r "$f" -n 2>/dev/null | wc -l)
  check "ike decode reads the capture $CAPTURE.pcap ($n datagrams)" "$IKE" decode "$f"
  "$IKE" decode "$f" >"$WORK/$CAPTURE.txt" 2>&1 || true
  "$IKE" decode --json "$f" >"$WORK/$CAPTURE.json" 2>/dev/null || true
  [[ $CAPTURE == capture ]] && cp "$WORK/capture.txt" "$WORK/decode.txt"
  mkdir -p "$IKEI_REPO/target/interop"
  local dest=$SCEN
  [[ $CAPTURE == capture ]] || dest=$SCEN-$CAPTURE
  cp "$f" "$IKEI_REPO/target/interop/$dest.pcap" 2>/dev/null || true
}

# capture_messages JQ_SELECT: the decoded messages of the last stopped capture for which the
# filter holds, one compact JSON line each: {frame, src, dst, non_esp_marker, exchange, flags,
# notify, payloads} (notify: IKEv2 notify types; payloads: the names of the payloads in the
# clear, e.g. "NAT-D (20)"; none for an encrypted IKEv1 message)
capture_messages() {
  jq -c '.messages[] | {frame, src, dst, non_esp_marker,
      exchange: ([.ike.children[]? | select(.name == "Exchange type") | .value] | first),
      flags: ([.ike.children[]? | select(.name == "Flags") | .value] | first),
      notify: [.ike.children[]? | select(.name == "Payload" and .value == "N (41)")
        | .children[] | select(.name == "Notify type") | .value],
      payloads: [.ike.children[]? | select(.name == "Payload") | .value]}
    | select('"$1"')' "$WORK/$CAPTURE.json"
}

# --- common assertions -----------------------------------------------------------------

# peer_live_children: our Child SAs installed and not deleted, as a JSON array of events
peer_live_children() {
  # (a closing IKE SA reports child_sa_delete for each of its Child SAs first)
  jq -s -c '[.[] | select(.event == "child_sa_delete") | .spi_in] as $gone
    | [.[] | select(.event == "child_sa_install")
       | select(.spi_in as $s | $gone | index($s) | not)]' "$WORK/peer.jsonl"
}

peer_no_live_children() { [[ $(peer_live_children | jq length) == 0 ]]; }

# peer_ike: our newest IKE SA ({sa, spi_i, spi_r, proposal, ...}) that is not closed, or null
peer_ike() {
  jq -s -c '[.[] | select(.event == "ike_sa_closed") | .sa] as $closed
    | (map(select(.event == "ike_sa_established")) | last) as $first
    | [.[] | select(.event == "ike_sa_established" or .event == "ike_sa_rekeyed")
       | if .event == "ike_sa_rekeyed" then . + {sa: .new, proposal: $first.proposal} else . end
       | select(.sa as $s | $closed | index($s) | not)] | last' "$WORK/peer.jsonl"
}

# check_ike_match: our newest live IKE SA is ESTABLISHED at strongSwan with the same SPIs,
# identities and proposal, and it is strongSwan's only IKE SA
check_ike_match() {
  local ike spi_i spi_r prop sel
  ike=$(peer_ike)
  spi_i=$(jq -r .spi_i <<<"$ike")
  spi_r=$(jq -r .spi_r <<<"$ike")
  prop=$(jq -r .proposal <<<"$ike")
  sel=".[] | select(.\"initiator-spi\" == \"$spi_i\" and .\"responder-spi\" == \"$spi_r\")"
  check "strongSwan has our IKE SA $spi_i/$spi_r ESTABLISHED" \
    swan_check "[$sel | select(.state == \"ESTABLISHED\")] | length == 1"
  check_eq "strongSwan's IKE SAs" 1 "$(swan_get 'length')"
  check_eq "IKE proposal (ours vs strongSwan's)" "$prop" "$(swan_get "$sel | swan_prop")"
  check_eq "strongSwan sees our identity" "$ID_A" "$(swan_get "$sel | .\"remote-id\"")"
  check_eq "we see strongSwan's identity" "$ID_B" \
    "$(peer_get '.event == "ike_sa_established"' .remote_id)"
}

# check_child_match: our one live Child SA is INSTALLED at strongSwan with mirrored SPIs and
# selectors, the same proposal and mode, and it is strongSwan's only Child SA
check_child_match() {
  local c n spi_in spi_out sel
  c=$(peer_live_children)
  n=$(jq length <<<"$c")
  check_eq "our live Child SAs" 1 "$n"
  c=$(jq -c last <<<"$c")
  spi_in=$(jq -r .spi_in <<<"$c")
  spi_out=$(jq -r .spi_out <<<"$c")
  sel="swan_children[] | select(.\"spi-in\" == \"$spi_out\" and .\"spi-out\" == \"$spi_in\")"
  check "strongSwan has our Child SA in=$spi_out out=$spi_in INSTALLED" \
    swan_check "[$sel | select(.state == \"INSTALLED\")] | length == 1"
  # (after a rekey strongSwan lists the old Child SA as DELETED for delete_rekeyed_delay, 5 s)
  check_eq "strongSwan's INSTALLED Child SAs" 1 \
    "$(swan_get 'swan_children | map(select(.state == "INSTALLED")) | length')"
  check_eq "ESP proposal (ours vs strongSwan's)" "$(jq -r .proposal <<<"$c")" \
    "$(swan_get "$sel | swan_prop")"
  check_eq "mode" "$(jq -r '.mode | ascii_upcase' <<<"$c")" "$(swan_get "$sel | .mode")"
  check_eq "strongSwan's local TS = our remote TS" "$(jq -c .remote_ts <<<"$c")" \
    "$(swan_get "$sel | .\"local-ts\" | tojson")"
  check_eq "strongSwan's remote TS = our local TS" "$(jq -c .local_ts <<<"$c")" \
    "$(swan_get "$sel | .\"remote-ts\" | tojson")"
  check_eq "UDP encapsulation (ours vs strongSwan's)" \
    "$(jq -r 'if .encap then "yes" else "no" end' <<<"$c")" \
    "$(swan_get "$sel | .encap // \"no\"")"
  check_traffic "$spi_in" "$spi_out"
}

# check_traffic OUR_SPI_IN OUR_SPI_OUT: three UDP echo requests (RFC 862, port 7) from a host
# behind strongSwan (10.88.2.1) to one behind us (10.88.1.1), through the tunnel: kernel-libipsec
# encrypts them with the Child SA; ike-peer must authenticate and decrypt them with the keys our
# engine derived, and answers each through the tunnel with the outbound keys; strongSwan must
# accept the answers (they reach the sender, and its Child SA counts them). bash's /dev/udp and dd do
# the sending and receiving, so no ping or netcat is needed.
check_traffic() {
  local spi_in=$1 spi_out=$2 before_ok before_bad
  before_ok=$(peer_count ".event == \"esp_in\" and .ok and .spi == \"$spi_in\"")
  before_bad=$(peer_count '.event == "esp_in" and (.ok | not)')
  check "3 UDP echoes 10.88.2.1 -> 10.88.1.1:7 answered through the Child SA" \
    ip netns exec "$NS_B" timeout 10 bash -c '
      exec 3<>/dev/udp/10.88.1.1/7 || exit 1
      for i in 1 2 3; do
        echo "ikei echo $i" >&3
        # one datagram: dd reads it whole (bash`s read would take one byte of it)
        line=$(timeout 2 dd bs=512 count=1 status=none <&3) || exit 1
        [[ $line == "ikei echo $i" ]] || exit 1
      done'
  check_eq "ESP from strongSwan decrypted with our inbound keys (SPI $spi_in)" 3 \
    "$(($(peer_count ".event == \"esp_in\" and .ok and .spi == \"$spi_in\"") - before_ok))"
  check_eq "ESP packets we could not authenticate" "$before_bad" \
    "$(peer_count '.event == "esp_in" and (.ok | not)')"
  check "strongSwan accepted our ESP answers (SPI $spi_out, packets-in >= 3)" \
    swan_check "[swan_children[] | select(.\"spi-in\" == \"$spi_out\")
      | select((.\"packets-in\" | tonumber) >= 3)] | length == 1"
}

# check_child_or_kernel_refusal: with kernel-libipsec, check_child_match; with kernel-netlink
# (no ESP in this kernel) check that strongSwan reports the SAD failure and we got the
# negotiated child's refusal in the IKE_AUTH exchange instead.
check_child_or_kernel_refusal() {
  if [[ $IKEI_KERNEL == libipsec ]]; then
    check_child_match
  else
    check "strongSwan: kernel refused the ESP SA" \
      swan_log 'unable to install inbound and outbound IPsec SA \(SAD\) in kernel'
    # we initiated: IKE_AUTH's answer refuses the child (child_sa_failed); strongSwan
    # initiated: we installed it and strongSwan deletes it at once (child_sa_delete)
    poll 30 peer_no_live_children || true
    check_eq "our live Child SAs (refused or deleted by strongSwan)" 0 \
      "$(peer_live_children | jq length)"
    check_eq "strongSwan's Child SAs" 0 "$(swan_get 'swan_children | length')"
  fi
}

# need_libipsec: the scenario needs installed Child SAs on strongSwan's side
need_libipsec() {
  [[ $IKEI_KERNEL == libipsec ]] ||
    die "this scenario needs installed Child SAs: run it with IKEI_KERNEL=libipsec (the default)"
}

# swan_terminate_ike / swan_terminate_child: strongSwan deletes (bounded by --timeout)
swan_terminate_ike() {
  log "strongSwan deletes IKE SA $CONN"
  sw --terminate --ike "$CONN" --timeout 10 >>"$WORK/swan/terminate.out" 2>&1 ||
    log "swanctl --terminate: $(tail -n 1 "$WORK/swan/terminate.out")"
}
swan_terminate_child() {
  log "strongSwan deletes Child SA $CHILD"
  sw --terminate --child "$CHILD" --timeout 10 >>"$WORK/swan/terminate.out" 2>&1 ||
    log "swanctl --terminate: $(tail -n 1 "$WORK/swan/terminate.out")"
}

# swan_initiate: strongSwan initiates the connection (bounded by swanctl's --timeout)
swan_initiate() {
  log "strongSwan initiates $CONN/$CHILD"
  sw --initiate --child "$CHILD" --ike "$CONN" --timeout 15 >>"$WORK/swan/initiate.out" 2>&1 ||
    log "swanctl --initiate: $(tail -n 1 "$WORK/swan/initiate.out")"
}

# make_pki DIR KEYTYPE (rsa | ecdsa): DIR/ca.pem, DIR/{a,b}.pem and DIR/{a,b}.key.pem (mode
# 0600), a CA named with $TAG and one certificate per side with its identity as subjectAltName
make_pki() {
  local dir=$1 kt=$2 name id
  local -a alg
  case $kt in
  rsa) alg=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048) ;;
  ecdsa) alg=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256) ;;
  esac
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl genpkey "${alg[@]}" -out ca.key.pem 2>/dev/null
    openssl req -x509 -new -key ca.key.pem -out ca.pem -days 2 -sha256 \
      -subj "/C=XX/O=ikei interop/CN=ikei test CA $kt $TAG" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash"
    for name in a b; do
      [[ $name == a ]] && id=$ID_A || id=$ID_B
      openssl genpkey "${alg[@]}" -out "$name.key.pem" 2>/dev/null
      openssl req -new -key "$name.key.pem" -out "$name.csr" -subj "/C=XX/O=ikei interop/CN=$id"
      printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "subjectAltName=DNS:$id" "authorityKeyIdentifier=keyid" >"$name.ext"
      openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key.pem -CAcreateserial \
        -out "$name.pem" -days 2 -sha256 -extfile "$name.ext" 2>/dev/null
    done
  ) || die "openssl failed making the $kt PKI"
}

# --- our daemon (ike daemon) ---------------------------------------------------------------
#
# The real `ike daemon` in ikei-a (kernel = "none": it negotiates and logs what it would
# install), driven through its control socket (ike up/down) and checked through
# `ike status --json`. Its configuration is written from these settings, set by the scenario
# before daemon_start (the defaults mirror strongSwan's side: PSK, $SW_PROPOSALS, one child):
IKE_AUTH=psk           # both ends' auth: psk | pubkey
IKE_VERSION=""         # our connection's IKE version (default: $SW_VERSION)
IKE_DAEMON_EXTRA=""    # more lines in [daemon]
IKE_CONN_EXTRA=""      # more lines in [connections.$CONN]
IKE_LOCAL_EXTRA=""     # more lines in [connections.$CONN.local]
IKE_REMOTE_EXTRA=""    # more lines in [connections.$CONN.remote]
IKE_CHILD_EXTRA=""     # more lines in [connections.$CONN.children.$CHILD]
IKE_TAIL=""            # more tables at the end: other children, secrets, authorities
DAEMON_PID=""
DAEMON_LOG_FROM=0
IKE_SOCK="" # set by daemon_start

write_ike_conf() {
  local psk=""
  [[ $IKE_AUTH == psk ]] && psk="[[secrets.ike]]
ids = [\"$ID_A\", \"$ID_B\"]
secret = \"$PSK\""
  cat >"$WORK/ike.toml" <<EOF
# generated by tests/interop/lib.sh (scenario $SCEN)
[daemon]
listen = ["$A4"]
control_socket = "$IKE_SOCK"
kernel = "none"
$IKE_DAEMON_EXTRA

[connections.$CONN]
version = ${IKE_VERSION:-$SW_VERSION}
local_addrs = ["$A4"]
remote_addrs = ["$B4"]
proposals = "$SW_PROPOSALS" # one string: a comma-separated list, as in swanctl.conf
$IKE_CONN_EXTRA

[connections.$CONN.local]
auth = "$IKE_AUTH"
id = "$ID_A"
$IKE_LOCAL_EXTRA

[connections.$CONN.remote]
auth = "$IKE_AUTH"
id = "$ID_B"
$IKE_REMOTE_EXTRA

[connections.$CONN.children.$CHILD]
local_ts = ["$TS_A"]
remote_ts = ["$TS_B"]
esp_proposals = "$SW_ESP"
$IKE_CHILD_EXTRA

$IKE_TAIL

$psk
EOF
}

# daemon_start: write $WORK/ike.toml, check it with `ike check`, start `ike daemon` in ikei-a
# (log at debug in $WORK/daemon.log, appended to across restarts) and wait for its socket
daemon_start() {
  IKE_SOCK=$WORK/ike.sock
  write_ike_conf
  "$IKE" check -c "$WORK/ike.toml" >"$WORK/check.out" 2>&1 || {
    cat "$WORK/check.out" >&2
    die "ike check refused $WORK/ike.toml"
  }
  touch "$WORK/daemon.log"
  DAEMON_LOG_FROM=$(wc -l <"$WORK/daemon.log")
  echo "=== daemon start $(date +%T.%N) ===" >>"$WORK/daemon.log"
  ip netns exec "$NS_A" "$IKE" daemon -c "$WORK/ike.toml" --log debug \
    </dev/null >>"$WORK/daemon.out" 2>>"$WORK/daemon.log" 8>&- 9>&- &
  DAEMON_PID=$!
  PIDS+=("$DAEMON_PID")
  poll 100 "$IKE" status -s "$IKE_SOCK" || {
    tail -n "+$((DAEMON_LOG_FROM + 1))" "$WORK/daemon.log" >&2
    die "ike daemon did not come up"
  }
  log "ike daemon up (pid $DAEMON_PID)"
}

# daemon_stop [SIGNAL]: SIGTERM (default: it deletes its SAs, telling strongSwan) or SIGKILL
daemon_stop() {
  [[ -n $DAEMON_PID ]] || return 0
  log "ike daemon (pid $DAEMON_PID) gets SIG${1:-TERM}"
  stop_pid "$DAEMON_PID" "${1:-TERM}"
  DAEMON_PID=""
}

# daemon_log REGEX: whether the running (or last) daemon's log matches
daemon_log() { grep -Eq "$1" < <(tail -n "+$((DAEMON_LOG_FROM + 1))" "$WORK/daemon.log"); }

# daemon_log_count REGEX: how many lines of the running (or last) daemon's log match
daemon_log_count() {
  tail -n "+$((DAEMON_LOG_FROM + 1))" "$WORK/daemon.log" 2>/dev/null | grep -Ec "$1" || true
}

# daemon_log_mark: later daemon_log calls see only what the daemon logs from now on
daemon_log_mark() { DAEMON_LOG_FROM=$(wc -l <"$WORK/daemon.log"); }

# ike_status: `ike status --json` of our daemon
ike_status() { "$IKE" status --json -s "$IKE_SOCK"; }

# ike_stats: `ike stats --json` of our daemon
ike_stats() { "$IKE" stats --json -s "$IKE_SOCK"; }

# metrics_scrape: GET /metrics from our daemon's metrics address (127.0.0.1:$METRICS_PORT in
# its namespace; IKE_DAEMON_EXTRA must set `metrics`), by hand over bash's /dev/tcp; the body
# goes to $WORK/metrics.txt. Fails unless the answer is 200 and the page ends with # EOF.
METRICS_PORT=9740
metrics_scrape() {
  ip netns exec "$NS_A" timeout 10 bash -c '
    exec 3<>/dev/tcp/127.0.0.1/'"$METRICS_PORT"' || exit 1
    printf "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3
    cat <&3' >"$WORK/metrics.http" 2>/dev/null || return 1
  head -n 1 "$WORK/metrics.http" | grep -q '^HTTP/1\.[01] 200' || return 1
  sed '1,/^\r$/d' "$WORK/metrics.http" >"$WORK/metrics.txt"
  [[ $(tail -n 1 "$WORK/metrics.txt") == "# EOF" ]]
}

# metric SERIES: the value of one series of the last scrape (`name{labels}` exactly as the page
# writes it, or a bare name), 0 when absent
metric() {
  awk -v k="$1" 'index($0, k " ") == 1 { v = $NF } END { print (v == "" ? 0 : v) }' \
    "$WORK/metrics.txt"
}

# metric_sum PREFIX: the sum of every series starting with PREFIX in the last scrape
metric_sum() {
  awk -v k="$1" 'index($0, k) == 1 { s += $NF } END { print s + 0 }' "$WORK/metrics.txt"
}

# check_metrics_match_stats: the page agrees with `ike stats --json` (SA counts, Child SAs,
# half-open, handshakes, drops) scraped at the same moment
check_metrics_match_stats() {
  local st
  check "GET /metrics answers 200 with an OpenMetrics page" metrics_scrape
  st=$(ike_stats)
  local v state
  for v in 1 2; do
    for state in CONNECTING ESTABLISHED REKEYING DELETING; do
      check_eq "metrics: IKEv$v SAs $state" \
        "$(jq -r ".ike_sas[\"$v\"].$state // 0" <<<"$st")" \
        "$(metric "ike_ike_sas{version=\"$v\",state=\"$state\"}")"
    done
  done
  check_eq "metrics: Child SAs" "$(jq -r .child_sas <<<"$st")" "$(metric ike_child_sas)"
  check_eq "metrics: half-open" "$(jq -r .half_open <<<"$st")" "$(metric ike_half_open)"
  check_eq "metrics: handshakes" "$(jq -r .handshakes <<<"$st")" \
    "$(metric_sum ike_handshakes_total)"
  check_eq "metrics: drops" "$(jq -r '[.drops[]] | add // 0' <<<"$st")" \
    "$(metric_sum ike_drops_total)"
  check_eq "metrics: handshake latency samples = handshakes" \
    "$(jq -r .handshakes <<<"$st")" "$(metric_sum ike_handshake_duration_seconds_count)"
}

# ike_get JQ_FILTER: jq -r FILTER over ike_status
ike_get() { ike_status | jq -r "$1"; }

# ike_check JQ_FILTER: whether jq -e FILTER holds over ike_status
ike_check() { ike_status | jq -e "$1" >/dev/null; }

# ike_wait JQ_FILTER [TIMEOUT_S] [WHAT]: wait until ike_check holds
ike_wait() {
  local tries=$(((${2:-15}) * 10))
  poll "$tries" ike_check "$1" || {
    log "our status: $(ike_status 2>&1 | jq -c . 2>/dev/null)"
    die "timed out waiting for ${3:-$1} on our side"
  }
}

# ike_up: `ike up $CONN` (bounded), checked to exit 0; with IKEI_KERNEL=netlink strongSwan
# refuses the Child SA, so `ike up` fails by design and only runs
ike_up() {
  log "ike up $CONN"
  if [[ $IKEI_KERNEL == libipsec ]]; then
    check "ike up $CONN exits 0" "$IKE" up "$CONN" -s "$IKE_SOCK" --timeout 15
  else
    "$IKE" up "$CONN" -s "$IKE_SOCK" --timeout 15 || true
  fi
}

# ike_down: `ike down $CONN` (bounded), checked to exit 0
ike_down() {
  log "ike down $CONN"
  check "ike down $CONN exits 0" "$IKE" down "$CONN" -s "$IKE_SOCK" --timeout 15
}

# expected_children CHILD...: the children to expect on both sides: those given, or none when
# strongSwan cannot install Child SAs (IKEI_KERNEL=netlink)
expected_children() {
  [[ $IKEI_KERNEL == libipsec ]] && echo "$@"
  return 0
}

# both_up_now JSON_NAMES: whether each side has one ESTABLISHED IKE SA with exactly the Child
# SAs named (a sorted JSON array; strongSwan's INSTALLED ones)
both_up_now() {
  ike_check ".ike_sas | length == 1 and .[0].state == \"ESTABLISHED\"
      and ([.[0].child_sas[].name] | sort) == $1" &&
    swan_check "[.[] | select(.state == \"ESTABLISHED\")] | length == 1
      and ([swan_children[] | select(.state == \"INSTALLED\") | .name] | sort) == $1"
}

# names_json CHILD...: the names as a sorted JSON array
names_json() { printf '%s\n' "$@" | jq -R . | jq -s -c 'map(select(. != "")) | sort'; }

# both_wait_up [CHILD...]: wait (10 s at most) until each side has one ESTABLISHED IKE SA with
# exactly one Child SA of each named child (strongSwan: INSTALLED) and no other; a timeout is
# logged, and the checks that follow fail
both_wait_up() {
  local want
  want=$(names_json "$@")
  poll 100 both_up_now "$want" || {
    log "our status: $(ike_status | jq -c .)"
    log "strongSwan's SAs: $(swan_sas)"
    log "timed out waiting for one IKE SA with children $want on both sides"
  }
  return 0
}

# both_wait_gone: wait (10 s at most) until neither side has an IKE SA
both_wait_gone() {
  poll 100 eval "ike_check '.ike_sas | length == 0' && swan_check 'length == 0'" || true
  check_eq "our IKE SAs" 0 "$(ike_get '.ike_sas | length')"
  check_eq "strongSwan's IKE SAs" 0 "$(swan_get 'length')"
}

# Snapshots of both sides' SAs taken at (nearly) the same moment, for checks of one state.
IKE_SNAP=""
SW_SNAP=""
snap() {
  IKE_SNAP=$(ike_status)
  SW_SNAP=$(swan_sas)
}
ike_snap() { jq -r "$SWAN_JQ_DEFS $1" <<<"$IKE_SNAP"; }
sw_snap() { jq -r "$SWAN_JQ_DEFS $1" <<<"$SW_SNAP"; }

# check_sas_match [CHILD...]: from one snapshot of each side: each has exactly one IKE SA,
# ESTABLISHED, with the same SPIs, proposal, identities and addresses (with ports); for each
# named child each side has exactly one Child SA of that name (strongSwan: INSTALLED; old ones
# of a rekey may linger there as DELETED/REKEYED), the same one (crossed SPIs), with the same
# proposal, mode and mirrored selectors; and no other Child SA.
check_sas_match() {
  snap
  local want spi_i spi_r sel ours
  want=$(names_json "$@")
  check_eq "our IKE SAs" 1 "$(ike_snap '.ike_sas | length')"
  check_eq "strongSwan's IKE SAs" 1 "$(sw_snap 'length')"
  check_eq "our IKE SA state" ESTABLISHED "$(ike_snap '.ike_sas[0].state')"
  spi_i=$(ike_snap '.ike_sas[0].initiator_spi')
  spi_r=$(ike_snap '.ike_sas[0].responder_spi')
  sel=".[] | select(.\"initiator-spi\" == \"$spi_i\" and .\"responder-spi\" == \"$spi_r\")"
  check_eq "strongSwan's state of our IKE SA $spi_i/$spi_r" ESTABLISHED "$(sw_snap "$sel | .state")"
  check_eq "IKE proposal (ours vs strongSwan's)" "$(ike_snap '.ike_sas[0].proposal')" \
    "$(sw_snap "$sel | swan_prop")"
  check_eq "identities (ours: local, remote)" "$ID_A $ID_B" \
    "$(ike_snap '.ike_sas[0] | "\(.local_id) \(.remote_id)"')"
  check_eq "identities (strongSwan's: remote, local)" "$ID_A $ID_B" \
    "$(sw_snap "$sel | \"\(.\"remote-id\") \(.\"local-id\")\"")"
  check_eq "addresses (ours: local, remote = strongSwan's remote, local)" \
    "$(ike_snap '.ike_sas[0] | "\(.local_addr) \(.remote_addr)"')" \
    "$(sw_snap "$sel | \"\(.\"remote-host\"):\(.\"remote-port\") \(.\"local-host\"):\(.\"local-port\")\"")"
  check_eq "our Child SAs (by child)" "$want" "$(ike_snap '[.ike_sas[0].child_sas[]?.name] | sort | tojson')"
  check_eq "strongSwan's INSTALLED Child SAs (by child)" "$want" \
    "$(sw_snap '[swan_children[] | select(.state == "INSTALLED") | .name] | sort | tojson')"
  local c spi_in spi_out csel name
  while read -r c; do
    [[ -n $c ]] || continue
    name=$(jq -r .name <<<"$c")
    spi_in=$(jq -r .spi_in <<<"$c")
    spi_out=$(jq -r .spi_out <<<"$c")
    csel="swan_children[] | select(.\"spi-in\" == \"$spi_out\" and .\"spi-out\" == \"$spi_in\")"
    check_eq "$name: our Child SA state" INSTALLED "$(jq -r .state <<<"$c")"
    check_eq "$name: strongSwan's Child SA crossed (in=$spi_out out=$spi_in)" "$name INSTALLED" \
      "$(sw_snap "[$csel] | if length == 1 then .[0] | \"\(.name) \(.state)\" else \"\(length) matches\" end")"
    check_eq "$name: ESP proposal" "$(jq -r .proposal <<<"$c")" "$(sw_snap "$csel | swan_prop")"
    check_eq "$name: mode" "$(jq -r '.mode | ascii_upcase' <<<"$c")" "$(sw_snap "$csel | .mode")"
    # (protocols and ports normalized: strongSwan writes 10.88.2.0/24[tcp], we [6/0-65535])
    check_eq "$name: strongSwan's local TS = our remote TS" \
      "$(jq -c "$SWAN_JQ_DEFS .remote_ts | map(norm_ts)" <<<"$c")" \
      "$(sw_snap "$csel | .\"local-ts\" | map(norm_ts) | tojson")"
    check_eq "$name: strongSwan's remote TS = our local TS" \
      "$(jq -c "$SWAN_JQ_DEFS .local_ts | map(norm_ts)" <<<"$c")" \
      "$(sw_snap "$csel | .\"remote-ts\" | map(norm_ts) | tojson")"
  done < <(ike_snap '.ike_sas[0].child_sas[]? | tojson')
}

# daemon_end: the daemon's log has no panic; then ikei_end
daemon_end() {
  check "the daemon logged no panic" eval '! grep -q panicked "$WORK/daemon.log"'
  daemon_stop
  ikei_end
}
