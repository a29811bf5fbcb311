#!/usr/bin/env bash
# Reproduces the paper's experiments end to end through the real services
# (env server -> actors -> store -> learner -> evaluator, every one its own
# process on loopback, driven by ad-demo) at CPU presets sized for a 2-core
# machine, and summarises each one. docs/RESULTS.md holds the numbers these
# commands printed, with the date and machine.
#
#   scripts/reproduce.sh --list              what there is, expected wall time
#   scripts/reproduce.sh                     every experiment, in list order
#   scripts/reproduce.sh key_to_door bandit  just these
#
# Each experiment writes under runs/reproduce/NAME/ (store, checkpoints,
# logs, results/{report.json,returns.csv,curves.csv,*.png}, summary.md,
# summary.json). Resumable: a second run reuses the store's complete
# histories and finished checkpoints there and only evaluates again.
# Environment: AD_REPRODUCE_DIR (default runs/reproduce), AD_BUILD_DIR (its
# bin/ holds the binaries), AD_REPRODUCE_NO_BUILD=1 (skip deps.sh and
# build.sh: use the binaries already built there).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${AD_BUILD_DIR:-build}/bin"
ROOT="${AD_REPRODUCE_DIR:-runs/reproduce}"

# name | expected wall time on an idle 2-core machine | what it shows
EXPERIMENTS=(
  "darkroom|13 min|Fig. 4, Dark Room: AD from single-stream A3C histories vs ED, the source, the critique's heuristic, random (20 held-out goals x 10 seeds)"
  "darkroom_hard|10 min|Fig. 4, Dark Room Hard (17x17, reward once): AD from tabular-Q histories (72 held-out goals x 10 seeds)"
  "key_to_door|14 min|Fig. 4, Dark Key-to-Door (invisible key then door, return 2): AD from tabular-Q histories (40 held-out tasks x 5 seeds)"
  "darkroom_rmax|7 min|Dark Room with the R-max-style model-based source (actors/rmax.h): AD vs ED, the source, the critique's heuristic, random (20 held-out goals x 10 seeds)"
  "darkroom_hard_rmax|16 min|Dark Room Hard from R-max-style histories (whole histories, 10-episode context, 72 held-out goals x 10 seeds)"
  "key_to_door_rmax|11 min|Dark Key-to-Door from R-max-style histories (whole histories, 40 held-out tasks x 5 seeds)"
  "bandit|11 min|Fig. 3, adversarial bandit: AD from UCB histories of 400 odd-regime tasks, in and out of distribution (even regime)"
  "context_size|12 min|Fig. 7: one AD model trained per context size (1, 2, 4 Dark Room episodes) on the darkroom experiment's A3C histories (runs darkroom first if its store is missing)"
  "prompt|4 min|Fig. 5: the darkroom AD and ED prompted with partial A3C histories (0-100% of their episodes) on held-out goals"
  "transfer|3 min|The critique: the darkroom AD evaluated on Dark Key-to-Door, a family it never saw"
  "multi_family|15 min|The critique, beyond it: one AD trained on Dark Room and Dark Room Hard together (shared 17x17 (x, y) encoding), evaluated on both and on Dark Key-to-Door, a family it never saw"
  "watermaze|45 min|Fig. 4, Watermaze (72x96 pixels, first person): AD with the image encoder from DQN(Q-lambda) histories on 20 platforms vs ED, the source and random (8 held-out platforms x 6 seeds)"
  "task_count|30 min|Fig. 12: AD trained on 4, 12, 32 and all 61 Dark Room train goals (A3C histories), each evaluated on its own train goals and on the 20 held-out goals"
)

usage() {
  echo "usage: scripts/reproduce.sh [--list] [EXPERIMENT...]" >&2
  exit 2
}

list() {
  printf '%-15s %-8s %s\n' NAME TIME WHAT
  for e in "${EXPERIMENTS[@]}"; do
    IFS='|' read -r name minutes what <<<"$e"
    printf '%-15s %-8s %s\n' "$name" "$minutes" "$what"
  done
}

known() {
  for e in "${EXPERIMENTS[@]}"; do [[ "${e%%|*}" == "$1" ]] && return 0; done
  return 1
}

# ad-demo into runs/reproduce/NAME with the given flags, then the summary.
demo() {
  local name=$1
  shift
  local out="$ROOT/$name"
  mkdir -p "$out"
  local cmd=("$BIN/ad-demo" "--out=$out" "$@")
  echo "$ ${cmd[*]}" | tee "$out/command.txt" >&2
  "${cmd[@]}"
  summarise "$out/results" "$out"
}

summarise() {
  local results=$1 out=$2
  shift 2
  python3 scripts/reproduce_summary.py "$results" --json "$out/summary.json" \
    "$@" | tee "$out/summary.md"
}

