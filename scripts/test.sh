#!/usr/bin/env bash
# The test command: installs dependencies, builds incrementally, checks
# formatting and runs the whole suite with ctest (which prints its summary).
# Extra arguments go to ctest, e.g. scripts/test.sh -R Store
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
scripts/check-format.sh
ctest --test-dir "${AD_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "$@"
