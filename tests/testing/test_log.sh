# Sourced by the shell tests (tests/cluster, tests/compose): log, fail and
# skip, prefixed with the caller's TEST_NAME and, when the caller sets
# TEST_T0 (seconds since the epoch), the seconds elapsed since then.
# skip exits 77, the tests' SKIP_RETURN_CODE in ctest. Then what their
# cleanup traps share: a watchdog, stopping children, showing logs.
log() {
  if [[ -n "${TEST_T0:-}" ]]; then
    echo "[$TEST_NAME $(($(date +%s) - TEST_T0))s] $*" >&2
  else
    echo "[$TEST_NAME] $*" >&2
  fi
}
fail() {
  log "FAIL: $*"
  exit 1
}
skip() {
  log "SKIP: $*"
  exit 77
}

# start_watchdog SECONDS: ends this script with SIGTERM after SECONDS, so
# that its EXIT trap still runs (ctest's TIMEOUT kills without running
# traps); the watchdog's pid goes to WATCHDOG, for cleanup to kill.
start_watchdog() {
  local seconds=$1
  (
    trap 'kill "$sp" 2>/dev/null; exit 0' TERM
    sleep "$seconds" &
    sp=$!
    wait "$sp" && echo "[$TEST_NAME] watchdog: $seconds s passed, stopping" >&2 && kill -TERM $$
  ) &
  WATCHDOG=$!
}

# stop_pids PID...: SIGTERM to each, up to 5 s for each to exit, then
# SIGKILL; reaps them.
stop_pids() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# show_logs_on_failure RC DIR: when RC is a failure (neither 0 nor 77), the
# last 15 lines of each DIR/*.log.
show_logs_on_failure() {
  local rc=$1 dir=$2 f
  ((rc != 0 && rc != 77)) || return 0
  for f in "$dir"/*.log; do
    [[ -f $f ]] || continue
    log "---- last lines of $(basename "$f")"
    tail -n 15 "$f" >&2
  done
}
