#!/usr/bin/env bash
# Offline checks of the deployment files (no Docker engine, no Kubernetes API
# server needed). Registered with ctest as cluster.deploy_files.
#   1. docker-compose config -q      docker-compose.yml is valid compose
#   2. check_compose.py              compose wiring agrees with deploy/prometheus.yml
#                                    and deploy/k8s (images, programs, ports, flags);
#                                    local images only, host ports on 127.0.0.1
#   3. promtool check config         deploy/prometheus.yml
#   4. check_k8s.py                  structure and wiring of deploy/k8s/*.yaml
#   5. promtool check config         the k8s Prometheus config, from its ConfigMap
#   6. kubectl kustomize             deploy/k8s renders as one kustomization
#   7. sh -n / bash -n               the image's helper scripts, build-images.sh, dockerd.sh
# A missing tool skips its step with a message; the script then exits 77
# (ctest: skipped) unless a step failed (exit 1).
set -uo pipefail
cd "$(dirname "$0")/.."
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ad-deploy-check.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
failed=0
skipped=0

step() {  # step NAME CMD...: runs CMD, reports, counts failures
  local name=$1
  shift
  if "$@" >"$TMP/out" 2>&1; then
    echo "ok    $name"
  else
    echo "FAIL  $name"
    sed 's/^/      /' "$TMP/out"
    failed=$((failed + 1))
  fi
}
need() {  # need TOOL STEP: true if TOOL exists, else reports the skip
  if command -v "$1" >/dev/null; then return 0; fi
  echo "skip  $2 (no $1 on PATH)"
  skipped=$((skipped + 1))
  return 1
}

if need docker-compose "docker-compose config"; then
  # Interpolation defaults only: ignore any .env or AD_* of the caller.
  step "docker-compose config (docker-compose.yml)" \
    env -u AD_ACTOR_SOURCE -u AD_ACTOR_PRESET -u AD_ACTOR_MAX_TASKS -u AD_LEARNER_PRESET \
    -u AD_LEARNER_STEPS -u AD_EVALUATOR_WATCH_POLL \
    docker-compose -f docker-compose.yml --project-directory . config -q
fi
if need python3 "compose/k8s checkers"; then
  step "check_compose.py (docker-compose.yml vs deploy/prometheus.yml, deploy/k8s)" \
    python3 deploy/check_compose.py docker-compose.yml deploy/prometheus.yml deploy/k8s
  step "check_k8s.py (deploy/k8s)" \
    python3 deploy/check_k8s.py deploy/k8s --extract-prometheus "$TMP/k8s-prometheus.yml"
fi
if need promtool "promtool check config"; then
  step "promtool check config deploy/prometheus.yml" promtool check config deploy/prometheus.yml
  if [[ -s $TMP/k8s-prometheus.yml ]]; then
    step "promtool check config (deploy/k8s ConfigMap prometheus-config)" \
      promtool check config "$TMP/k8s-prometheus.yml"
  fi
fi
if need kubectl "kubectl kustomize deploy/k8s"; then
  # Rendering is offline; `kubectl apply --dry-run=client` is not (it asks
  # the API server for its resource list), so schema checks stay with
  # check_k8s.py.
  step "kubectl kustomize deploy/k8s" kubectl kustomize deploy/k8s
fi
step "sh -n deploy/wait-for-store.sh deploy/run-actor.sh" \
  sh -c 'sh -n deploy/wait-for-store.sh && sh -n deploy/run-actor.sh'
step "bash -n deploy/build-images.sh deploy/dockerd.sh tests/compose/compose_up_test.sh" \
  sh -c 'bash -n deploy/build-images.sh && bash -n deploy/dockerd.sh &&
    bash -n tests/compose/compose_up_test.sh'

if ((failed > 0)); then
  echo "deploy/check.sh: $failed step(s) failed"
  exit 1
fi
if ((skipped > 0)); then
  echo "deploy/check.sh: passed, $skipped step(s) skipped for missing tools"
  exit 77
fi
echo "deploy/check.sh: all steps passed"
