#!/usr/bin/env bash
# Real Prometheus against every AD service. Starts on loopback ports the
# services pick themselves (--port=0 --metrics_port=0, read back from their
# logs): ad-env-server, ad-store, an ad-actor doing real work (DQN through the
# env server into the store), ad-learner (training from the store) and
# ad-evaluator (--watch on the learner's checkpoints). Then Debian's
# `prometheus` scrapes them every second, and the test asks its HTTP API:
#   - up == 1 for each of the five targets;
#   - each service's key metric is present and rises between two queries:
#       env-server ad_env_steps_total, store ad_store_appended_transitions_total
#       and ad_store_sampled_windows_total, actor ad_actor_env_steps_total,
#       learner ad_learner_step, evaluator ad_evaluator_watch_evaluations_total.
#
# Usage: tests/cluster/prometheus_scrape_test.sh   (AD_BIN_DIR=build/bin)
# Exit: 0 pass, 1 fail, 77 skip (no prometheus binary). Bounded to ~90 s.
set -euo pipefail

BIN=${AD_BIN_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}
PROMETHEUS=${PROMETHEUS:-prometheus}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ad-prom.XXXXXX")
PIDS=()
WATCHDOG=
T0=$(date +%s)

TEST_NAME=prometheus_scrape
source "$(dirname "$0")/../testing/test_log.sh"

cleanup() {
  local rc=$?
  kill "$WATCHDOG" 2>/dev/null || true
  stop_pids "${PIDS[@]}"
  show_logs_on_failure "$rc" "$TMP"
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
start_watchdog 150

command -v "$PROMETHEUS" >/dev/null || {
  log "SKIP: no prometheus binary (Debian package 'prometheus')"
  exit 77
}
BIN=$(cd "$BIN" 2>/dev/null && pwd) || fail "AD_BIN_DIR ${AD_BIN_DIR:-} is not a directory"
for b in ad-store ad-env-server ad-actor ad-learner ad-evaluator; do
  [[ -x $BIN/$b ]] || fail "$BIN/$b is missing (build first: scripts/build.sh)"
done

# start NAME CMD...: runs CMD in the background, output in $TMP/NAME.log.
start() {
  local name=$1
  shift
  "$@" >"$TMP/$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_${name//-/_}=$!"
}

# ports_of NAME: waits for "listening on 127.0.0.1:G metrics 127.0.0.1:M" in
# NAME's log and sets GRPC_PORT=G METRICS_PORT=M.
ports_of() {
  local name=$1 pid_var="PID_${1//-/_}" line
  for _ in $(seq 300); do
    line=$(grep -o 'listening on 127\.0\.0\.1:[0-9]* metrics 127\.0\.0\.1:[0-9]*' \
      "$TMP/$name.log" 2>/dev/null | head -n 1) || true
    if [[ -n $line ]]; then
      read -r GRPC_PORT METRICS_PORT < <(sed -E 's/.*:([0-9]+) metrics .*:([0-9]+)$/\1 \2/' <<<"$line")
      return 0
    fi
    kill -0 "${!pid_var}" 2>/dev/null || fail "$name exited before listening (see $name.log)"
    sleep 0.1
  done
  fail "$name did not report its ports within 30 s"
}

start env-server "$BIN/ad-env-server" --port=0 --metrics_port=0
start store "$BIN/ad-store" --port=0 --metrics_port=0 --db="$TMP/store-db"
ports_of env-server
ENV_PORT=$GRPC_PORT ENV_METRICS=$METRICS_PORT
ports_of store
STORE_PORT=$GRPC_PORT STORE_METRICS=$METRICS_PORT
log "env-server :$ENV_PORT (metrics :$ENV_METRICS), store :$STORE_PORT (metrics :$STORE_METRICS)"

# The learner needs data before it starts: a quick actor seeds the store.
timeout 60 "$BIN/ad-actor" --source=noisy_expert --preset=test --max_tasks=2 \
  --env="127.0.0.1:$ENV_PORT" --sink="store:127.0.0.1:$STORE_PORT" \
  --metrics_port=-1 >"$TMP/seed-actor.log" 2>&1 ||
  fail "seeding ad-actor (noisy_expert) exited with $? (see seed-actor.log)"

# The scraped actor keeps working for minutes: DQN through the env server,
# small chunks so the store's counter moves often.
start actor "$BIN/ad-actor" --source=dqn --preset=test --max_tasks=40 \
  --chunk_transitions=256 --seed=2 --env="127.0.0.1:$ENV_PORT" \
  --sink="store:127.0.0.1:$STORE_PORT" --metrics_port=0
ACTOR_METRICS=
for _ in $(seq 300); do
  ACTOR_METRICS=$(grep -o 'metrics on [0-9.]*:[0-9]*' "$TMP/actor.log" |
    head -n 1 | cut -d: -f2) || true
  [[ -n $ACTOR_METRICS ]] && break
  kill -0 "$PID_actor" 2>/dev/null || fail "ad-actor exited before serving metrics (see actor.log)"
  sleep 0.1
done
[[ -n $ACTOR_METRICS ]] || fail "ad-actor did not report its metrics port within 30 s"

start learner "$BIN/ad-learner" --port=0 --metrics_port=0 \
  --store="127.0.0.1:$STORE_PORT" --preset=test --steps=1000000 \
  --set="train.checkpoint_every=100" --threads=1 --progress=false \
  --checkpoint_dir="$TMP/checkpoints"
ports_of learner
LEARNER_PORT=$GRPC_PORT LEARNER_METRICS=$METRICS_PORT
start evaluator "$BIN/ad-evaluator" --port=0 --metrics_port=0 --threads=1 \
  --output_dir="$TMP/eval" --watch --learner="127.0.0.1:$LEARNER_PORT" \
  --watch_poll=1s --watch_max_tasks=2 --watch_seeds=2 --watch_episodes=4
ports_of evaluator
EVAL_METRICS=$METRICS_PORT
log "actor metrics :$ACTOR_METRICS, learner :$LEARNER_PORT (metrics :$LEARNER_METRICS), evaluator metrics :$EVAL_METRICS"

# --- Prometheus -------------------------------------------------------------
PROM_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ad-env-server
    static_configs: [{targets: ["127.0.0.1:$ENV_METRICS"]}]
  - job_name: ad-store
    static_configs: [{targets: ["127.0.0.1:$STORE_METRICS"]}]
  - job_name: ad-actor
    static_configs: [{targets: ["127.0.0.1:$ACTOR_METRICS"]}]
  - job_name: ad-learner
    static_configs: [{targets: ["127.0.0.1:$LEARNER_METRICS"]}]
  - job_name: ad-evaluator
    static_configs: [{targets: ["127.0.0.1:$EVAL_METRICS"]}]
EOF
if command -v promtool >/dev/null; then
  promtool check config "$TMP/prometheus.yml" >"$TMP/promtool.log" 2>&1 ||
    fail "promtool rejects the generated prometheus.yml (see promtool.log)"
fi
start prometheus "$PROMETHEUS" --config.file="$TMP/prometheus.yml" \
  --storage.tsdb.path="$TMP/tsdb" --web.listen-address="127.0.0.1:$PROM_PORT"
log "prometheus on 127.0.0.1:$PROM_PORT"

# --- what Prometheus saw ------------------------------------------------------
python3 - "$PROM_PORT" "$PID_prometheus" <<'EOF' || fail "Prometheus checks failed (above)"
import json, os, sys, time, urllib.parse, urllib.request

port, prom_pid = sys.argv[1], int(sys.argv[2])
JOBS = ["ad-env-server", "ad-store", "ad-actor", "ad-learner", "ad-evaluator"]
# (job, metric): the key metric of each service; every one must rise.
KEY = [
    ("ad-env-server", "ad_env_steps_total"),
    ("ad-store", "ad_store_appended_transitions_total"),
    ("ad-store", "ad_store_sampled_windows_total"),
    ("ad-actor", "ad_actor_env_steps_total"),
    ("ad-learner", "ad_learner_step"),
    ("ad-evaluator", "ad_evaluator_watch_evaluations_total"),
]

def say(msg):
    print(f"[prometheus_scrape] {msg}", file=sys.stderr, flush=True)

def query(expr):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"query {expr!r}: {body}")
    return body["data"]["result"]

