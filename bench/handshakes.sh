#!/usr/bin/env bash
# bench/handshakes.sh - responder cost of IKEv2 handshakes: `ike daemon` against strongSwan's
# charon, measured in the same run and reported as RATIOS (see bench/README.md).
#
# Two network namespaces joined by a veth pair: ikeb-i (10.77.9.1, the initiator) and ikeb-r
# (10.77.9.2, the responder). Each round starts a fresh responder in ikeb-r - `ike daemon`
# (kernel = "none") or an isolated charon (own strongswan.conf, own /run by bind mount, own vici
# socket, as tests/interop/lib.sh runs it) - and drives it with the same initiator, `ike-load`
# (crates/ike-testkit/src/bin/ike-load.rs), which sets up COUNT IKE SAs with at most IN_FLIGHT
# at once and deletes none. On the responder only, just before and 0.5 s after the load: CPU
# time (utime + stime of /proc/PID/stat, all threads; /proc/PID/task/*/schedstat as a finer
# check) and VmRSS (/proc/PID/status); per established IKE SA: CPU microseconds and RSS growth
# in bytes. RUNS rounds of each (ike and strongSwan interleaved); the medians, and their ratios.
# The responder must hold exactly the SAs ike-load established, or the script fails.
#
# MODE=childless (default): IKE_SA_INIT + IKE_AUTH with PSK and no Child SA (RFC 6023); the
# kernel plays no part on either side. MODE=child: a Child SA in every IKE_AUTH; charon needs
# somewhere to install it, and this host's kernel has no ESP, so it runs kernel-libipsec
# (userspace ESP: it really installs every SA, and fakes a NAT so that IKE_AUTH goes over UDP
# 4500) while `ike daemon` with kernel = "none" installs nothing: not like for like, for
# information only. MODE=v1: IKEv1 Main Mode with a PSK and a Quick Mode (ISAKMP SA
# $V1_PROPOSAL, ESP $V1_ESP, no PFS), the same initiator with --ikev1; charon runs
# kernel-libipsec as in MODE=child (it installs every SA, in userspace, and fakes a NAT so that
# NAT-T moves Main Mode to UDP 4500) while `ike daemon` installs nothing: for information.
# MODE=both runs childless and child; MODE=all adds v1.
#
# Usage (root; build first):
#   cargo build --release --bin ike --bin ike-load --bin ike-crypto-floor
#   sudo bash bench/handshakes.sh
# Environment:
#   COUNT="1000 4000"  IKE SAs per round; each number gets its own rounds and table
#   RUNS=3             rounds per responder (the median is reported)
#   MODE=childless     childless | child | v1 | both | all
#   IN_FLIGHT=8        IKE SAs being set up at once
#   PIN=1              responder on CPU 1, initiator on CPU 0 (when there are two CPUs)
#   THRESHOLD=1000     cookie_threshold and block_threshold of both responders, and charon's
#                      cookie_threshold_ip (all the load comes from one address; strongSwan's
#                      defaults: cookies from 3 half-open SAs per address, none past 5)
#   SWAN_TABLE=1024    charon's ikesa_table_size (strongSwan's default, 1, is one linked list)
#   KEEP_WORK=1        keep the work directory (logs, configurations)
#   SHARDS=N           ike's engine shards ([daemon] shards); default 1 when the responder is
#                      pinned to one CPU (PIN=1: a second shard there could only add thread
#                      switches), else one per core
#   PERF=1             profile the ike responder of each round with `perf record -e cpu-clock -g`
#                      during the load; the flat profile goes to target/bench/perf-<round>.txt
#   IKE, IKE_LOAD, CRYPTO_FLOOR  the binaries (default: target/release); CHARON
#                      (/usr/lib/ipsec/charon)
#
# The crypto floor: ike-crypto-floor (crates/ike-testkit/src/bin/ike-crypto-floor.rs) computes,
# on the responder's CPU in the same run, the crypto a PSK/X25519/AES-GCM responder cannot
# avoid per childless handshake (key pair, shared secret, prf+, both AUTHs, the IKE_AUTH
# pair's AES-GCM); the report shows ike's CPU per SA as a multiple of it.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
IKE=${IKE:-$TARGET/release/ike}
IKE_LOAD=${IKE_LOAD:-$TARGET/release/ike-load}
CRYPTO_FLOOR=${CRYPTO_FLOOR:-$TARGET/release/ike-crypto-floor}
CHARON=${CHARON:-/usr/lib/ipsec/charon}
COUNT=${COUNT:-1000 4000}
IN_FLIGHT=${IN_FLIGHT:-8}
RUNS=${RUNS:-3}
MODE=${MODE:-childless}
[[ $MODE == both ]] && MODE="childless child"
[[ $MODE == all ]] && MODE="childless child v1"
V1_PROPOSAL=${V1_PROPOSAL:-aes128-sha256-modp2048}
V1_ESP=${V1_ESP:-aes128-sha256}
PIN=${PIN:-1}
SWAN_TABLE=${SWAN_TABLE:-1024}
THRESHOLD=${THRESHOLD:-1000}
KEEP_WORK=${KEEP_WORK:-0}
PERF=${PERF:-0}
SHARDS=${SHARDS:-}

