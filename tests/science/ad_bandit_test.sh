#!/usr/bin/env bash
# AD distils UCB on the adversarial bandit (paper Fig. 3), end to end
# through the real services: ad-actor runs UCB1 streams on 60 tasks of the
# odd regime into ad-store; ad-learner trains AD and ED on them; the
# evaluator rolls both out for 100 pulls on 20 tasks of the EVEN regime
# (out of distribution: the best arm is usually even there) with frozen
# weights. Asserts that AD's reward per pull over pulls 51-100 beats its own
# first 10 pulls, random, and ED by clear margins.
#
# Reduced preset (below; scripts/reproduce.sh bandit is the full one, whose
# figures are in docs/RESULTS.md). Measured at this setting (113 s on an
# idle 2-core machine): AD 0.51 over pulls 1-10 -> 0.79 over 51-100, ED
# 0.50, random 0.50, optimal 0.93; the checks ask for 0.1 above each.
set -euo pipefail
bin=${AD_BIN_DIR:?AD_BIN_DIR must name the built binaries}
out=$(mktemp -d "${TMPDIR:-/tmp}/ad_science_bandit.XXXXXX")
trap 'rm -rf "$out"' EXIT

cat >"$out/bandit-small.preset" <<'PRESET'
ucb.streams = 8
ucb.episodes = 100
ucb.exploration = 0.3
expert.streams = 1
expert.episodes = 100
PRESET

"$bin/ad-demo" --out="$out/run" --env=bandit --source=ucb \
  --actor_preset="$out/bandit-small.preset" --learner_preset=cpu-bandit \
  --max_train_tasks=60 --max_test_tasks=20 --eval_seeds=2 \
  --eval_episodes=100 --heldout_streams=2 --ad_steps=1000 --ed_steps=200 \
  --threads=2 2>"$out/demo.log" || { tail -40 "$out/demo.log"; exit 1; }
grep -A8 '^method' "$out/demo.log" || true

python3 - "$out/run/results/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
panel = report["panels"][0]
curves = {c["method"]: c["mean"] for c in panel["curves"]}
ad, ed, rnd = curves["ad"], curves["ed"], curves["random"]
optimal = panel["optimal"]
mean = lambda xs: sum(xs) / len(xs)
early, late = mean(ad[0:10]), mean(ad[50:100])
print("AD pulls 1-10: %.3f, 51-100: %.3f; ED 51-100: %.3f; random 51-100: "
      "%.3f; optimal %.3f" % (early, late, mean(ed[50:100]),
                              mean(rnd[50:100]), optimal))
ok = True
for name, ref, margin in (("its first 10 pulls", early, 0.1),
                          ("random", mean(rnd[50:100]), 0.1),
                          ("ED", mean(ed[50:100]), 0.1)):
    if not late >= ref + margin:
        print("FAIL: AD's late reward per pull is not %.2f above %s" %
              (margin, name))
        ok = False
sys.exit(0 if ok else 1)
PY
