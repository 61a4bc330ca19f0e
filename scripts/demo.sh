#!/usr/bin/env bash
# scripts/demo.sh - ike negotiates a tunnel between two gateways, each in its own network namespace.
#
#   sudo scripts/demo.sh                    ike <-> ike
#   sudo scripts/demo.sh --with-strongswan  ike <-> an isolated strongSwan charon
#   sudo scripts/demo.sh --keep             leave it running to explore; --stop ends it
#
# Gateway A (namespace ikedemo-a, 10.77.0.1) runs `ike daemon` with a copy of
# examples/site-to-site-psk.toml; gateway B (ikedemo-b, 10.77.0.2) runs `ike daemon` with
# examples/site-to-site-psk-b.toml, or strongSwan's charon with the same settings in swanctl.conf.
# The copies differ from the examples only where a demo must: kernel = "none" (negotiate, log
# what would be installed, install nothing), a control socket in the work directory, and A's
# child not started by the daemon itself, so that `ike up` is what brings the tunnel up.
# Then: `ike up` on A, the status of both sides, `ike down`, and everything is removed.
#
# Needs root (namespaces, UDP 500) and iproute2; --with-strongswan needs strongswan-charon,
# strongswan-swanctl and strongSwan's plugin packages (scripts/test.sh installs them).
# Every wait is bounded; an EXIT trap stops what was started (by PID) and deletes the namespaces,
# on failure too; a leftover of an interrupted or --keep run is removed first.
# Environment: IKE=PATH uses that binary instead of building target/release/ike.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

NS_A=ikedemo-a
NS_B=ikedemo-b
VETH_A=ikedemo-va
VETH_B=ikedemo-vb
A4=10.77.0.1 # the addresses examples/site-to-site-psk*.toml use
B4=10.77.0.2
STATE=/run/ikedemo.dir # the work directory of a run that may still be going (--keep)
LOCK=/run/ikedemo.lock
CHARON=${CHARON:-/usr/lib/ipsec/charon}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

SWAN=0
KEEP=0
STOP=0
for arg in "$@"; do
  case $arg in
  --with-strongswan) SWAN=1 ;;
  --keep) KEEP=1 ;;
  --stop) STOP=1 ;;
  -h | --help) usage; exit 0 ;;
  *) echo "demo.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

elapsed() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
if [[ -t 1 ]]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
say() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
fail() {
  echo "demo.sh: $*" >&2
  exit 1
}

[[ $(id -u) == 0 ]] || { echo "demo.sh: needs root (network namespaces, UDP 500): sudo $0 $*" >&2; exit 2; }
command -v ip >/dev/null || { echo "demo.sh: needs ip (apt-get install iproute2)" >&2; exit 2; }
if ((SWAN)); then
  if [[ ! -x $CHARON ]] || ! command -v swanctl >/dev/null ||
    [[ ! -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ]] ||
    [[ ! -e /usr/lib/ipsec/plugins/libstrongswan-curve25519.so ]]; then
    echo "demo.sh: strongSwan is not installed: install strongswan-charon strongswan-swanctl" \
      "libcharon-extra-plugins libstrongswan-standard-plugins libstrongswan-extra-plugins" \
      "(apt-get install ...), or run scripts/test.sh first" >&2
    exit 2
  fi
fi

# --- processes and namespaces ---------------------------------------------------------------

alive() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $st && $st != Z* ]]
}

