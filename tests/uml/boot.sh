#!/usr/bin/env bash
# tests/uml/boot.sh - run a script inside a user-mode Linux guest: a real Linux 6.1 kernel with
# ESP, AH and the XFRM crypto, as an ordinary process, for tests this host's kernel cannot run.
#
#   tests/uml/boot.sh [--timeout SECONDS] GUEST_SCRIPT [ARGS...]    exit status: the script's
#   tests/uml/boot.sh --probe                                       exit 0 if a guest can boot
#
# The guest's root is the host's / through hostfs (read-write: files the guest writes land on the
# host; the repository and the work directory are at the same paths inside). Its init, written
# here, mounts proc, sysfs, devpts and a private tmpfs on /run (so that `ip netns` in the guest
# never touches the host's /run), points /proc/sys/kernel/modprobe at a wrapper that loads the
# UML kernel's modules (esp4, veth, gcm... load on demand), loads ipv6, and runs
# `bash GUEST_SCRIPT ARGS...` in the repository. The script's exit status comes back through a
# file in the work directory; then the guest powers off.
#
# Guest output (the script's stdout and stderr, and kernel warnings) goes to this script's
# stdout as it happens (UML console con0 on fd 1). Everything is bounded: the guest is killed
# (its process group, by PID) when the timeout runs out (exit status 124), and on any failure.
#
# The guest runs with LD_PRELOAD of xstate_preload.c, compiled here into the work directory: on
# hosts with AMX, stock UML 6.1 panics at its first process without it (see that file).
#
# Needs the packages user-mode-linux (linux.uml and its modules) and kmod (modprobe), and gcc.
# The guest runs as root inside; what it writes to the host's files, it writes as the user who
# runs this script (root for the tests: they write into the repository's target/). Environment:
#   UML_KERNEL=/usr/bin/linux.uml   UML_MEM=512M   UML_TIMEOUT=120 (seconds, like --timeout)
#   KEEP_WORK=1    keep the work directory (/tmp/ike-uml.*) even on success (always on failure)
#   IKE=PATH       passed to the guest (the ike binary the guest tests use), and PYTHON (the host's
#                  python3 interpreter, for tests/uml/net.py)
#   UML_DEBUG=1    the shim prints the XSAVE sizes; kernel messages are not quieted
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO/tests/uml
UML_KERNEL=${UML_KERNEL:-/usr/bin/linux.uml}
UML_MEM=${UML_MEM:-512M}
TIMEOUT=${UML_TIMEOUT:-120}
KEEP_WORK=${KEEP_WORK:-0}
UML_DEBUG=${UML_DEBUG:-0}

say() { echo "uml: $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

PROBE=0
while (($#)); do
  case $1 in
  --timeout) TIMEOUT=${2:?--timeout needs a number of seconds}; shift 2 ;;
  --probe) PROBE=1; shift ;;
  -h | --help) usage; exit 0 ;;
  --) shift; break ;;
  -*) say "unknown option $1 (see --help)"; exit 2 ;;
  *) break ;;
  esac