# The latest checkpoint of a learner's checkpoint directory.
latest() {
  local f
  f=$(ls "$1"/ckpt-*.pt 2>/dev/null | sort | tail -n 1 || true)
  [[ -n "$f" ]] || { echo "reproduce: no checkpoint in $1" >&2; exit 1; }
  echo "$f"
}

run_darkroom() {
  demo darkroom --env=darkroom --source=a3c
}

run_darkroom_hard() {
  demo darkroom_hard --env=darkroom_hard --source=tabular_q \
    --actor_preset=cpu-darkroom_hard --learner_preset=cpu-darkroom_hard
}

run_key_to_door() {
  demo key_to_door --env=key_to_door --source=tabular_q \
    --actor_preset=cpu-key_to_door --learner_preset=cpu-key_to_door \
    --max_train_tasks=240 --max_test_tasks=40 --eval_seeds=5
}

run_darkroom_rmax() {
  demo darkroom_rmax --env=darkroom --source=rmax
}

run_darkroom_hard_rmax() {
  demo darkroom_hard_rmax --env=darkroom_hard --source=rmax \
    --actor_preset=cpu-darkroom_hard --learner_preset=cpu-darkroom_hard-rmax
}

run_key_to_door_rmax() {
  demo key_to_door_rmax --env=key_to_door --source=rmax \
    --actor_preset=cpu-key_to_door --learner_preset=cpu-key_to_door \
    --max_train_tasks=240 --max_test_tasks=40 --eval_seeds=5
}

run_bandit() {
  # In distribution (odd regime, the train side of the split) and out of
  # distribution (even regime): the demo evaluates the even regime; the
  # bandit_ood experiment puts both side by side.
  demo bandit --env=bandit --source=ucb --actor_preset=cpu-bandit \
    --learner_preset=cpu-bandit --max_train_tasks=400 --max_test_tasks=50 \
    --eval_seeds=4 --eval_episodes=100 --ed_steps=600 --ad_steps=6000
  local out="$ROOT/bandit"
  # UCB's own curve on both regimes (the paper normalises to UCB): its
  # histories on every bandit task, written by the real actor to files
  # (seconds; UCB needs no env server to be measured).
  if [[ ! -f "$out/ucb-histories/.complete" ]]; then
    rm -rf "$out/ucb-histories"
    local gen=("$BIN/ad-actor" --family=bandit --split=all --source=ucb
      --preset=cpu-bandit "--sink=file:$out/ucb-histories" --metrics_port=-1)
    echo "$ ${gen[*]}" | tee -a "$out/command.txt" >&2
    "${gen[@]}" 2>"$out/logs/ucb-histories.log"
    touch "$out/ucb-histories/.complete"
  fi
  local cmd=("$BIN/adctl" eval bandit_ood
    "--checkpoint=$(latest "$out/checkpoints/ad-ucb")"
    "--ed_checkpoint=$(latest "$out/checkpoints/ed")"
    --env=bandit --max_tasks=50 --seeds=4 --episodes=100 --temperature=1
    --window=chunk --baselines=random,optimal,heuristic,ed,source
    "--histories_dir=$out/ucb-histories" --source=ucb
    "--out=$out/ood")
  echo "$ ${cmd[*]}" | tee -a "$out/command.txt" >&2
  "${cmd[@]}"
  summarise "$out/ood" "$out/ood" --early 10 --late 10
}

# A free loopback TCP port.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Serves DIR's RocksDB store with ad-store on a free loopback port, writing
# the address to STORE_ADDR and its pid to STORE_PID (stop_store ends it).
start_store() {
  local db=$1 log=$2 port
  port=$(free_port)
  "$BIN/ad-store" "--port=$port" --metrics_port=-1 "--db=$db" >"$log" 2>&1 &
  STORE_PID=$!
  STORE_ADDR="127.0.0.1:$port"
  trap 'kill "$STORE_PID" 2>/dev/null || true' EXIT
  local deadline=$((SECONDS + 120))
  until "$BIN/adctl" store stats "--store=$STORE_ADDR" >/dev/null 2>&1; do
    kill -0 "$STORE_PID" 2>/dev/null || {
      echo "reproduce: ad-store exited; see $log" >&2
      exit 1
    }
    ((SECONDS < deadline)) || { echo "reproduce: ad-store not up; see $log" >&2; exit 1; }
    sleep 0.5
  done
}

stop_store() {
  kill "$STORE_PID" 2>/dev/null || true
  wait "$STORE_PID" 2>/dev/null || true
  trap - EXIT
}

