#!/usr/bin/env bash
# Configures (once) and builds the project incrementally into build/.
# Usage: scripts/build.sh [ninja targets...]
# Environment: AD_BUILD_DIR (default build), AD_SANITIZE (''|address|thread),
# AD_JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${AD_BUILD_DIR:-build}
JOBS=${AD_JOBS:-$(nproc)}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true CCACHE_SLOPPINESS=pch_defines,time_macros
fi
if [[ ! -f $BUILD_DIR/build.ninja ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DAD_SANITIZE="${AD_SANITIZE:-}" "${launcher[@]}" >&2
fi
cmake --build "$BUILD_DIR" -j "$JOBS" ${1:+--target "$@"} >&2
