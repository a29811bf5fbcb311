#!/usr/bin/env bash
# AD distils a systematic explorer, end to end through the real services:
# ad-actor runs rmax (actors/rmax.h: a model-based learner per stream that
# sweeps the room and then exploits) on the 61 train goals of Dark Room into
# ad-store; ad-learner trains AD and ED; ad-evaluator rolls both out on the
# 20 HELD-OUT goals with frozen weights, beside the critique's heuristic.
# Asserts that AD's late return beats its first episodes and ED's by a wide
# margin, and that AD leaves no more held-out rows unrewarded than the
# heuristic's random-walk search does (docs/science.md, fifth round: 1-8 of
# 200 rows against the heuristic's 7 at the full preset).
#
# Reduced preset: 8 rmax streams x 20 episodes per goal, 2000 AD steps,
# 3 seeds per held-out goal, 20 episodes; ~2 minutes. Two runs at this
# setting gave AD 3.99 / 14.15 and 3.43 / 13.72 over episodes 1-3 / 11-20,
# ED 1.23, rows never rewarded AD 3 and 1 against the heuristic's 4 of 60
# (optimal 16.95): the checks ask for 0.3 x optimal (5.1) of gain over
# early and over ED, and at most 3 more unrewarded rows than the heuristic.
set -euo pipefail
bin=${AD_BIN_DIR:?AD_BIN_DIR must name the built binaries}
out=$(mktemp -d "${TMPDIR:-/tmp}/ad_science_rmax.XXXXXX")
trap 'rm -rf "$out"' EXIT
cat >"$out/rmax-small.preset" <<'PRESET'
rmax.streams = 8
rmax.episodes = 20
expert.streams = 2
expert.episodes = 40
PRESET

"$bin/ad-demo" --out="$out/run" --source=rmax \
  --actor_preset="$out/rmax-small.preset" --ad_steps=2000 --ed_steps=200 \
  --eval_seeds=3 --eval_episodes=20 --heldout_streams=1 --threads=2 \
  2>"$out/demo.log" || { tail -40 "$out/demo.log"; exit 1; }
grep -A8 '^method' "$out/demo.log" || true

python3 - "$out/run/results/report.json" "$out/run/results/returns.csv" <<'PY'
import collections, csv, json, sys
report = json.load(open(sys.argv[1]))
panel = report["panels"][0]
curves = {c["method"]: c["mean"] for c in panel["curves"]}
optimal = panel["optimal"]
ad, ed = curves["ad"], curves["ed"]
early = sum(ad[0:3]) / 3
late = sum(ad[10:20]) / 10
ed_late = sum(ed[10:20]) / 10
rewarded = collections.defaultdict(bool)
for r in csv.DictReader(open(sys.argv[2])):
    rewarded[(r["method"], r["row"])] |= float(r["return"]) > 0
never = collections.Counter(m for (m, _), hit in rewarded.items() if not hit)
print("AD episodes 1-3: %.2f, 11-20: %.2f, ED 11-20: %.2f, optimal %.2f; "
      "rows never rewarded: AD %d, heuristic %d of %d"
      % (early, late, ed_late, optimal, never["ad"], never["heuristic"],
         sum(1 for (m, _) in rewarded if m == "ad")))
ok = True
if not late >= early + 0.3 * optimal:
    print("FAIL: AD's late return is not clearly above its early return")
    ok = False
if not late >= ed_late + 0.3 * optimal:
    print("FAIL: AD's late return is not clearly above ED's")
    ok = False
if not never["ad"] <= never["heuristic"] + 3:
    print("FAIL: AD leaves more rows unrewarded than the heuristic's search")
    ok = False
sys.exit(0 if ok else 1)
PY
