#!/usr/bin/env bash
# The main job: installs dependencies, builds incrementally, then runs the
# end-to-end Algorithm Distillation demo on this machine (every service its own
# process on loopback): source RL -> store -> learner -> evaluator -> plots.
# Results go to runs/demo (override with --out=DIR); a second run reuses the
# store and checkpoints there. Extra arguments go to ad-demo (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
exec build/bin/ad-demo --out=runs/demo "$@"
