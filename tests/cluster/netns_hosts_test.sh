#!/usr/bin/env bash
# Several hosts on one box: the store, an env server, two actor hosts and a
# learner host each live in their own network namespace with their own
# address, joined by a bridge that lives in a sixth, "switch" namespace.
#
#   ns store    10.213.0.2  ad-store      (gRPC 50052, metrics 9103)
#   ns env      10.213.0.3  ad-env-server (gRPC 50051, metrics 9101)
#   ns actor1   10.213.0.11 ad-actor --tasks=goal 1,2 and 3,4 --seed=101
#   ns actor2   10.213.0.12 ad-actor --tasks=goal 5,6 and 7,8 --seed=202
#   ns learner  10.213.0.21 ad-learner --steps=5 --exit_when_done
#   ns switch   bridge br0 with one veth port per host (p-store, p-env, ...)
#
# Nothing is added to the root namespace: every veth is created inside the
# switch namespace with its peer moved straight into a host namespace, and no
# namespace has a default route, so no packet can leave the veths made here.
#
# Asserts: the store holds the histories of both actor hosts (their tasks and
# seeds), each actor host's veth carried the bytes of its appends, the learner
# sampled windows from the store over the bridge and wrote a checkpoint.
#
# Usage: tests/cluster/netns_hosts_test.sh   (root; AD_BIN_DIR=build/bin)
# Exit: 0 pass, 1 fail, 77 skip (no permission for network namespaces).
set -euo pipefail

BIN=${AD_BIN_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}
PREFIX="adt$$"      # namespace names: adt<pid>-<host>
SUBNET=10.213.0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ad-netns.XXXXXX")
PIDS=()
WATCHDOG=
NAMESPACES=()

TEST_NAME=netns_hosts
source "$(dirname "$0")/../testing/test_log.sh"