NS_I=ikeb-i
NS_R=ikeb-r
VETH_I=ikeb-vi
VETH_R=ikeb-vr
ADDR_I=10.77.9.1
ADDR_R=10.77.9.2
MAC_I=02:77:09:00:00:01
MAC_R=02:77:09:00:00:02
ID_I=i.bench.test
ID_R=r.bench.test
PSK='ike-bench-psk-3b9e71c04d' # benchmark data only
PROPOSAL=aes128gcm16-prfsha256-x25519
ESP=aes128gcm16
TS_I=10.88.1.0/24
TS_R=10.88.2.0/24

WORK=""
PIDS=()
T0=$(date +%s.%N)

log() { printf '[bench %6.1fs] %s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$*" >&2; }
die() {
  log "FATAL: $*"
  exit 1
}

# --- processes (as tests/interop/lib.sh) -----------------------------------------------------

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
    alive "$pid" && kill -s KILL "$pid" 2>/dev/null
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

# --- namespaces -------------------------------------------------------------------------------

ns_down() {
  local ns pid
  for ns in "$NS_I" "$NS_R"; do
    ip netns list | grep -qw "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do stop_pid "$pid" KILL; done
    ip netns del "$ns" || true
  done
}

ns_up() {
  ns_down
  ip netns add "$NS_I"
  ip netns add "$NS_R"
  ip -n "$NS_I" link add "$VETH_I" address "$MAC_I" type veth \
    peer name "$VETH_R" address "$MAC_R" netns "$NS_R"
  ip -n "$NS_I" link set lo up
  ip -n "$NS_R" link set lo up
  ip -n "$NS_I" addr add "$ADDR_I/24" dev "$VETH_I"
  ip -n "$NS_R" addr add "$ADDR_R/24" dev "$VETH_R"
  # hosts inside the traffic selectors (kernel-libipsec wants a local address in its selector)
  ip -n "$NS_I" addr add 10.88.1.1/32 dev lo
  ip -n "$NS_R" addr add 10.88.2.1/32 dev lo
  ip -n "$NS_I" link set "$VETH_I" up
  ip -n "$NS_R" link set "$VETH_R" up
  ip -n "$NS_I" neigh replace "$ADDR_R" lladdr "$MAC_R" dev "$VETH_I" nud permanent
  ip -n "$NS_R" neigh replace "$ADDR_I" lladdr "$MAC_I" dev "$VETH_R" nud permanent
}

cleanup() {
  local rc=$? pid
  set +e
  # the responder: KILL (on TERM it would tell the gone initiator about every SA); the rest
  # TERM, which timeout passes on to ike-load (stop_pid escalates to KILL after 5 s)
  [[ -n $RESP_PID ]] && stop_pid "$RESP_PID" KILL
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

# --- measurements -----------------------------------------------------------------------------

CLK_TCK=$(getconf CLK_TCK)

# cpu_us PID: utime + stime of every thread of PID, in microseconds (fields 14 and 15 of
# /proc/PID/stat, counted after the ")" that ends the command name)
cpu_us() {
  local s
  s=$(<"/proc/$1/stat")
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo $(((${12} + ${13}) * 1000000 / CLK_TCK))
}

# sched_us PID: run time of every live thread of PID from the scheduler (first field of
# /proc/PID/task/*/schedstat, nanoseconds), in microseconds: a finer cross-check of cpu_us,
# whose clock ticks are 10 ms (threads that ended are missing; neither daemon ends any here)
sched_us() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s / 1000 }'
}

