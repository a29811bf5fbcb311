#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) in their own clang build, build-fuzz,
# and runs each for a bounded time on its committed seed corpus
# fuzz/corpus/<target>/. Fails if any target crashes (a sanitizer report, a
# failed check, a leak, a timeout or running out of memory).
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]
#        scripts/fuzz.sh --seeds     # regenerate the binary seeds
# Environment: AD_FUZZ_BUILD_DIR (default build-fuzz), AD_JOBS (default 2).
#
# New inputs found during a run go to a scratch directory, not the committed
# corpus; crash inputs are written to $AD_FUZZ_BUILD_DIR/crashes/<target>/
# (reproduce: build-fuzz/fuzz/<target> <crash file>). The build takes the
# shared build lock (/tmp/ad-build.lock); the runs do not.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${AD_FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${AD_JOBS:-2}
ALL_TARGETS=(store_append_fuzz env_request_fuzz metrics_http_fuzz
             actors_preset_fuzz learner_config_fuzz)

seeds=0
if [[ ${1:-} == --seeds ]]; then
  seeds=1
  shift
fi
SECONDS_PER_TARGET=${1:-60}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then targets=("${ALL_TARGETS[@]}"); fi

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true CCACHE_SLOPPINESS=pch_defines,time_macros
fi
(
  flock 9
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_COMPILER=clang++ -DAD_FUZZ=ON -DAD_WERROR=OFF \
      "${launcher[@]}" >&2
  fi
  if ((seeds)); then
    cmake --build "$BUILD_DIR" -j "$JOBS" --target make_seeds >&2
  else
    cmake --build "$BUILD_DIR" -j "$JOBS" --target "${targets[@]}" >&2
  fi
) 9>/tmp/ad-build.lock

if ((seeds)); then
  mkdir -p fuzz/corpus/store_append_fuzz fuzz/corpus/env_request_fuzz
  "$BUILD_DIR/fuzz/make_seeds" fuzz/corpus
  echo "fuzz: seeds written under fuzz/corpus/" >&2
  exit 0
fi

summary=()
failed=0
for target in "${targets[@]}"; do
  corpus=fuzz/corpus/$target
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/ad-fuzz-$target-XXXXXX")
  crashes=$BUILD_DIR/crashes/$target
  mkdir -p "$crashes"
  log=$BUILD_DIR/fuzz/$target.log
  echo "fuzz: $target for ${SECONDS_PER_TARGET}s (log $log)" >&2
  start=$(date +%s)
  set +e
  # The scratch directory comes first, so new inputs go there; the seed
  # corpus is read only.
  "$BUILD_DIR/fuzz/$target" "$scratch" "$corpus" \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$crashes/" \
    >"$log" 2>&1
  rc=$?
  set -e
  elapsed=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  new=$(find "$scratch" -type f | wc -l)
  rm -rf "$scratch"
  if ((rc == 0)); then
    result=ok
  else
    result="CRASH (rc $rc; see $log and $crashes/)"
    failed=1
  fi
  summary+=("$(printf '%-20s %10s runs %7s s %8s exec/s %6s cov %5s new  %s' \
    "$target" "${runs:-?}" "$elapsed" "${rate:-?}" "${cov:-?}" "$new" "$result")")
done

echo
echo "fuzz summary (${SECONDS_PER_TARGET}s per target):"
printf '%s\n' "${summary[@]}"
exit "$failed"
