# tests/uml/guest-lib.sh - helpers for the scripts that run inside the UML guest (sourced).
#
# The scripts run as `tests/uml/boot.sh tests/uml/NAME.sh` (they refuse to run on the host: the
# host kernel has no ESP, and they are meant for a throw-away kernel). Each one builds two network
# namespaces joined by a veth pair inside the guest, checks things with `check`/`check_eq`
# (counting failures and going on), and ends with `finish`, whose exit status boot.sh passes on.
# An EXIT trap stops every process the script started (by PID) and deletes its namespaces, on
# failure too; every wait is a bounded polling loop.
#
# Traffic is checked with net.py (beside this file): `ping` sends ICMP echo requests whose payload
# is a known pattern, `sniff` counts on a veth which frames were ESP and whether the pattern
# crossed in the clear.

set -euo pipefail

UML_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=${REPO:-$(cd "$UML_DIR/../.." && pwd)}
PY=${PYTHON:-python3}
NETPY=$UML_DIR/net.py
PATTERN=696b652d756d6c2d # "ike-uml-", the ping payload; net.py's default too

SCEN=$(basename "$0" .sh)
T0=$EPOCHREALTIME
CHECKS=0
FAILURES=0
PIDS=()
NSES=()
SNIFF_PID=""

# seconds since T0 (or since $1), one decimal; no fork: a process start costs ~20 ms in the guest
elapsed() {
  local now=${EPOCHREALTIME/[.,]/} since=${1:-$T0} d
  d=$(((now - ${since/[.,]/}) / 100000))
  printf '%d.%d' $((d / 10)) $((d % 10))
}
log() { printf '[%s %5ss] %s\n' "$SCEN" "$(elapsed)" "$*" >&2; }
die() {
  log "FATAL: $*"
  exit 1
}

if [[ ${UML_GUEST:-} != 1 ]] || ! grep -q 'rootfstype=hostfs' /proc/cmdline; then
  echo "$SCEN: runs inside the UML guest only: tests/uml/boot.sh $0" >&2
  exit 2
fi
for tool in ip "$PY" jq awk; do
  command -v "$tool" >/dev/null || die "needs $tool"
done
WORK=${UML_WORK:?}/$SCEN
mkdir -p "$WORK"

# --- assertions ---------------------------------------------------------------------------------

# check DESCRIPTION CMD...: run CMD (its output goes to the log file), count a failure if it fails
check() {
  local what=$1
  shift
  CHECKS=$((CHECKS + 1))
  if "$@" >>"$WORK/check.out" 2>&1; then
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

# check_ge DESCRIPTION MINIMUM ACTUAL (integers)
check_ge() {
  CHECKS=$((CHECKS + 1))
  if [[ $3 =~ ^[0-9]+$ ]] && (($3 >= $2)); then
    log "ok   $1 ($3 >= $2)"
  else
    FAILURES=$((FAILURES + 1))
    log "FAIL $1: expected at least $2, got '$3'"
  fi
}

# the last line of every scenario: the summary and the exit status
finish() {
  if ((FAILURES)); then
    log "FAILED: $FAILURES of $CHECKS checks"
    exit 1
  fi
  log "PASSED: $CHECKS checks"
  exit 0
}

# --- processes and namespaces -------------------------------------------------------------------

alive() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $st && $st != Z* ]]
}

# stop_pid PID [SIGNAL]: signal, up to 5 s, then SIGKILL; reap
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
      log "pid $pid ignored SIG$sig, killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

# poll TRIES CMD...: every 0.1 s until CMD succeeds, at most TRIES times
poll() {
  local tries=$1 i
  shift
  for ((i = 0; i < tries; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

guest_cleanup() {
  local rc=$? pid ns
  set +e
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  for ns in "${NSES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do stop_pid "$pid"; done
    ip netns del "$ns" 2>/dev/null
  done
  exit "$rc"
}
trap guest_cleanup EXIT
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM

# netns_pair NS_A NS_B DEV_A DEV_B ADDR_A/LEN ADDR_B/LEN: two namespaces joined by a veth pair,
# loopback up in both
netns_pair() {
  local a=$1 b=$2 da=$3 db=$4 aa=$5 ab=$6
  ip netns add "$a"
  NSES+=("$a")
  ip netns add "$b"
  NSES+=("$b")
  ip -n "$a" link add "$da" type veth peer name "$db" netns "$b"
  ip -n "$a" link set lo up
  ip -n "$b" link set lo up
  ip -n "$a" addr add "$aa" dev "$da"
  ip -n "$b" addr add "$ab" dev "$db"
  ip -n "$a" link set "$da" up
  ip -n "$b" link set "$db" up
}

# --- traffic ------------------------------------------------------------------------------------

# ping_from NS SRC DST [COUNT]: ICMP echo with the pattern payload; its output goes to the log
ping_from() {
  ip netns exec "$1" "$PY" "$NETPY" ping "$3" --src "$2" --count "${4:-3}" --pattern "$PATTERN" \
    --interval "${5:-0.1}" >&2
}

# sniff_start NS DEV NAME: count frames on DEV (in NS) from now until sniff_stop; the summary goes
# to $WORK/NAME.json
sniff_start() {
  local ns=$1 dev=$2 name=$3
  rm -f "$WORK/$name.json" "$WORK/$name.ready"
  ip netns exec "$ns" "$PY" "$NETPY" sniff "$dev" --out "$WORK/$name.json" --pattern "$PATTERN" \
    --seconds 120 >"$WORK/$name.ready" 2>"$WORK/$name.err" &
  SNIFF_PID=$!
  PIDS+=("$SNIFF_PID")
  poll 100 grep -q ready "$WORK/$name.ready" || die "the sniffer on $ns/$dev did not start: $(cat "$WORK/$name.err")"
}

# sniff_stop NAME: stop the sniffer, wait for its summary
sniff_stop() {
  local name=$1
  kill -TERM "$SNIFF_PID" 2>/dev/null || true
  poll 50 test -s "$WORK/$name.json" || die "the sniffer wrote no summary: $(cat "$WORK/$name.err")"
  stop_pid "$SNIFF_PID"
  SNIFF_PID=""
  log "sniffed $name: $(cat "$WORK/$name.json")"
}

# sniffed NAME JQ-FILTER: a value from a sniffer summary
sniffed() { jq -r "$2" "$WORK/$1.json"; }

# sa_counter NS SPI bytes|packets: the kernel's counter of the SA with that SPI (0x... or hex),
# from `ip -s xfrm state`; empty if there is no such SA
sa_counter() {
  local ns=$1 spi=$((16#${2#0x})) what=$3
  ip -n "$ns" -s xfrm state | awk -v spi="$spi" -v what="$what" '
    /^src / { cur = "" }
    / spi 0x/ { cur = $0; sub(/.* spi 0x[0-9a-f]+\(/, "", cur); sub(/\).*/, "", cur) }
    /lifetime current:/ { want = (cur == spi); next }
    want && /\(bytes\)/ {
      gsub(/[(),a-z]/, " "); split($0, f, " ")
      print (what == "bytes" ? f[1] : f[2]); exit
    }'
}
