#!/usr/bin/env bash
# docker-compose.yml without a Docker engine: takes each service's command
# exactly as `docker-compose config` renders it and runs it on this machine,
# inside one private network namespace whose /etc/hosts (ip netns exec's
# /etc/netns/NAME/hosts) maps the compose service names env-server, store,
# learner, evaluator and actor to its loopback. Debian's prometheus then
# scrapes with deploy/prometheus.yml unchanged.
#
# What this proves: every flag in the compose commands exists and the
# services find each other by their compose names and ports; the learner's
# ad-wait-for-store wrapper and the actor's ad-run-actor wrapper work; the
# Prometheus config scrapes env-server, store, learner and evaluator.
# What it cannot prove: the image build, volumes, healthchecks, --scale, and
# the actor job (it uses DNS-SD: Docker's DNS answers "actor" per replica,
# /etc/hosts is not asked). Small presets come through the compose file's
# own knobs (AD_ACTOR_PRESET=test ...); /var/lib/ad paths move to a temp dir.
#
# Usage: tests/cluster/compose_commands_test.sh   (root; AD_BIN_DIR=build/bin)
# Exit: 0 pass, 1 fail, 77 skip (no netns permission, docker-compose or prometheus).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${AD_BIN_DIR:-$ROOT/build/bin}
NS="adc$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ad-compose.XXXXXX")
PIDS=()
WATCHDOG=
NS_MADE=0
T0=$(date +%s)

TEST_NAME=compose_commands
source "$(dirname "$0")/../testing/test_log.sh"

