#!/usr/bin/env bash
# The pixel path end to end through the real services, on 72x96x3 Watermaze
# frames: ad-actor renders noisy-expert streams on 24 train platforms into
# ad-store (frames as bytes), ad-learner trains the pixel AD
# (cpu-watermaze-ad: 4x4 block average, two conv blocks with BatchNorm) and
# ED from store windows, and ad-evaluator rolls both out on HELD-OUT
# platforms with frozen weights next to random, optimal and the source.
# Asserts that every stage ran, that every method has its curve, that the
# image encoder learnt: AD's training loss fell clearly below ln 8 (2.08,
# a uniform guess over the 8 actions); measured 1.31 after 400 steps, the
# check asks for <= 1.68. It prints AD's, ED's and random's returns.
#
# What it does NOT assert: in-context improvement. AD from pixels does not
# learn in context at any scale tried on this machine (docs/RESULTS.md,
# Watermaze: held-out episodes 1-3 vs 31-40 flat with DQN histories, and
# flat here: AD 1.22 -> 1.15 over episodes 1-3 -> 7-12 in one calibration
# run, 1.28 -> 1.50 in another, random 0.56-0.75, ED 0.0-0.1 after its
# 100 steps), so a "late > early" check would only fail.
#
# The source is the environment's expert with a random-action probability
# falling 1 -> 0 over each stream's 16 episodes (noisy_expert), so the
# test's ~2 minutes go to the pixel learner, not to RL.
set -euo pipefail
bin=${AD_BIN_DIR:?AD_BIN_DIR must name the built binaries}
out=$(mktemp -d "${TMPDIR:-/tmp}/ad_science_watermaze.XXXXXX")
trap 'rm -rf "$out"' EXIT

cat >"$out/watermaze-small.preset" <<'PRESET'
streams = 4
episodes = 16
noisy_expert.streams = 6
noisy_expert.episodes = 16
noisy_expert.epsilon_start = 1
noisy_expert.epsilon_end = 0
expert.streams = 2
expert.episodes = 8
PRESET

"$bin/ad-demo" --out="$out/run" --env=watermaze --source=noisy_expert \
  --actor_preset="$out/watermaze-small.preset" \
  --learner_preset=cpu-watermaze-ad \
  --learner_set="model.context_len=100;train.batch_size=8;train.warmup_steps=40;train.checkpoint_every=100" \
  --episode_stride=1 --ad_steps=400 --ed_steps=100 \
  --max_train_tasks=24 --max_test_tasks=4 --eval_seeds=3 \
  --eval_episodes=12 --heldout_streams=1 --threads=2 \
  2>"$out/demo.log" || { tail -40 "$out/demo.log"; exit 1; }
grep -A8 '^method' "$out/demo.log" || true

# The learner's last progress line, e.g. "[learner ad-noisy_expert] 400/400
# steps ... | loss 1.234 acc ...".
loss_line=$(tr '\r' '\n' <"$out/demo.log" | grep '^\[learner ad-' | tail -n 1)
echo "$loss_line"
python3 - "$out/run/results/report.json" "$loss_line" <<'PY'
import json, math, re, sys
report = json.load(open(sys.argv[1]))
panel = report["panels"][0]
curves = {c["method"]: c["mean"] for c in panel["curves"]}
ok = True
for method in ("ad", "ed", "random", "optimal", "source (noisy_expert)"):
    if method not in curves or not curves[method]:
        print("FAIL: no curve for", method, "in", sorted(curves))
        ok = False
match = re.search(r"loss ([0-9.]+)", sys.argv[2])
loss = float(match.group(1)) if match else float("nan")
print("AD training loss at the end: %.3f (uniform: %.3f)" % (loss, math.log(8)))
if not loss <= math.log(8) - 0.4:
    print("FAIL: the pixel AD's loss did not fall clearly below ln 8")
    ok = False
if ok:
    ad = curves["ad"]
    print("AD episodes 1-3 %.2f, last 6 %.2f; ED %.2f, random %.2f per episode"
          % (sum(ad[0:3]) / 3, sum(ad[-6:]) / 6,
             sum(curves["ed"]) / len(curves["ed"]),
             sum(curves["random"]) / len(curves["random"])))
sys.exit(0 if ok else 1)
PY