# rss_kb PID: VmRSS in kB
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# command prefixes that pin the responder and the initiator to a CPU each (PIN=1); arrays, not
# a function, so that $! of a background command is the daemon itself (taskset, ip netns exec
# and sh all exec)
PIN_R=()
PIN_I=()

# --- responders -------------------------------------------------------------------------------

RESP_PID=""

# write_ike_conf MODE
write_ike_conf() {
  local version=2 proposal=$PROPOSAL esp=$ESP
  [[ $1 == v1 ]] && version=1 proposal=$V1_PROPOSAL esp=$V1_ESP
  cat >"$WORK/ike.toml" <<EOF
# generated by bench/handshakes.sh
[daemon]
listen = ["$ADDR_R"]
control_socket = "$WORK/ike.sock"
kernel = "none"
$([[ -n $SHARDS ]] && echo "shards = $SHARDS")
cookie_threshold = $THRESHOLD
block_threshold = $THRESHOLD
init_limit_half_open = $((THRESHOLD * 10))

[connections.bench]
version = $version
local_addrs = ["$ADDR_R"]
remote_addrs = ["%any"]
proposals = "$proposal"

[connections.bench.local]
auth = "psk"
id = "$ID_R"

[connections.bench.remote]
auth = "psk"
id = "$ID_I"

[connections.bench.children.net]
local_ts = ["$TS_R"]
remote_ts = ["$TS_I"]
esp_proposals = "$esp"

[[secrets.ike]]
ids = ["$ID_I", "$ID_R"]
secret = "$PSK"
EOF
  "$IKE" check -c "$WORK/ike.toml" >"$WORK/ike-check.out" 2>&1 ||
    die "ike check refused $WORK/ike.toml: $(cat "$WORK/ike-check.out")"
}

ike_start() {
  rm -f "$WORK/ike.sock"
  "${PIN_R[@]}" ip netns exec "$NS_R" "$IKE" daemon -c "$WORK/ike.toml" --log info \
    </dev/null >>"$WORK/ike.out" 2>"$WORK/ike-$1.log" 9>&- &
  RESP_PID=$!
  disown "$RESP_PID" # (no "Killed" notice from bash when we SIGKILL it)
  PIDS+=("$RESP_PID")
  poll 100 "$IKE" status -s "$WORK/ike.sock" || die "ike daemon did not come up: $(tail -n 5 "$WORK/ike-$1.log")"
}

# ike_sas RUN: IKE SAs the ike daemon established (responder) and did not close, from its log:
# `ike status --json` cannot list thousands of SAs (its answer is one line, and the client
# stops at 1 MiB: "the daemon's answer is not valid JSON")
ike_sas() {
  local up down
  up=$(grep -c 'IKE SA established .*(responder)' "$WORK/ike-$1.log" || true)
  down=$(grep -c 'IKE SA.* closed' "$WORK/ike-$1.log" || true)
  echo $((up - down))
}

sw() {
  local cmd=$1
  shift
  swanctl "$cmd" --uri "unix://$WORK/swan/charon.vici" "$@"
}