cleanup() {
  local rc=$?
  kill "$WATCHDOG" 2>/dev/null || true
  stop_pids "${PIDS[@]}"
  if ((NS_MADE)); then
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
  fi
  rm -rf "/etc/netns/$NS"
  show_logs_on_failure "$rc" "$TMP"
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
start_watchdog 165

command -v docker-compose >/dev/null || skip "no docker-compose (Debian package docker-compose)"
command -v prometheus >/dev/null || skip "no prometheus (Debian package prometheus)"
command -v ip >/dev/null || skip "no ip (iproute2)"
BIN=$(cd "$BIN" 2>/dev/null && pwd) || fail "AD_BIN_DIR ${AD_BIN_DIR:-} is not a directory"
for b in ad-store ad-env-server ad-actor ad-learner ad-evaluator adctl; do
  [[ -x $BIN/$b ]] || fail "$BIN/$b is missing (build first: scripts/build.sh)"
done

# --- the compose commands, rendered by docker-compose itself ----------------
AD_ACTOR_SOURCE=noisy_expert AD_ACTOR_PRESET=test AD_ACTOR_MAX_TASKS=2 AD_LEARNER_PRESET=test \
  AD_LEARNER_MIN_TRANSITIONS=5000 \
  docker-compose -f "$ROOT/docker-compose.yml" --project-directory "$ROOT" config \
  >"$TMP/compose.yml" 2>"$TMP/compose-config.log" ||
  fail "docker-compose config failed (see compose-config.log)"
# One line per service: NAME<TAB>shell-quoted command, /var/lib/ad -> $TMP/var.
python3 - "$TMP/compose.yml" "$TMP/var" >"$TMP/commands.txt" <<'EOF'
import shlex, sys, yaml
compose, var = sys.argv[1], sys.argv[2]
services = yaml.safe_load(open(compose))["services"]
for name in ["env-server", "store", "learner", "evaluator", "actor"]:
    cmd = services[name]["command"]
    cmd = cmd.split() if isinstance(cmd, str) else cmd
    cmd = [str(a).replace("/var/lib/ad", var) for a in cmd]
    print(name + "\t" + " ".join(shlex.quote(a) for a in cmd))
EOF
mkdir -p "$TMP/var/store" "$TMP/var/checkpoints" "$TMP/var/eval" "$TMP/path"
# The image's PATH: the binaries plus the two wrappers under their image names.
ln -s "$ROOT/deploy/wait-for-store.sh" "$TMP/path/ad-wait-for-store"
ln -s "$ROOT/deploy/run-actor.sh" "$TMP/path/ad-run-actor"
IMAGE_PATH="$TMP/path:$BIN:$PATH"

# Namespaces left by an earlier run of this test that was killed before its
# trap ran (its pid is gone): remove them and whatever still runs inside.
for old in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^adc[0-9]+$' || true); do
  oldpid=$(sed -E 's/^adc([0-9]+).*/\1/' <<<"$old")
  kill -0 "$oldpid" 2>/dev/null && continue
  for pid in $(ip netns pids "$old" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip netns del "$old" 2>/dev/null || true
  rm -rf "/etc/netns/$old"
done

# --- one namespace, compose names on its loopback ---------------------------
if ! ip netns add "$NS" 2>"$TMP/netns.err"; then
  skip "cannot create a network namespace ($(cat "$TMP/netns.err")); needs root"
fi
NS_MADE=1
ip -n "$NS" link set lo up
mkdir -p "/etc/netns/$NS"
echo "127.0.0.1 localhost env-server store learner evaluator actor" >"/etc/netns/$NS/hosts"

run_service() {  # run_service NAME: the compose command of NAME, in the namespace
  local name=$1 cmd
  cmd=$(awk -F'\t' -v n="$name" '$1 == n {print $2}' "$TMP/commands.txt")
  [[ -n $cmd ]] || fail "docker-compose config rendered no command for $name"
  log "$name: $cmd"
  ip netns exec "$NS" env PATH="$IMAGE_PATH" HOME="$TMP" bash -c "cd '$TMP/var' && exec $cmd" \
    >"$TMP/$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_${name//-/_}=$!"
}
in_ns() { ip netns exec "$NS" env PATH="$IMAGE_PATH" "$@"; }

run_service env-server
run_service store
run_service learner   # waits in ad-wait-for-store until the actor's data arrives
run_service evaluator
alive() {
  local name
  for name in env-server store learner evaluator; do
    local pid_var="PID_${name//-/_}"
    kill -0 "${!pid_var}" 2>/dev/null || fail "$name exited early (see $name.log)"
  done
}
for _ in $(seq 100); do
  alive
  in_ns adctl store stats --store=store:50052 --timeout=2s >/dev/null 2>&1 && break
  sleep 0.3
done
run_service actor
wait "$PID_actor" || fail "actor (ad-run-actor ...) exited with $? (see actor.log)"
alive
grep -q "uses --seed=" "$TMP/actor.log" || fail "ad-run-actor did not report its seed"
log "actor done in $(($(date +%s) - T0)) s"

in_ns adctl store stats --store=store:50052 >"$TMP/stats.txt" ||
  fail "adctl store stats --store=store:50052 failed"
transitions=$(awk '$1 == "transitions" {print $2}' "$TMP/stats.txt")
((transitions > 0)) || fail "the store holds no transitions after the actor ran"

# --- Prometheus with deploy/prometheus.yml, unchanged --------------------------
ip netns exec "$NS" prometheus --config.file="$ROOT/deploy/prometheus.yml" \
  --storage.tsdb.path="$TMP/tsdb" --web.listen-address=127.0.0.1:9090 \
  >"$TMP/prometheus.log" 2>&1 &
PIDS+=($!)

# --- what must be true ----------------------------------------------------------
in_ns python3 - <<'EOF' || fail "checks against the running compose commands failed (above)"
import json, sys, time, urllib.parse, urllib.request

def say(msg):
    print(f"[compose_commands] {msg}", file=sys.stderr, flush=True)

def query(expr):
    url = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)["data"]["result"]
    except OSError:
        return None

# (job, metric, minimum): scraped through the compose service names.
want = [
    ("ad-env-server", "ad_env_steps_total", 1),
    ("ad-store", "ad_store_appended_transitions_total", 1),
    ("ad-learner", "ad_learner_step", 1),
    ("ad-evaluator", "ad_evaluator_watch_evaluations_total", 1),
]
deadline = time.time() + 90
while True:
    up = {r["metric"]["job"]: r["value"][1] for r in (query("up") or [])}
    have = {}
    for job, metric, _ in want:
        res = query(f'sum({metric}{{job="{job}"}})') or []
        have[(job, metric)] = float(res[0]["value"][1]) if res else None
    bad = [f"{j}: up={up.get(j)}, {m}={have[(j, m)]} (want >= {lo})"
           for j, m, lo in want
           if up.get(j) != "1" or have[(j, m)] is None or have[(j, m)] < lo]
    if not bad or time.time() > deadline:
        break
    time.sleep(1)
for j, m, _ in want:
    say(f"{j:14} up={up.get(j)} {m}={have[(j, m)]}")
if bad:
    say("not satisfied after 90 s: " + "; ".join(bad))
    sys.exit(1)
EOF
log "PASS in $(($(date +%s) - T0)) s"