# stop_pid PID: SIGTERM, up to 5 s, then SIGKILL
stop_pid() {
  local pid=$1 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# remove a previous run: the processes inside our namespaces (by PID), the namespaces, its work
# directory
teardown() {
  local ns pid old
  for ns in "$NS_A" "$NS_B"; do
    ip netns list | grep -qw "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do stop_pid "$pid"; done
    ip netns del "$ns" 2>/dev/null || true
  done
  if [[ -f $STATE ]]; then
    old=$(cat "$STATE")
    [[ $old == /tmp/ikedemo.* && -d $old ]] && rm -rf "$old"
    rm -f "$STATE"
  fi
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

exec 9>"$LOCK"
flock -w 60 9 || fail "another demo.sh holds $LOCK"

if ((STOP)); then
  teardown
  echo "demo.sh: stopped (namespaces $NS_A and $NS_B removed)"
  exit 0
fi

# --- build ------------------------------------------------------------------------------------

if [[ -n ${IKE:-} ]]; then
  [[ -x $IKE ]] || fail "IKE=$IKE is not an executable"
else
  IKE=$REPO/target/release/ike
  cargo=$(command -v cargo || true)
  [[ -n $cargo ]] || for c in "$HOME/.cargo/bin/cargo" ${SUDO_USER:+"$(getent passwd "$SUDO_USER" | cut -d: -f6)/.cargo/bin/cargo"}; do
    [[ -x $c ]] && cargo=$c && break
  done
  if [[ -n $cargo ]]; then
    echo "building ike (cargo build --release -p ike) ..."
    "$cargo" build --release --quiet -p ike || fail "the build failed"
  elif [[ ! -x $IKE ]]; then
    fail "cargo not found: build with 'cargo build --release -p ike' first, or set IKE=PATH"
  fi
fi

T0=$EPOCHREALTIME # (after the build)
teardown
WORK=$(mktemp -d /tmp/ikedemo.XXXXXX)
echo "$WORK" >"$STATE"
PIDS=()
OK=0

cleanup() {
  local rc=$? pid
  set +e
  if ((KEEP && OK)); then exit "$rc"; fi
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  teardown
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "demo.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT TERM

show_logs() {
  local f
  for f in "$WORK/a.log" "$WORK/b.log" "$WORK/swan/charon.log"; do
    [[ -f $f ]] || continue
    echo "--- last lines of ${f#"$WORK"/}:" >&2
    tail -n 15 "$f" >&2
  done
}

# the tunnel did not come up (or something else went wrong): say so, show the logs, exit 1
give_up() {
  echo >&2
  echo "demo.sh: FAILED: $*" >&2
  show_logs
  exit 1
}

# --- namespaces ---------------------------------------------------------------------------------

ip netns add "$NS_A"
ip netns add "$NS_B"
ip -n "$NS_A" link add "$VETH_A" type veth peer name "$VETH_B" netns "$NS_B"
for side in "$NS_A $VETH_A $A4 10.88.1.1" "$NS_B $VETH_B $B4 10.88.2.1"; do
  read -r ns dev addr host <<<"$side"
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr/24" dev "$dev"
  ip -n "$ns" addr add "$host/32" dev lo # a host in the subnet the gateway protects
  ip -n "$ns" link set "$dev" up
done

# --- configurations ----------------------------------------------------------------------------

adapt() { # adapt EXAMPLE SIDE: the example with the demo's differences (see the top)
  sed -e "s#^control_socket = .*#control_socket = \"$WORK/$2.sock\"#" \
    -e 's/^kernel = "xfrm".*/kernel = "none"                    # demo: negotiate, install nothing/' \
    -e 's/^start_action = "start".*/start_action = "none"              # demo: `ike up` starts it/' \
    "examples/$1" >"$WORK/$2.toml"
  grep -q "^control_socket = \"$WORK/$2.sock\"" "$WORK/$2.toml" &&
    grep -q '^kernel = "none"' "$WORK/$2.toml" || fail "could not adapt examples/$1"
}
adapt site-to-site-psk.toml a
if ((SWAN)); then
  PEER="strongSwan $(timeout 5 "$CHARON" --version 2>/dev/null | awk '{print $NF; exit}' || true)"
else
  adapt site-to-site-psk-b.toml b
  PEER="ike"
fi

# --- start the daemons -------------------------------------------------------------------------

start_ike() { # start_ike SIDE NS
  ip netns exec "$2" "$IKE" daemon -c "$WORK/$1.toml" \
    </dev/null >"$WORK/$1.out" 2>"$WORK/$1.log" 9>&- &
  PIDS+=($!)
  local pid=$! i
  for ((i = 0; i < 100; i++)); do
    "$IKE" status -s "$WORK/$1.sock" >/dev/null 2>&1 && return 0
    alive "$pid" || break
    sleep 0.1
  done
  give_up "the ike daemon of side ${1^^} did not start"
}

# swanctl against the demo's charon
sw() {
  local cmd=$1
  shift
  swanctl "$cmd" --uri "unix://$WORK/swan/charon.vici" "$@"
}

start_strongswan() {
  local d=$WORK/swan secret
  mkdir -p "$d/run"
  # charon isolated as tests/interop/lib.sh runs it: its own strongswan.conf with an explicit
  # plugin list (/etc/strongswan.d is not read), its own /run (bind mount inside its namespace),
  # vici socket and log file; kernel-libipsec installs the Child SAs in userspace (this kernel
  # may have no ESP)
  cat >"$d/strongswan.conf" <<EOF
charon {
  load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints curve25519 aes sha1 sha2 md5 hmac gcm kdf attr kernel-libipsec kernel-netlink socket-default vici
  install_routes = yes
  retransmit_tries = 3
  retransmit_timeout = 1.0
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
      ike = 2
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
}
EOF
  # examples/site-to-site-psk-b.toml in swanctl.conf's words
  secret=$(sed -n 's/^secret = "\([^"]*\)".*/\1/p' examples/site-to-site-psk-b.toml)
  [[ -n $secret ]] || fail "no secret in examples/site-to-site-psk-b.toml"
  cat >"$d/swanctl.conf" <<EOF
connections {
  site-a {
    version = 2
    local_addrs = $B4
    remote_addrs = $A4
    proposals = aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048
    local {
      auth = psk
      id = b.example.org
    }
    remote {
      auth = psk
      id = a.example.org
    }
    children {
      net {
        local_ts = 10.88.2.0/24
        remote_ts = 10.88.1.0/24
        esp_proposals = aes128gcm16-x25519, aes256-sha256-modp2048
      }
    }
  }
}
secrets {
  ike-demo {
    id-a = a.example.org
    id-b = b.example.org
    secret = $secret
  }
}
EOF
  STRONGSWAN_CONF=$d/strongswan.conf ip netns exec "$NS_B" \
    sh -c 'mount --bind "$1" /run && exec "$2"' sh "$d/run" "$CHARON" \
    </dev/null >"$d/charon.out" 2>&1 9>&- &
  PIDS+=($!)
  poll 100 sw --stats || { cat "$d/charon.out" >&2; give_up "strongSwan's charon did not start"; }
  sw --load-all --file "$d/swanctl.conf" >"$d/load.out" 2>&1 ||
    { cat "$d/load.out" >&2; give_up "swanctl --load-all failed"; }
}

say "Gateway A: ike in namespace $NS_A ($A4, protects 10.88.1.0/24)"
echo "   config: examples/site-to-site-psk.toml (adapted copy: $WORK/a.toml)"
start_ike a "$NS_A"
say "Gateway B: $PEER in namespace $NS_B ($B4, protects 10.88.2.0/24)"
if ((SWAN)); then
  echo "   config: examples/site-to-site-psk-b.toml as swanctl.conf: $WORK/swan/swanctl.conf"
  echo "   (its kernel-libipsec backend fakes a NAT: IKE moves to UDP 4500, ESP would be in UDP)"
  start_strongswan
else
  echo "   config: examples/site-to-site-psk-b.toml (adapted copy: $WORK/b.toml)"
  start_ike b "$NS_B"
fi

# --- the tunnel -----------------------------------------------------------------------------------

A_SOCK=$WORK/a.sock
B_SOCK=$WORK/b.sock

b_up() { # B lists an ESTABLISHED IKE SA with an INSTALLED Child SA
  local s
  if ((SWAN)); then s=$(sw --list-sas 2>/dev/null); else s=$("$IKE" status -s "$B_SOCK" 2>/dev/null); fi
  grep -q ESTABLISHED <<<"$s" && grep -q INSTALLED <<<"$s"
}
b_empty() {
  if ((SWAN)); then
    ! sw --list-sas 2>/dev/null | grep -q ESTABLISHED
  else
    [[ $("$IKE" status --json -s "$B_SOCK" 2>/dev/null | tr -d ' \n') == *'"ike_sas":[]'* ]]
  fi
}
show_b() {
  if ((SWAN)); then
    say "B: swanctl --list-sas"
    sw --list-sas
  else
    say "B: ike status"
    "$IKE" status -s "$B_SOCK"
  fi
}

say "A: ike up site-b   (IKE_SA_INIT and IKE_AUTH with B; waits until the tunnel is up)"
"$IKE" up site-b -s "$A_SOCK" --timeout 15 || give_up "the tunnel did not come up (ike up failed)"
poll 50 b_up || give_up "A says the tunnel is up, but B does not list it"

say "A: ike status"
"$IKE" status -s "$A_SOCK"
show_b
say "A: ike status --json"
"$IKE" status --json -s "$A_SOCK"
say "A: the daemon's log (kernel = \"none\": it logs the SAs it would install)"
cat "$WORK/a.log"

if ((KEEP)); then
  OK=1
  say "Left running (--keep), $(elapsed) s"
  cat <<EOF
   ike=$IKE
   \$ike status -s $A_SOCK          # A (also --json)
   \$ike down site-b -s $A_SOCK     # then \$ike up site-b -s ... again
EOF
  if ((SWAN)); then
    echo "   swanctl --list-sas --uri unix://$WORK/swan/charon.vici   # B"
  else
    echo "   \$ike status -s $B_SOCK          # B"
  fi
  cat <<EOF
   logs: $WORK/a.log $( ((SWAN)) && echo "$WORK/swan/charon.log" || echo "$WORK/b.log")
   stop everything: $0 --stop
EOF
  exit 0
fi

say "A: ike down site-b   (deletes the IKE SA and its Child SA, telling B)"
"$IKE" down site-b -s "$A_SOCK" --timeout 15 || give_up "ike down failed"
poll 50 b_empty || give_up "B still lists the IKE SA after ike down"
if ((SWAN)); then
  say "B: swanctl --list-sas (after ike down: nothing)"
  out=$(sw --list-sas)
  echo "${out:-(no SAs)}"
else
  say "B: ike status (after ike down: nothing)"
  "$IKE" status -s "$B_SOCK"
fi

OK=1
say "OK: tunnel up and down between ike and $PEER in $(elapsed) s; cleaning up"