# write_swan_conf MODE
write_swan_conf() {
  local d=$WORK/swan kernel version=2 proposal=$PROPOSAL esp=$ESP
  [[ $1 == v1 ]] && version=1 proposal=$V1_PROPOSAL esp=$V1_ESP
  mkdir -p "$d/run"
  if [[ $1 == child || $1 == v1 ]]; then
    kernel="kernel-libipsec kernel-netlink"
  else
    kernel="kernel-netlink"
  fi
  # openssl before strongSwan's own aes/gcm (AES-NI); an explicit list: /etc/strongswan.d ignored
  cat >"$d/strongswan.conf" <<EOF
# generated by bench/handshakes.sh
charon {
  load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey curve25519 aes sha1 sha2 hmac gcm kdf $kernel socket-default vici
  install_routes = no
  cookie_threshold = $THRESHOLD
  cookie_threshold_ip = $THRESHOLD
  block_threshold = $THRESHOLD
  ikesa_table_size = $SWAN_TABLE
  plugins {
    vici {
      socket = unix://$d/charon.vici
    }
  }
  filelog {
    main {
      path = $d/charon.log
      append = yes
      time_format = %H:%M:%S
      default = 0
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
}
EOF
  cat >"$d/swanctl.conf" <<EOF
# generated by bench/handshakes.sh
connections {
  bench {
    version = $version
    local_addrs = $ADDR_R
    remote_addrs = %any
    proposals = $proposal
    # childless = allow is the default in 5.9.8: a childless initiation is accepted
    local {
      auth = psk
      id = $ID_R
    }
    remote {
      auth = psk
      id = $ID_I
    }
    children {
      net {
        local_ts = $TS_R
        remote_ts = $TS_I
        esp_proposals = $esp
      }
    }
  }
}
secrets {
  ike-bench {
    id-i = $ID_I
    id-r = $ID_R
    secret = "$PSK"
  }
}
EOF
}

swan_start() {
  local d=$WORK/swan
  rm -f "$d/charon.vici"
  echo "=== run $1 $(date +%T) ===" >>"$d/charon.log"
  STRONGSWAN_CONF=$d/strongswan.conf "${PIN_R[@]}" ip netns exec "$NS_R" \
    sh -c 'mount --bind "$1" /run && exec "$2"' sh "$d/run" "$CHARON" \
    >"$d/charon-$1.stdout" 2>&1 9>&- &
  RESP_PID=$!
  disown "$RESP_PID"
  PIDS+=("$RESP_PID")
  poll 100 sw --stats || die "charon did not come up: $(cat "$d/charon-$1.stdout")"
  sw --load-all --file "$d/swanctl.conf" >"$d/load.out" 2>&1 ||
    die "swanctl --load-all failed: $(cat "$d/load.out")"
}

# swan_sas: established IKE SAs at charon (swanctl --stats: "IKE_SAs: N total, M half-open")
swan_sas() {
  sw --stats | awk '/^IKE_SAs:/ { print $2 - $4 }'
}

# ike_children RUN, swan_children: Child SAs the responder installed (MODE=child)
ike_children() { grep -c 'Child SA installed' "$WORK/ike-$1.log" || true; }
# (In IKEv1 charon takes a Quick Mode with the selectors of a Child SA it holds with the same
# peer identity for a rekey of it: the older one shows REKEYED, and stays installed.)
swan_children() { sw --list-sas 2>/dev/null | grep -cE 'reqid [0-9]+, (INSTALLED|REKEYED)' || true; }

# --- one round ----------------------------------------------------------------------------

RESULTS=""  # one line per round: see RESULT_COLUMNS
RESULT_COLUMNS="mode count who run established cpu_us rss_growth_bytes rate_per_s rss_start_kb sched_us"

# round MODE COUNT WHO RUN: start a fresh responder, load it, measure, stop it; adds to RESULTS
round() {
  local mode=$1 count=$2 who=$3 run=$4 load_pid cpu0 rss0 cpu1 rss1 sch0 sch1 out rc=0 est sas
  local tag=$mode-$count-$run child_args=() want_children children
  if [[ $who == ike ]]; then ike_start "$tag"; else swan_start "$tag"; fi
  local proposal=$PROPOSAL
  [[ $mode == child ]] && child_args=(--child --local-ts "$TS_I" --remote-ts "$TS_R" --esp-proposal "$ESP")
  [[ $mode == v1 ]] && proposal=$V1_PROPOSAL child_args=(--ikev1 --child --local-ts "$TS_I" --remote-ts "$TS_R" --esp-proposal "$V1_ESP")
  sleep 0.5 # let the responder settle after loading its configuration
  cpu0=$(cpu_us "$RESP_PID")
  sch0=$(sched_us "$RESP_PID")
  rss0=$(rss_kb "$RESP_PID")
  # in the background and waited for, so that a signal interrupts the wait (and cleanup stops it)
  "${PIN_I[@]}" timeout 150 ip netns exec "$NS_I" "$IKE_LOAD" --local "$ADDR_I" --remote "$ADDR_R" \
    --local-id "$ID_I" --remote-id "$ID_R" --psk "$PSK" --ike-proposal "$proposal" \
    --count "$count" --in-flight "$IN_FLIGHT" --timeout 120 "${child_args[@]}" \
    </dev/null >"$WORK/load.out" 2>>"$WORK/load.err" 9>&- &
  load_pid=$!
  PIDS+=("$load_pid")
  local perf_pid=""
  if [[ $PERF == 1 && $who == ike ]]; then
    perf record -q -e cpu-clock -g -p "$RESP_PID" -o "$WORK/perf-$tag.data" >/dev/null 2>&1 &
    perf_pid=$!
    PIDS+=("$perf_pid")
  fi
  wait "$load_pid" || rc=$?
  if [[ -n $perf_pid ]]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    mkdir -p "$TARGET/bench"
    perf report -q -i "$WORK/perf-$tag.data" --no-children --sort symbol --stdio -g none 2>/dev/null |
      head -n 60 >"$TARGET/bench/perf-$tag.txt" || true
    log "perf profile of ike $tag: $TARGET/bench/perf-$tag.txt"
  fi
  stop_pid "$load_pid"
  out=$(<"$WORK/load.out")
  sleep 0.5 # let the responder finish its last message and settle
  # ... and, if it still works (an IKEv1 responder installs after Quick Mode's last message,
  # charon's kernel-libipsec installs in userspace), until it is idle: two CPU readings 0.5 s
  # apart within 5 ms, at most 30 s
  local c_a c_b i
  for ((i = 0; i < 60; i++)); do
    c_a=$(cpu_us "$RESP_PID")
    sleep 0.5
    c_b=$(cpu_us "$RESP_PID")
    ((c_b - c_a < 5000)) && break
  done
  alive "$RESP_PID" || die "$who (pid $RESP_PID) died during the load"
  # read before anything else asks the responder for anything
  cpu1=$(cpu_us "$RESP_PID")
  sch1=$(sched_us "$RESP_PID")
  rss1=$(rss_kb "$RESP_PID")
  [[ -n $out ]] || die "$who $tag: ike-load printed nothing (exit $rc): $(tail -n 3 "$WORK/load.err")"
  echo "$who $tag $out" >>"$WORK/load.jsonl"
  est=$(jq .established <<<"$out")
  if [[ $who == ike ]]; then sas=$(ike_sas "$tag"); else sas=$(swan_sas); fi
  log "$who $tag: ike-load: $(jq -c '{established, failed, failures, children, child_failed, closed_after_established, cookies, elapsed_s, rate}' <<<"$out"); the responder holds $sas IKE SAs"
  [[ $(jq .cookies <<<"$out") == 0 ]] ||
    log "WARNING: $who demanded cookies: an extra round trip per SA (raise THRESHOLD above IN_FLIGHT)"
  [[ $rc == 0 ]] || die "$who $tag: ike-load exit $rc (not every SA established)"
  [[ $sas == "$est" ]] || die "$who $tag: the responder holds $sas IKE SAs, ike-load established $est"
  if [[ $mode == child || $mode == v1 ]]; then
    want_children=$(jq .children <<<"$out")
    if [[ $who == ike ]]; then children=$(ike_children "$tag"); else children=$(swan_children); fi
    [[ $children == "$want_children" ]] ||
      die "$who $tag: the responder installed $children Child SAs, ike-load $want_children$([[ $who == swan ]] && printf '; charon'"'"'s Child SA states: %s' "$(sw --list-sas 2>/dev/null | grep -oE 'reqid [0-9]+, [A-Z_]+'| awk '{print $3}' | sort | uniq -c | tr '\n' ' ')")"
  fi
  # SIGKILL: a graceful stop would send COUNT deletes to an initiator that is gone
  stop_pid "$RESP_PID" KILL
  RESP_PID=""
  RESULTS+="$mode $count $who $run $est $((cpu1 - cpu0)) $(((rss1 - rss0) * 1024)) $(jq .rate <<<"$out") $rss0 $((sch1 - sch0))"$'\n'
}

# --- report -------------------------------------------------------------------------------

# median of the numbers on stdin
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# report MODE COUNT: the medians and ratios of the rounds of MODE and COUNT
report() {
  local mode=$1 count=$2 rows
  rows=$(awk -v m="$mode" -v n="$count" '$1 == m && $2 == n' <<<"$RESULTS")
  # per_sa WHO COLUMN: COLUMN / established of each round of WHO; col WHO COLUMN: as is
  per_sa() { awk -v who="$1" -v c="$2" '$3 == who { printf "%.1f\n", $c / $5 }' <<<"$rows"; }
  col() { awk -v who="$1" -v c="$2" '$3 == who { print $c }' <<<"$rows"; }
  local ike_cpu sw_cpu ike_sch sw_sch ike_mem sw_mem ike_rate sw_rate
  ike_cpu=$(per_sa ike 6 | median)
  sw_cpu=$(per_sa swan 6 | median)
  ike_sch=$(per_sa ike 10 | median)
  sw_sch=$(per_sa swan 10 | median)
  ike_mem=$(per_sa ike 7 | median)
  sw_mem=$(per_sa swan 7 | median)
  ike_rate=$(col ike 8 | median)
  sw_rate=$(col swan 8 | median)
  echo
  if [[ $mode == v1 ]]; then
    echo "IKEv1 responder, Main Mode + Quick Mode, PSK $V1_PROPOSAL, ESP $V1_ESP: $count ISAKMP SAs per round, median of $RUNS rounds"
  else
    echo "IKEv2 responder, $mode, PSK $PROPOSAL: $count IKE SAs per round, median of $RUNS rounds"
  fi
  printf '  %-24s %10s %11s %8s\n' "" ike strongSwan ratio
  printf '  %-24s %10s %11s %8s\n' "CPU us per IKE SA" "$ike_cpu" "$sw_cpu" "$(ratio "$sw_cpu" "$ike_cpu")"
  printf '  %-24s %10s %11s %8s\n' "  (schedstat check)" "$ike_sch" "$sw_sch" "$(ratio "$sw_sch" "$ike_sch")"
  printf '  %-24s %10s %11s %8s\n' "RSS growth bytes per SA" "$ike_mem" "$sw_mem" "$(ratio "$sw_mem" "$ike_mem")"
  printf '  %-24s %10s %11s %8s\n' "IKE SAs per second" "$ike_rate" "$sw_rate" "$(ratio "$ike_rate" "$sw_rate")"
  if [[ $mode == childless && -n $FLOOR_US ]]; then
    printf '  %-24s %10s   (ike CPU per SA / floor: %s; < 2 is the target)\n' "crypto floor us per SA" "$FLOOR_US" "$(ratio "$ike_cpu" "$FLOOR_US")"
  fi
}

# --- main -------------------------------------------------------------------------------------

[[ $(id -u) == 0 ]] || die "must run as root (network namespaces): sudo bash $0"
for cmd in ip swanctl jq bc taskset getconf timeout flock "$CHARON"; do
  command -v "$cmd" >/dev/null || die "missing $cmd"
done
[[ -x $IKE && -x $IKE_LOAD && -x $CRYPTO_FLOOR ]] ||
  die "missing $IKE, $IKE_LOAD or $CRYPTO_FLOOR: run 'cargo build --release --bin ike --bin ike-load --bin ike-crypto-floor' first"
for m in $MODE; do
  case $m in childless | child | v1) ;; *) die "MODE must be childless, child, v1, both or all" ;; esac