done
if ((PROBE)); then
  (($# == 0)) || { say "--probe takes no script"; exit 2; }
  GUEST=(true)
else
  (($# >= 1)) || { usage >&2; exit 2; }
  [[ -f $1 ]] || { say "no guest script $1"; exit 2; }
  GUEST=(bash "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")" "${@:2}")
fi
[[ $TIMEOUT =~ ^[0-9]+$ ]] || { say "timeout must be a number of seconds"; exit 2; }

# --- prerequisites (installed by scripts/test.sh, not here) --------------------------------------

missing=()
[[ -x $UML_KERNEL ]] || missing+=("user-mode-linux ($UML_KERNEL)")
MODPROBE=$(PATH=/usr/sbin:/sbin:$PATH command -v modprobe || true)
[[ -n $MODPROBE ]] || missing+=("kmod (modprobe)")
command -v gcc >/dev/null || missing+=(gcc)
if ((${#missing[@]})); then
  say "missing: ${missing[*]}: apt-get install user-mode-linux kmod gcc"
  exit 2
fi
# the modules that go with the kernel: /usr/lib/uml/modules/VERSION
KVER=$("$UML_KERNEL" --version 2>/dev/null | head -n 1 || true)
MODS=/usr/lib/uml/modules/$KVER
[[ -n $KVER && -f $MODS/modules.dep ]] || MODS=""
[[ -n $MODS ]] || { say "no modules for $UML_KERNEL (version '$KVER') under /usr/lib/uml/modules"; exit 2; }

# --- work directory, the shim, init ---------------------------------------------------------------

WORK=$(mktemp -d /tmp/ike-uml.XXXXXX)
UML_PID=""
T0=$EPOCHREALTIME
elapsed() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# stop the guest: its whole process group (UML's helpers and the host processes that run guest
# processes), leader first by PID
stop_uml() {
  local i
  [[ -n $UML_PID ]] || return 0
  if kill -0 "$UML_PID" 2>/dev/null; then
    kill -TERM -- "-$UML_PID" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
      kill -0 "$UML_PID" 2>/dev/null || break
      sleep 0.1
    done
  fi
  kill -KILL -- "-$UML_PID" 2>/dev/null || true
  wait "$UML_PID" 2>/dev/null || true
  UML_PID=""
}

cleanup() {
  local rc=$?
  set +e
  stop_uml
  if ((rc == 0 && !KEEP_WORK)); then
    rm -rf "$WORK"
  else
    say "work directory kept: $WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o "$WORK/xstate_preload.so" "$HERE/xstate_preload.c" -ldl

# modprobe inside the guest: the UML modules as if they were /lib/modules/VERSION
mkdir -p "$WORK/modules/lib/modules"
ln -s "$MODS" "$WORK/modules/lib/modules/$KVER"
cat >"$WORK/modprobe" <<EOF
#!/bin/sh
exec $MODPROBE -d $WORK/modules "\$@"
EOF
chmod +x "$WORK/modprobe"

# init, PID 1 of the guest; it must not exit before the power-off (the kernel panics if it does)
{
  echo '#!/bin/bash'
  echo "# generated by $0"
  echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8'
  printf 'export UML_WORK=%q REPO=%q UML_GUEST=1\n' "$WORK" "$REPO"
  if [[ -n ${IKE:-} ]]; then printf 'export IKE=%q\n' "$(realpath -m "$IKE")"; fi
  # the guest's PATH has no pyenv shims (slow there anyway): the interpreter itself
  py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
  if [[ -n $py ]]; then printf 'export PYTHON=%q\n' "$py"; fi
  printf 'export KEEP_WORK=%q\n' "$KEEP_WORK"
  printf 'GUEST=(%s)\n' "$(printf '%q ' "${GUEST[@]}")"
  cat <<'EOF'
stty -onlcr 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# /dev is the guest kernel's devtmpfs: add what programs expect besides device nodes
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
[[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin; ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
mount -t tmpfs -o mode=0755 tmpfs /run
echo "$UML_WORK/modprobe" >/proc/sys/kernel/modprobe
"$UML_WORK/modprobe" ipv6 || echo "uml init: modprobe ipv6 failed" >&2
ip link set lo up
echo "uml init: booted in $(cut -d' ' -f1 /proc/uptime) s (guest uptime); running ${GUEST[*]}" >&2
cd "$REPO"
rc=0
"${GUEST[@]}" </dev/null || rc=$?
echo "$rc" >"$UML_WORK/rc.tmp" && mv "$UML_WORK/rc.tmp" "$UML_WORK/rc"
sync
echo o >/proc/sysrq-trigger
for ((i = 0; i < 100; i++)); do sleep 0.1; done
EOF
} >"$WORK/init"
chmod +x "$WORK/init"

# --- boot -----------------------------------------------------------------------------------------

args=(mem="$UML_MEM" root=/dev/root rootfstype=hostfs rootflags=/ rw init="$WORK/init"
  con=null con0=null,fd:1 uml_dir="$WORK" umid=ike-uml)
((UML_DEBUG)) || args+=(quiet)
say "booting $UML_KERNEL ($KVER, modules $MODS), work directory $WORK, timeout ${TIMEOUT}s"
# its own session and process group, so that the guest's host processes can be killed with it
XSTATE_PRELOAD_DEBUG=$UML_DEBUG LD_PRELOAD="$WORK/xstate_preload.so" \
  setsid "$UML_KERNEL" "${args[@]}" </dev/null &
UML_PID=$!
# setsid runs UML as the leader of a new process group (it forks only when the shell's job was
# one already, and that does not happen in a script): check, since stop_uml kills the group
sleep 0.05
if [[ $(ps -o pgid= -p "$UML_PID" 2>/dev/null | tr -d ' ') != "$UML_PID" ]] && kill -0 "$UML_PID" 2>/dev/null; then
  say "UML (pid $UML_PID) is not a process group leader; stopping it"
  kill -KILL "$UML_PID"
  exit 1
fi

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
deadline=$(($(now_ms) + TIMEOUT * 1000))
while kill -0 "$UML_PID" 2>/dev/null && [[ ! -f $WORK/rc ]]; do
  if (($(now_ms) >= deadline)); then
    say "TIMEOUT: the guest ran longer than ${TIMEOUT}s; killing it"
    stop_uml
    exit 124
  fi
  sleep 0.1
done
# the status is written before the power-off: give the guest a moment to power off, then stop it
for ((i = 0; i < 50; i++)); do
  kill -0 "$UML_PID" 2>/dev/null || break
  sleep 0.1
done
stop_uml

if [[ ! -f $WORK/rc ]]; then
  say "the guest stopped without an exit status (it did not boot, or init died; see above)"
  exit 1
fi
rc=$(cat "$WORK/rc")
say "guest exit status $rc after $(elapsed)s"
exit "$rc"
