#!/usr/bin/env bash
# Chaos: the whole pipeline at a small preset while a seeded schedule
# SIGKILLs the store, the env server, the actor and the learner, restarting
# each. ad-actor (A3C, the test preset with a small budget, a few Dark Room
# train goals) steps envs on ad-env-server and appends to ad-store; ad-learner
# (test preset) trains from the store; adctl eval runs the final checkpoint.
#
# The kill moments come from $AD_CHAOS_SEED (default 17) but are conditions,
# not times, so the schedule is the same on a loaded machine:
#   store      kill -9 once the store holds S transitions (15-30% of the run)
#   env server kill -9 once it holds E transitions (40-55%); the actor loses
#              its env session and exits, both are restarted
#   actor      kill -9 once it holds A transitions (65-80%); restarted, it
#              regenerates its histories and the store drops what it holds
#   learner    kill -9 once its K-th checkpoint is on disk (K in 1..3);
#              restarted on the same checkpoint directory
# Then it checks:
#   (a) the run completes: the last actor exits 0, every history complete;
#   (b) every transition is there exactly once: the oracle is the same actor
#       command run without faults (in-process envs) into a fresh store;
#       both stores are exported task by task (adctl store export) and must be
#       identical, as must their history listings and totals;
#   (c) the restarted learner resumed from a checkpoint (step > 0) and
#       reached its final step;
#   (d) adctl eval incontext on the final checkpoint writes curves.csv rows.
#
# Usage: tests/chaos/pipeline_chaos_test.sh   (AD_BIN_DIR=build/bin)
# Exit: 0 pass, 1 fail. About 30 s on an idle 2-core machine, 1-2 minutes
# loaded; a watchdog stops it after 7 minutes.
set -euo pipefail

BIN=${AD_BIN_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}
SEED=${AD_CHAOS_SEED:-17}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ad-chaos.XXXXXX")
WATCHDOG=
TEST_T0=$(date +%s)
TEST_NAME=pipeline_chaos
source "$(dirname "$0")/../testing/test_log.sh"

# Live children by role; a killed one is reaped and forgotten.
declare -A PID=()