done
for n in $COUNT; do [[ $n =~ ^[1-9][0-9]*$ ]] || die "COUNT must be numbers"; done
[[ $PIN != 1 || $(nproc) -ge 2 ]] || PIN=0
if [[ $PIN == 1 ]]; then
  PIN_R=(taskset -c 1)
  PIN_I=(taskset -c 0)
  SHARDS=${SHARDS:-1}
fi

exec 9>/run/ike-bench.lock
flock -w 60 9 || die "another bench/handshakes.sh holds /run/ike-bench.lock"
trap cleanup EXIT
trap 'exit 130' INT TERM
WORK=$(mktemp -d /tmp/ike-bench.XXXXXX)
ns_up
log "modes: $MODE; IKE SAs per round: $COUNT; $IN_FLIGHT in flight; $RUNS rounds each; $(nproc) CPUs, pinned: $PIN; ike shards: ${SHARDS:-one per core}; work dir $WORK"
log "$("$CHARON" --version 2>/dev/null | head -n 1 || echo "charon ?"), $("$IKE" --version)"

for mode in $MODE; do
  write_ike_conf "$mode"
  write_swan_conf "$mode"
  for count in $COUNT; do
    # interleaved, so that a change in the machine's load hits both alike
    for ((r = 1; r <= RUNS; r++)); do
      round "$mode" "$count" ike "$r"
      round "$mode" "$count" swan "$r"
    done
  done
