#!/usr/bin/env bash
# Runs every benchmark; each prints its figure next to a baseline measured in
# the same run. Not part of the test suite (timings vary with machine load).
# Usage: scripts/bench.sh [envs|env_server|store|actors|learner|evaluator ...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
BIN=${AD_BUILD_DIR:-build}/bin
all=(envs env_server store actors learner evaluator)
for b in "${@:-${all[@]}}"; do
  echo "=== bench: $b"
  case $b in
    store) "$BIN/ad_bench_store" --mode=throughput && "$BIN/ad_bench_store" --mode=memory ;;
    learner) bench/learner/run_bench.sh ;;
    envs|env_server|actors|evaluator) "$BIN/ad_bench_$b" ;;
    *) echo "unknown benchmark '$b' (one of: ${all[*]})" >&2; exit 2 ;;
  esac
done