def value(job, metric):
    """The sample of `metric` scraped from `job`, or None when absent."""
    res = query(f'sum({metric}{{job="{job}"}})')
    return float(res[0]["value"][1]) if res else None

def alive():
    try:
        os.kill(prom_pid, 0)
        return True
    except OSError:
        return False

# 1. Every target up.
deadline = time.time() + 30
up = {}
while time.time() < deadline:
    if not alive():
        say("prometheus exited (see prometheus.log)")
        sys.exit(1)
    try:
        up = {r["metric"]["job"]: float(r["value"][1]) for r in query("up")}
    except OSError:
        up = {}
    if all(up.get(j) == 1 for j in JOBS):
        break
    time.sleep(0.5)
down = [j for j in JOBS if up.get(j) != 1]
if down:
    say(f"targets not up after 30 s: {down} (up = {up})")
    sys.exit(1)
say("up == 1 for " + ", ".join(JOBS))

# 2. Key metrics present (first query) ...
deadline = time.time() + 20
first = {}
while time.time() < deadline:
    first = {k: value(*k) for k in KEY}
    if all(v is not None for v in first.values()):
        break
    time.sleep(0.5)
missing = [f"{m} (job {j})" for (j, m), v in first.items() if v is None]
if missing:
    say("metrics absent from Prometheus: " + ", ".join(missing))
    sys.exit(1)
for (j, m), v in first.items():
    say(f"first:  {j:14} {m} = {v:g}")

# 3. ... and rising (later queries, at least 3 s on, up to 40 s).
time.sleep(3)
deadline = time.time() + 40
while True:
    later = {k: value(*k) for k in KEY}
    flat = [k for k in KEY if later[k] is None or later[k] <= first[k]]
    if not flat or time.time() > deadline:
        break
    time.sleep(1)
for (j, m), v in later.items():
    say(f"later:  {j:14} {m} = {v:g}")
if flat:
    say("not increasing: " + ", ".join(f"{m} of {j} ({first[(j, m)]:g} -> {later[(j, m)]})" for j, m in flat))
    sys.exit(1)
EOF
log "PASS in $(($(date +%s) - T0)) s"
