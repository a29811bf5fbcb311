#!/usr/bin/env bash
# Builds the project with a sanitizer into its own build folder and runs the
# suite there (the science test and the cluster tests are left out: minutes
# of training or network namespaces, no new code paths).
#   scripts/sanitize.sh address   # ASan + UBSan, into build-asan/
#   scripts/sanitize.sh thread    # TSan, into build-tsan/
# Extra arguments go to ctest. Reports make the run fail (halt_on_error).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
case $kind in
  address) dir=build-asan ;;
  thread) dir=build-tsan ;;
  *)
    echo "usage: scripts/sanitize.sh address|thread [ctest args...]" >&2
    exit 2
    ;;
esac
shift
scripts/deps.sh
start=$(date +%s)
AD_BUILD_DIR=$dir AD_SANITIZE=$kind scripts/build.sh
built=$(date +%s)
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
status=0
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" -LE science \
  -E '^cluster\.' "$@" || status=$?
end=$(date +%s)
echo "sanitize.sh $kind: build $((built - start)) s, tests $((end - built)) s" >&2
exit $status