cleanup() {
  local rc=$?
  kill "$WATCHDOG" 2>/dev/null || true
  stop_pids "${PID[@]}"
  show_logs_on_failure "$rc" "$TMP"
  if ((rc == 0)); then rm -rf "$TMP"; else log "kept $TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
start_watchdog 420

BIN=$(cd "$BIN" 2>/dev/null && pwd) || fail "AD_BIN_DIR ${AD_BIN_DIR:-} is not a directory"
for b in ad-store ad-env-server ad-actor ad-learner adctl; do
  [[ -x $BIN/$b ]] || fail "$BIN/$b is missing (build first: scripts/build.sh)"
done

# The workload. 4 tasks x 4 streams x 150 episodes x 20 steps = 48000
# transitions in chunks of 100, so each history has 30 chunks.
TASKS=4
STREAMS=4
EPISODES=150
TOTAL=$((TASKS * STREAMS * EPISODES * 20))
ACTOR_FLAGS=(--source=a3c --preset=test
  "--set=a3c.streams=$STREAMS,a3c.episodes=$EPISODES"
  --max_tasks=$TASKS --chunk_transitions=100 --seed=3 --metrics_port=-1)
# The learner runs long enough (3000 steps of a few ms) that the kill after
# its K-th checkpoint (every 100 steps) lands mid-run.
LEARNER_STEPS=3000
LEARNER_FLAGS=(--preset=test --steps=$LEARNER_STEPS --threads=1
  "--set=train.checkpoint_every=100;train.keep_checkpoints=3"
  --checkpoint_dir="$TMP/ckpt" --exit_when_done --progress=false
  --port=0 --metrics_port=-1)

# The schedule, from the seed. (No $(...) around RANDOM: bash reseeds it in
# every subshell.)
RANDOM=$SEED
# percent_of_total LO HI: a transition count in [LO%, HI%] of TOTAL.
percent_of_total() { PICKED=$((TOTAL * ($1 + RANDOM % ($2 - $1 + 1)) / 100)); }
percent_of_total 15 30
STORE_KILL_AT=$PICKED
percent_of_total 40 55
ENV_KILL_AT=$PICKED
percent_of_total 65 80
ACTOR_KILL_AT=$PICKED
LEARNER_KILL_AT_CKPT=$((1 + RANDOM % 3))
log "seed $SEED: kill store at $STORE_KILL_AT, env server at $ENV_KILL_AT," \
  "actor at $ACTOR_KILL_AT of $TOTAL transitions; learner after checkpoint" \
  "$LEARNER_KILL_AT_CKPT"

# start ROLE LOG CMD...: runs CMD in the background, output appended to LOG.
start() {
  local role=$1 logfile=$2
  shift 2
  "$@" >>"$TMP/$logfile.log" 2>&1 &
  PID[$role]=$!
}
# sigkill ROLE: kill -9 and reap.
sigkill() {
  kill -KILL "${PID[$1]}" 2>/dev/null || true
  wait "${PID[$1]}" 2>/dev/null || true
  unset "PID[$1]"
  log "killed $1 (SIGKILL)"
}
alive() { kill -0 "${PID[$1]}" 2>/dev/null; }
# port_of LOG: the gRPC port a server logged ("listening on 127.0.0.1:P").
port_of() {
  local p
  for _ in $(seq 300); do
    p=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$TMP/$1.log" 2>/dev/null |
      tail -n 1 | sed 's/.*://') || true
    [[ -n $p ]] && echo "$p" && return 0
    sleep 0.1
  done
  fail "$1 did not report its port within 30 s"
}
# wait_port PORT: until it accepts connections (60 s).
wait_port() {
  for _ in $(seq 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  fail "nothing listens on port $1 after 60 s"
}
# stored STORE_PORT: transitions the store holds (-1 when it does not answer).
stored() {
  "$BIN/adctl" store stats --store="127.0.0.1:$1" --timeout=5s 2>/dev/null |
    awk '$1 == "transitions" { print $2; found = 1 } END { if (!found) print -1 }'
}
# Kills the learner when its checkpoint count reaches the schedule's; called
# between the other steps and in the final wait, so it lands whenever the
# condition holds.
maybe_kill_learner() {
  ((LEARNER_KILLED == 0)) || return 0
  (($(checkpoints) >= LEARNER_KILL_AT_CKPT)) || return 0
  alive learner || fail "the learner exited before its checkpoint $LEARNER_KILL_AT_CKPT was killed"
  sigkill learner
  LEARNER_KILLED=1
  run_learner
}

# wait_stored N WHY: until the chaos store holds >= N transitions (120 s);
# fails if the actor exits first.
wait_stored() {
  local n
  for _ in $(seq 1200); do
    n=$(stored "$STORE_PORT")
    ((n >= $1)) && return 0
    maybe_kill_learner
    alive actor || fail "the actor exited before the store held $1 transitions ($2); it holds $n"
    sleep 0.1
  done
  fail "the store did not reach $1 transitions within 120 s ($2)"
}
# wait_exit ROLE SECONDS: waits for ROLE to exit; its exit code in EXIT_CODE.
wait_exit() {
  for _ in $(seq $(($2 * 10))); do
    if ! alive "$1"; then
      EXIT_CODE=0
      wait "${PID[$1]}" || EXIT_CODE=$?
      unset "PID[$1]"
      return 0
    fi
    maybe_kill_learner
    sleep 0.1
  done
  fail "$1 did not exit within $2 s"
}
checkpoints() { ls "$TMP/ckpt" 2>/dev/null | grep -c '^ckpt-.*\.pt$' || true; }

# --- the chaos run --------------------------------------------------------
start store store "$BIN/ad-store" --port=0 --metrics_port=-1 --db="$TMP/db" \
  --block_cache_mb=16 --write_buffer_mb=4
STORE_PORT=$(port_of store)
start env env "$BIN/ad-env-server" --port=0 --metrics_port=-1
ENV_PORT=$(port_of env)
run_actor() {
  start actor actor "$BIN/ad-actor" "${ACTOR_FLAGS[@]}" \
    --env="127.0.0.1:$ENV_PORT" --sink="store:127.0.0.1:$STORE_PORT"
}
run_learner() {
  start learner learner "$BIN/ad-learner" "${LEARNER_FLAGS[@]}" \
    --store="127.0.0.1:$STORE_PORT"
}
LEARNER_KILLED=0
run_actor
# The learner starts once there are whole windows to sample.
wait_stored $((TOTAL / 20)) "learner start"
run_learner

wait_stored "$STORE_KILL_AT" "store kill"
sigkill store
maybe_kill_learner
start store store "$BIN/ad-store" --port="$STORE_PORT" --metrics_port=-1 \
  --db="$TMP/db" --block_cache_mb=16 --write_buffer_mb=4
wait_port "$STORE_PORT"

wait_stored "$ENV_KILL_AT" "env server kill"
sigkill env
maybe_kill_learner
# The actor loses its env session: it flushes what it recorded and exits.
wait_exit actor 60
log "actor exited with $EXIT_CODE after the env server was killed"
start env env "$BIN/ad-env-server" --port="$ENV_PORT" --metrics_port=-1
wait_port "$ENV_PORT"
run_actor

wait_stored "$ACTOR_KILL_AT" "actor kill"
sigkill actor
maybe_kill_learner
run_actor

# (a) the last actor finishes every history.
for _ in $(seq 1800); do
  maybe_kill_learner
  alive actor || break
  sleep 0.1
done
wait_exit actor 1
((EXIT_CODE == 0)) || fail "the restarted actor exited with $EXIT_CODE (see actor.log)"
log "actor done"

# (c) the learner: killed after its checkpoint, resumed, reaches its end.
for _ in $(seq 1800); do
  maybe_kill_learner
  ((LEARNER_KILLED == 1)) && ! alive learner && break
  sleep 0.1
done
((LEARNER_KILLED == 1)) || fail "the learner never reached checkpoint $LEARNER_KILL_AT_CKPT"
wait_exit learner 1
((EXIT_CODE == 0)) || fail "the restarted learner exited with $EXIT_CODE (see learner.log)"
RESUMED=$(grep -o 'resumed from .* at step [0-9]*' "$TMP/learner.log" |
  sed 's/.* //' | tail -n 1)
((${RESUMED:-0} > 0)) || fail "the restarted learner did not resume from a checkpoint (see learner.log)"
grep -q "training stopped at step $LEARNER_STEPS" "$TMP/learner.log" ||
  fail "the learner did not reach step $LEARNER_STEPS (see learner.log)"
log "learner resumed at step $RESUMED and reached step $LEARNER_STEPS"

# --- (b) the oracle: the same actor without faults, into a fresh store -----
start oracle_store oracle-store "$BIN/ad-store" --port=0 --metrics_port=-1 \
  --db="$TMP/oracle-db" --block_cache_mb=16 --write_buffer_mb=4
ORACLE_PORT=$(port_of oracle-store)
"$BIN/ad-actor" "${ACTOR_FLAGS[@]}" --env=local \
  --sink="store:127.0.0.1:$ORACLE_PORT" >"$TMP/oracle-actor.log" 2>&1 ||
  fail "the oracle actor failed (see oracle-actor.log)"

((TOTAL == $(stored "$ORACLE_PORT"))) || fail "the oracle store holds $(stored "$ORACLE_PORT") transitions, not $TOTAL"
((TOTAL == $(stored "$STORE_PORT"))) || fail "the chaos store holds $(stored "$STORE_PORT") transitions, the oracle $TOTAL"
# listing PORT NAME: the store's stats, tasks and each task's histories.
listing() {
  local t
  "$BIN/adctl" store stats --store="127.0.0.1:$1" | grep -v '^db_bytes' >"$TMP/$2.txt"
  "$BIN/adctl" store tasks --store="127.0.0.1:$1" >>"$TMP/$2.txt"
  for t in $(awk 'NR > 1 { print $2 }' "$TMP/$2.txt" | grep '/' | sort -u); do
    "$BIN/adctl" store histories --task="$t" --store="127.0.0.1:$1" >>"$TMP/$2.txt"
    "$BIN/adctl" store export --task="$t" --format=csv --store="127.0.0.1:$1" \
      --out="$TMP/$2-${t//[\/=,]/_}.csv"
  done
}
listing "$STORE_PORT" chaos
listing "$ORACLE_PORT" oracle
diff -q "$TMP/chaos.txt" "$TMP/oracle.txt" >/dev/null ||
  fail "history listings differ: $(diff "$TMP/chaos.txt" "$TMP/oracle.txt" | head -n 10)"
for f in "$TMP"/oracle-*.csv; do
  c=$TMP/chaos-${f#"$TMP"/oracle-}
  [[ -s $f ]] || fail "empty export $f"
  cmp -s "$f" "$c" || fail "transitions differ: $(basename "$f") vs $(basename "$c"):" \
    "$(diff "$f" "$c" | head -n 5)"
done
((TOTAL + TASKS == $(cat "$TMP"/chaos-*.csv | wc -l))) ||
  fail "exports hold $(cat "$TMP"/chaos-*.csv | wc -l) lines, expected $TOTAL rows and $TASKS headers"
grep -q "complete $((TASKS * STREAMS)))" "$TMP/chaos.txt" ||
  fail "not every history is complete: $(head -n 1 "$TMP/chaos.txt")"
log "stores identical: $TOTAL transitions in $((TASKS * STREAMS)) complete histories"

# --- (d) the evaluator on the final checkpoint ------------------------------
CKPT=$(ls "$TMP/ckpt"/ckpt-*.pt | sort -V | tail -n 1)
"$BIN/adctl" eval incontext --checkpoint="$CKPT" --env=darkroom --tasks=test \
  --max_tasks=2 --seeds=2 --episodes=4 --baselines=random --threads=1 \
  --plot=false --out="$TMP/eval" >"$TMP/eval.log" 2>&1 ||
  fail "adctl eval incontext failed (see eval.log)"
ROWS=$(($(wc -l <"$TMP/eval/curves.csv") - 1))
((ROWS > 0)) || fail "curves.csv has no rows"
log "PASS: evaluator wrote $ROWS curve rows from $(basename "$CKPT")"