done

# The crypto floor on the responder's CPU, after the rounds (same machine, same run).
FLOOR_US=$("${PIN_R[@]}" "$CRYPTO_FLOOR" --count 20000 | jq -r .us_per_handshake) || FLOOR_US=""
log "crypto floor (ike-crypto-floor, 20000 responder handshakes' crypto): $FLOOR_US us each"

mkdir -p "$TARGET/bench"
{
  echo "# bench/handshakes.sh $(date -u +%FT%TZ) in_flight=$IN_FLIGHT pin=$PIN swan_table=$SWAN_TABLE threshold=$THRESHOLD"
  echo "# $RESULT_COLUMNS"
  printf '%s' "$RESULTS"
} >"$TARGET/bench/handshakes.txt"

echo
echo "Responder cost, ike daemon vs strongSwan $("$CHARON" --version 2>/dev/null | awk '{ print $NF; exit }') in the same run ($(date -u +%F), $(nproc) CPUs)."
echo "Ratios: strongSwan / ike for CPU and memory, ike / strongSwan for SAs per second;"
echo "> 1 means ike is better (uses less, or is faster)."
echo "Only the ratios carry over to another machine; the absolute figures are this one's, today."
for mode in $MODE; do
  for count in $COUNT; do report "$mode" "$count"; done
done
echo
echo "per round ($RESULT_COLUMNS):"
printf '%s' "$RESULTS" | sed 's/^/  /'
echo "raw figures: $TARGET/bench/handshakes.txt"
