# Sourced by the shell tests (tests/cluster, tests/compose): log, fail and
# skip, prefixed with the caller's TEST_NAME and, when the caller sets
# TEST_T0 (seconds since the epoch), the seconds elapsed since then.
# skip exits 77, the tests' SKIP_RETURN_CODE in ctest.
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