# Trains an ad-learner over the store at STORE_ADDR into checkpoint
# directory DIR until STEPS, unless DIR already holds that step's checkpoint:
#   train_learner OUT DIR STEPS LOG PRESET SET
# OUT/command.txt records the command, LOG its output.
train_learner() {
  local out=$1 dir=$2 steps=$3 log=$4 preset=$5 set=$6
  local cmd=("$BIN/ad-learner" --port=0 --metrics_port=-1
    "--store=$STORE_ADDR" "--preset=$preset" "--set=$set;train.steps=$steps"
    "--checkpoint_dir=$dir" --threads=2 --exit_when_done)
  if [[ -f "$dir/ckpt-$(printf '%012d' "$steps").pt" ]]; then
    echo "reproduce: $dir is trained; reusing it" >&2
  else
    echo "$ ${cmd[*]}" | tee -a "$out/command.txt" >&2
    "${cmd[@]}" 2>"$log"
    tail -n 1 "$log" >&2
  fi
}

# The darkroom experiment's data and checkpoints (run it if missing).
need_darkroom() {
  [[ -f "$ROOT/darkroom/results/report.json" ]] || run_darkroom
}

# Fig. 7 with one model per context size: one ad-learner per window over the
# darkroom experiment's store, then the evaluator's context_sweep over the
# checkpoints (held-out goals).
run_watermaze() {
  # Every other setting is ad-demo's for the family (DemoDefaultsFor:
  # 20 train / 8 held-out platforms, 6 seeds, 2 held-out source streams,
  # 200 ED steps).
  demo watermaze --env=watermaze --source=dqn \
    --actor_preset=cpu-watermaze-ad --learner_preset=cpu-watermaze-ad
}

run_context_size() {
  need_darkroom
  local out="$ROOT/context_size" steps=3000
  mkdir -p "$out/logs"
  start_store "$ROOT/darkroom/store" "$out/logs/store.log"
  local sweep=() episodes
  for episodes in 1 2 4; do
    local dir="$out/checkpoints/ctx${episodes}ep"
    train_learner "$out" "$dir" "$steps" \
      "$out/logs/learner-ctx${episodes}ep.log" cpu-demo \
      "data.env=darkroom;data.source=a3c;data.episode_stride=32;model.context_len=$((20 * episodes))"
    sweep+=("${episodes}ep=$(latest "$dir")")
  done
  local IFS=,
  local cmd=("$BIN/adctl" eval context_sweep "--sweep_checkpoints=${sweep[*]}"
    --env=darkroom --seeds=5 --episodes=40 --temperature=1 --window=chunk
    "--out=$out/results")
  unset IFS
  echo "$ ${cmd[*]}" | tee -a "$out/command.txt" >&2
  "${cmd[@]}"
  stop_store
  summarise "$out/results" "$out"
}

# Fig. 5: the darkroom AD and ED checkpoints prompted with the first part of
# the A3C source's own histories on the held-out goals (cut at 0, 25, 50, 75
# and 100% of each history's episodes), then left to continue in context.
run_prompt() {
  need_darkroom
  local data="$ROOT/darkroom" out="$ROOT/prompt"
  mkdir -p "$out/logs"
  start_store "$data/store" "$out/logs/store.log"
  local cmd=("$BIN/adctl" eval prompt
    "--checkpoint=$(latest "$data/checkpoints/ad-a3c")"
    "--ed_checkpoint=$(latest "$data/checkpoints/ed")"
    --env=darkroom --seeds=5 --episodes=20 --temperature=1 --window=chunk
    --prompt_levels=0,0.25,0.5,0.75,1 "--store=$STORE_ADDR" --source=a3c
    "--out=$out/results")
  echo "$ ${cmd[*]}" | tee "$out/command.txt" >&2
  "${cmd[@]}"
  stop_store
  summarise "$out/results" "$out" --late 5
}

# The critique's transfer test: the darkroom AD (A3C histories) evaluated on
# Dark Key-to-Door (same 9x9 grid and actions, a family it never saw) beside
# its own held-out Dark Room curve.
run_transfer() {
  need_darkroom
  local data="$ROOT/darkroom" out="$ROOT/transfer"
  mkdir -p "$out"
  local cmd=("$BIN/adctl" eval transfer
    "--checkpoint=$(latest "$data/checkpoints/ad-a3c")"
    --train_env=darkroom --env=key_to_door --max_tasks=20 --seeds=5
    --episodes=40 --temperature=1 --window=chunk
    --baselines=random,optimal,heuristic "--out=$out/results")
  echo "$ ${cmd[*]}" | tee "$out/command.txt" >&2
  "${cmd[@]}"
  summarise "$out/results" "$out"
}

