#!/usr/bin/env bash
# AD distils the paper's A3C source, end to end through the real services:
# ad-actor runs single-stream A3C learners (the real actor code) on the 61
# train goals of Dark Room into ad-store; ad-learner trains AD (every 32nd
# episode kept) and ED; ad-evaluator rolls both out on the 20 HELD-OUT goals
# with frozen weights. Asserts that AD's return over the late episodes beats
# its first episodes by a clear margin and beats ED's.
#
# Reduced preset (tests/science/a3c-small.preset: 6 single-stream learners
# x 320 episodes per goal; 1500 AD steps; 3 seeds per held-out goal) so that
# it runs in minutes; the full demo's figures are in docs/science.md.
# The source data and ED repeat exactly from run to run but AD's held-out
# figures do not (the cause was not pinned down), so the margins are set
# from repeated runs at this setting: AD over episodes 1-3 / 11-20 was
# 0.86 / 3.72 and 0.74 / 3.97, ED 1.99 (optimal 16.95); the checks ask for
# a gain of 0.1 x optimal (1.70) and 0.05 x optimal (0.85) above ED. (The
# smaller 4 x 240 preset tried first gave AD 2.90-4.19 over episodes 11-20:
# too close to ED to be a stable test.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${AD_BIN_DIR:?AD_BIN_DIR must name the built binaries}
out=$(mktemp -d "${TMPDIR:-/tmp}/ad_science.XXXXXX")
trap 'rm -rf "$out"' EXIT

"$bin/ad-demo" --out="$out/run" --source=a3c \
  --actor_preset="$here/a3c-small.preset" --ad_steps=1500 --ed_steps=200 \
  --eval_seeds=3 --eval_episodes=20 --heldout_streams=1 --threads=2 \
  2>"$out/demo.log" || { tail -40 "$out/demo.log"; exit 1; }
grep -A8 '^method' "$out/demo.log" || true

python3 - "$out/run/results/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
panel = report["panels"][0]
curves = {c["method"]: c["mean"] for c in panel["curves"]}
optimal = panel["optimal"]
ad, ed = curves["ad"], curves["ed"]
early = sum(ad[0:3]) / 3
late = sum(ad[10:20]) / 10
ed_late = sum(ed[10:20]) / 10
print("AD episodes 1-3: %.2f, 11-20: %.2f, ED 11-20: %.2f, optimal %.2f"
      % (early, late, ed_late, optimal))
ok = True
if not late >= early + 0.1 * optimal:
    print("FAIL: AD's late return is not clearly above its early return")
    ok = False
if not late >= ed_late + 0.05 * optimal:
    print("FAIL: AD's late return is not clearly above ED's")
    ok = False
sys.exit(0 if ok else 1)
PY
