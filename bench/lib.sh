# bench/lib.sh - helpers shared by bench/shards.sh and bench/scale.sh (sourced, not run).
# They expect TAG (the log prefix) and NAMESPACES (the namespaces the script owns) to be set.

log() { printf '[%s %5.1fs] %s\n' "$TAG" "$SECONDS" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# alive PID: the process exists and is not a zombie
alive() { [[ -d /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# stop_pid PID: SIGKILL, wait up to 5 s, reap
stop_pid() {
  local pid=$1 i
  [[ -n $pid ]] || return 0
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
  fi
  wait "$pid" 2>/dev/null || true
}

# ns_down: every process in our namespaces killed, the namespaces deleted
ns_down() {
  local ns pid
  for ns in "${NAMESPACES[@]}"; do
    ip netns list | grep -qw "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do stop_pid "$pid"; done
    ip netns del "$ns" || true
  done
}

# cpu_s PID: utime + stime of all its threads, in seconds
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / t }' "/proc/$1/stat"; }