# One AD model trained on two families at once: tabular-Q histories of the
# Dark Room and Dark Room Hard train goals (actors -> ad-store), one learner
# whose batches alternate between the families (data.env =
# darkroom,darkroom_hard; one (x, y) embedding of the 17x17 grid serves
# both), then the frozen model on held-out goals of each family and on Dark
# Key-to-Door, which it never saw.
run_multi_family() {
  local out="$ROOT/multi_family" family
  mkdir -p "$out/logs"
  start_store "$out/store" "$out/logs/store.log"
  for family in darkroom darkroom_hard; do
    if [[ -f "$out/$family.complete" ]]; then
      echo "reproduce: $family histories are in the store; reusing them" >&2
      continue
    fi
    local gen=("$BIN/ad-actor" "--family=$family" --split=train
      --source=tabular_q --preset=cpu-darkroom_hard --parallel_tasks=2
      "--sink=store:$STORE_ADDR" --metrics_port=-1)
    echo "$ ${gen[*]}" | tee -a "$out/command.txt" >&2
    "${gen[@]}" 2>"$out/logs/actor-$family.log"
    touch "$out/$family.complete"
  done
  local steps=4000 dir="$out/checkpoints/ad"
  train_learner "$out" "$dir" "$steps" "$out/logs/learner.log" \
    cpu-darkroom_hard "data.env=darkroom,darkroom_hard;data.source=tabular_q"
  stop_store
  local ckpt
  ckpt=$(latest "$dir")
  for family in darkroom darkroom_hard key_to_door; do
    local cmd=("$BIN/adctl" eval incontext "--checkpoint=$ckpt"
      "--env=$family" --max_tasks=40 --seeds=5 --episodes=40 --temperature=1
      --window=chunk --baselines=random,optimal,heuristic
      "--out=$out/$family")
    echo "$ ${cmd[*]}" | tee -a "$out/command.txt" >&2
    "${cmd[@]}"
    summarise "$out/$family" "$out/$family"
  done
}

# Fig. 12: how many training tasks AD needs before it learns an algorithm
# rather than memorising its goals. One ad-demo per task count N (A3C source
# on N evenly spaced train goals, AD 3000 steps, evaluated on the 20 held-out
# goals), then the same AD on the N goals it was trained on. Counts in
# TASK_COUNTS (default "4 12 32 0"; 0 = all 61 train goals).
run_task_count() {
  local out="$ROOT/task_count" n
  local counts=(${TASK_COUNTS:-4 12 32 0})
  local points=()
  for n in "${counts[@]}"; do
    local name="n$n"
    [[ $n == 0 ]] && name=all
    local dir="$out/$name"
    mkdir -p "$dir"
    local cmd=("$BIN/ad-demo" "--out=$dir" --env=darkroom --source=a3c
      "--max_train_tasks=$n" --ad_steps=3000 --eval_seeds=5)
    echo "$ ${cmd[*]}" | tee "$dir/command.txt" >&2
    "${cmd[@]}"
    summarise "$dir/results" "$dir"
    # The same frozen AD on the goals it was trained on (the evaluator's
    # evenly spaced subset is the demo's: envs::EvenlySpacedTasks).
    local train=("$BIN/adctl" eval incontext
      "--checkpoint=$(latest "$dir/checkpoints/ad-a3c")" --env=darkroom
      --tasks=train "--max_tasks=$n" --seeds=5 --episodes=40 --temperature=1
      --window=chunk --baselines=random,optimal,heuristic
      "--out=$dir/train_goals")
    echo "$ ${train[*]}" | tee -a "$dir/command.txt" >&2
    "${train[@]}"
    summarise "$dir/train_goals" "$dir/train_goals"
    points+=("$name")
  done
  /usr/bin/python3 scripts/task_count_summary.py "$out" "${points[@]}" \
    | tee "$out/summary.md"
}

main() {
  local names=()
  for a in "$@"; do
    case "$a" in
      --list) list; exit 0 ;;
      -h | --help) usage ;;
      -*) echo "reproduce: unknown flag $a" >&2; usage ;;
      *)
        known "$a" || {
          echo "reproduce: unknown experiment '$a'; known:" >&2
          list >&2
          exit 2
        }
        names+=("$a")
        ;;
    esac
  done
  if ((${#names[@]} == 0)); then
    for e in "${EXPERIMENTS[@]}"; do names+=("${e%%|*}"); done
  fi
  if [[ -z "${AD_REPRODUCE_NO_BUILD:-}" ]]; then
    scripts/deps.sh
    scripts/build.sh
  fi
  local start=$SECONDS
  for name in "${names[@]}"; do
    local t0=$SECONDS
    echo "=== reproduce: $name ===" >&2
    "run_$name"
    echo "=== reproduce: $name done in $(((SECONDS - t0) / 60))m$(((SECONDS - t0) % 60))s; results under $ROOT/$name ===" >&2
  done
  echo "reproduce: ${#names[@]} experiment(s) in $(((SECONDS - start) / 60))m$(((SECONDS - start) % 60))s" >&2
}

# In braces with exit: bash has read the whole call before it runs, so an
# edit to this file during a long run cannot change what the run does.
{
  main "$@"
  exit
}
