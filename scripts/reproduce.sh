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
# Environment: AD_REPRODUCE_DIR (default runs/reproduce), AD_BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${AD_BUILD_DIR:-build}/bin"
ROOT="${AD_REPRODUCE_DIR:-runs/reproduce}"

# name | expected wall time on an idle 2-core machine | what it shows
EXPERIMENTS=(
  "darkroom|13 min|Fig. 4, Dark Room: AD from single-stream A3C histories vs ED, the source, the critique's heuristic, random (20 held-out goals x 10 seeds)"
  "darkroom_hard|10 min|Fig. 4, Dark Room Hard (17x17, reward once): AD from tabular-Q histories (72 held-out goals x 10 seeds)"
  "key_to_door|14 min|Fig. 4, Dark Key-to-Door (invisible key then door, return 2): AD from tabular-Q histories (40 held-out tasks x 5 seeds)"
  "bandit|8 min|Fig. 3, adversarial bandit: AD from UCB histories of the odd regime, in and out of distribution (even regime)"
  "context_size|12 min|Fig. 7: one AD model trained per context size (1, 2, 4 Dark Room episodes) on the darkroom experiment's A3C histories (runs darkroom first if its store is missing)"
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

run_bandit() {
  # In distribution (odd regime, the train side of the split) and out of
  # distribution (even regime): the demo evaluates the even regime; the
  # bandit_ood experiment puts both side by side.
  demo bandit --env=bandit --source=ucb --actor_preset=cpu-bandit \
    --learner_preset=cpu-bandit --max_train_tasks=200 --max_test_tasks=50 \
    --eval_seeds=4 --eval_episodes=100 --ed_steps=600
  local out="$ROOT/bandit"
  local cmd=("$BIN/adctl" eval bandit_ood
    "--checkpoint=$(latest "$out/checkpoints/ad-ucb")"
    --env=bandit --max_tasks=50 --seeds=4 --episodes=100 --temperature=1
    --window=chunk --baselines=random,optimal,heuristic
    "--out=$out/ood")
  echo "$ ${cmd[*]}" | tee -a "$out/command.txt" >&2
  "${cmd[@]}"
  summarise "$out/ood" "$out/ood" --early 10 --late 10
}

# A free loopback TCP port.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Fig. 7 with one model per context size: an ad-store over the darkroom
# experiment's RocksDB directory, one ad-learner per window, then the
# evaluator's context_sweep over the checkpoints (held-out goals).
run_context_size() {
  local data="$ROOT/darkroom"
  [[ -f "$data/results/report.json" ]] || run_darkroom
  local out="$ROOT/context_size"
  mkdir -p "$out/logs"
  local port steps=3000
  port=$(free_port)
  "$BIN/ad-store" "--port=$port" --metrics_port=-1 "--db=$data/store" \
    >"$out/logs/store.log" 2>&1 &
  local store_pid=$!
  trap 'kill "$store_pid" 2>/dev/null || true' EXIT
  local deadline=$((SECONDS + 120))
  until "$BIN/adctl" store stats "--store=127.0.0.1:$port" >/dev/null 2>&1; do
    kill -0 "$store_pid" 2>/dev/null || {
      echo "reproduce: ad-store exited; see $out/logs/store.log" >&2
      exit 1
    }
    ((SECONDS < deadline)) || { echo "reproduce: ad-store not up" >&2; exit 1; }
    sleep 0.5
  done
  local sweep=() episodes
  for episodes in 1 2 4; do
    local dir="$out/checkpoints/ctx${episodes}ep"
    local cmd=("$BIN/ad-learner" --port=0 --metrics_port=-1
      "--store=127.0.0.1:$port" --preset=cpu-demo
      "--set=data.env=darkroom;data.source=a3c;data.episode_stride=32;model.context_len=$((20 * episodes));train.steps=$steps"
      "--checkpoint_dir=$dir" --threads=2 --exit_when_done)
    if [[ -f "$dir/ckpt-$(printf '%012d' "$steps").pt" ]]; then
      echo "reproduce: $dir is trained; reusing it" >&2
    else
      echo "$ ${cmd[*]}" | tee -a "$out/command.txt" >&2
      "${cmd[@]}" 2>"$out/logs/learner-ctx${episodes}ep.log"
      tail -n 1 "$out/logs/learner-ctx${episodes}ep.log" >&2
    fi
    sweep+=("${episodes}ep=$(latest "$dir")")
  done
  local IFS=,
  local cmd=("$BIN/adctl" eval context_sweep "--sweep_checkpoints=${sweep[*]}"
    --env=darkroom --seeds=5 --episodes=40 --temperature=1 --window=chunk
    "--out=$out/results")
  unset IFS
  echo "$ ${cmd[*]}" | tee -a "$out/command.txt" >&2
  "${cmd[@]}"
  kill "$store_pid" 2>/dev/null || true
  wait "$store_pid" 2>/dev/null || true
  trap - EXIT
  summarise "$out/results" "$out"
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
  scripts/deps.sh
  scripts/build.sh
  local start=$SECONDS
  for name in "${names[@]}"; do
    local t0=$SECONDS
    echo "=== reproduce: $name ===" >&2
    "run_$name"
    echo "=== reproduce: $name done in $(((SECONDS - t0) / 60))m$(((SECONDS - t0) % 60))s; results under $ROOT/$name ===" >&2
  done
  echo "reproduce: ${#names[@]} experiment(s) in $(((SECONDS - start) / 60))m$(((SECONDS - start) % 60))s" >&2
}

main "$@"