cleanup() {
  local rc=$?
  kill "$WATCHDOG" 2>/dev/null || true
  stop_pids "${PIDS[@]}"
  # Anything still running inside our namespaces (e.g. an actor started by a
  # background subshell) was started by this script.
  for ns in "${NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  # Deleting a namespace destroys the veth ends inside it (and their peers).
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  show_logs_on_failure "$rc" "$TMP"
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
start_watchdog 150

BIN=$(cd "$BIN" 2>/dev/null && pwd) || fail "AD_BIN_DIR ${AD_BIN_DIR:-} is not a directory"
for b in ad-store ad-env-server ad-actor ad-learner adctl; do
  [[ -x $BIN/$b ]] || fail "$BIN/$b is missing (build first: scripts/build.sh)"
done
command -v ip >/dev/null || skip "iproute2 (ip) is not installed"
command -v curl >/dev/null || skip "curl is not installed"

# Namespaces left by an earlier run of this test that was killed before its
# trap ran (its pid is gone): remove them and whatever still runs inside.
for old in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^adt[0-9]+-' || true); do
  oldpid=$(sed -E 's/^adt([0-9]+).*/\1/' <<<"$old")
  kill -0 "$oldpid" 2>/dev/null && continue
  for pid in $(ip netns pids "$old" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip netns del "$old" 2>/dev/null || true
  rm -rf "/etc/netns/$old"
done

# --- topology --------------------------------------------------------------
SW="$PREFIX-switch"
if ! ip netns add "$SW" 2>"$TMP/netns.err"; then
  skip "cannot create a network namespace ($(cat "$TMP/netns.err")); needs root/CAP_SYS_ADMIN"
fi
NAMESPACES+=("$SW")
ip -n "$SW" link set lo up
ip -n "$SW" link add br0 type bridge
ip -n "$SW" link set br0 up

# add_host NAME ADDR: namespace $PREFIX-NAME with eth0=ADDR/24 on the bridge.
add_host() {
  local name=$1 addr=$2 ns="$PREFIX-$1"
  ip netns add "$ns"
  NAMESPACES+=("$ns")
  ip -n "$ns" link set lo up
  ip -n "$SW" link add "p-$name" type veth peer name eth0 netns "$ns"
  ip -n "$SW" link set "p-$name" master br0 up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
}
add_host store "$SUBNET.2"
add_host env "$SUBNET.3"
add_host actor1 "$SUBNET.11"
add_host actor2 "$SUBNET.12"
add_host learner "$SUBNET.21"
log "namespaces: ${NAMESPACES[*]} on $SUBNET.0/24"

in_ns() {  # in_ns HOST CMD...
  local ns="$PREFIX-$1"
  shift
  ip netns exec "$ns" "$@"
}

# wait_tcp HOST ADDR PORT SERVICE: from HOST's namespace until ADDR:PORT accepts.
wait_tcp() {
  local host=$1 addr=$2 port=$3 service=$4
  for _ in $(seq 150); do
    if in_ns "$host" bash -c "exec 3<>/dev/tcp/$addr/$port" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  fail "$service at $addr:$port is not reachable from the $host namespace after 30 s"
}

# No host has a route off this subnet.
if in_ns actor1 ip route get 1.1.1.1 >/dev/null 2>&1; then
  fail "actor1 namespace has a route off $SUBNET.0/24; refusing to run"
fi

# --- services ----------------------------------------------------------------
in_ns store "$BIN/ad-store" --host="$SUBNET.2" --port=50052 --metrics_port=9103 \
  --db="$TMP/store-db" >"$TMP/store.log" 2>&1 &
PIDS+=($!)
in_ns env "$BIN/ad-env-server" --host="$SUBNET.3" --port=50051 --metrics_port=9101 \
  >"$TMP/env-server.log" 2>&1 &
PIDS+=($!)
wait_tcp actor1 "$SUBNET.2" 50052 ad-store
wait_tcp actor1 "$SUBNET.3" 50051 ad-env-server
wait_tcp actor2 "$SUBNET.2" 50052 ad-store
wait_tcp actor2 "$SUBNET.3" 50051 ad-env-server
log "store on $SUBNET.2:50052, env server on $SUBNET.3:50051"

# --- two actor hosts fill the store at the same time ---------------------------
start=$(date +%s)
run_actor() {  # run_actor HOST SEED TASKS
  in_ns "$1" timeout 90 "$BIN/ad-actor" --family=darkroom --split=train --source=noisy_expert \
    --preset=test --seed="$2" --tasks="$3" --env="$SUBNET.3:50051" \
    --sink="store:$SUBNET.2:50052" --metrics_port=-1 >"$TMP/$1.log" 2>&1
}
run_actor actor1 101 "darkroom/goal=1,2 darkroom/goal=3,4" &
a1=$!
run_actor actor2 202 "darkroom/goal=5,6 darkroom/goal=7,8" &
a2=$!
PIDS+=("$a1" "$a2")
wait "$a1" || fail "ad-actor on host actor1 exited with $? (see actor1.log)"
wait "$a2" || fail "ad-actor on host actor2 exited with $? (see actor2.log)"
log "both actor hosts finished in $(($(date +%s) - start)) s"

# --- what the store holds ------------------------------------------------------
in_ns learner "$BIN/adctl" store tasks --store="$SUBNET.2:50052" >"$TMP/tasks.txt" ||
  fail "adctl store tasks against the store host failed"
cat "$TMP/tasks.txt" >&2
for goal in 1,2 3,4 5,6 7,8; do
  line=$(grep -F "darkroom/goal=$goal " "$TMP/tasks.txt") ||
    fail "store has no histories of darkroom/goal=$goal"
  n=$(awk '{print $4}' <<<"$line")
  ((n == 8)) || fail "store has $n histories of darkroom/goal=$goal, want 8 (test preset streams)"
done
check_seed() {  # check_seed GOAL SEED HOST
  in_ns learner "$BIN/adctl" store histories --task="darkroom/goal=$1" \
    --store="$SUBNET.2:50052" >"$TMP/histories-$1.txt" ||
    fail "adctl store histories --task=darkroom/goal=$1 failed"
  grep -q "seed=$2" "$TMP/histories-$1.txt" ||
    fail "histories of darkroom/goal=$1 do not carry seed $2 of host $3"
}
check_seed 1,2 101 actor1
check_seed 7,8 202 actor2

# Each actor host's own veth carried its appends to the store (>= 1 MB each:
# 64000 transitions per host).
for host in actor1 actor2; do
  # Bytes the switch port received = bytes the host sent.
  rx=$(ip -n "$SW" -s -j link show "p-$host" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["bytes"])')
  log "host $host sent $rx bytes over its veth"
  ((rx > 1000000)) || fail "host $host sent only $rx bytes over its veth; its appends did not cross the bridge"
done

# --- the learner host samples windows from the store -------------------------
in_ns learner timeout 90 "$BIN/ad-learner" --host="$SUBNET.21" --port=50053 --metrics_port=-1 \
  --store="$SUBNET.2:50052" --preset=test --steps=5 --exit_when_done --threads=1 \
  --progress=false --checkpoint_dir="$TMP/checkpoints" >"$TMP/learner.log" 2>&1 ||
  fail "ad-learner on the learner host exited with $? (see learner.log)"
ls "$TMP"/checkpoints/ckpt-*5.pt >/dev/null 2>&1 ||
  fail "ad-learner wrote no step-5 checkpoint under $TMP/checkpoints"
sampled=$(in_ns learner curl -fsS "http://$SUBNET.2:9103/metrics" |
  awk '$1 == "ad_store_sampled_windows_total" {print int($2)}')
[[ -n $sampled ]] || fail "ad-store /metrics has no ad_store_sampled_windows_total"
((sampled > 0)) || fail "ad_store_sampled_windows_total is $sampled: the learner sampled nothing"
log "learner trained 5 steps on windows sampled over the bridge ($sampled windows)"
log "PASS in $(($(date +%s) - start)) s"
