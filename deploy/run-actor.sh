#!/bin/sh
# ad-run-actor [AD-ACTOR FLAGS...]
#
# Runs ad-actor with a --seed unique to this replica, so that N identical
# replicas (`docker compose up --scale actor=N`, a Kubernetes Deployment with
# N replicas) write N distinct sets of histories instead of N copies of the
# same history ids (which the store would drop as duplicate appends).
# The seed is AD_ACTOR_SEED when set, else a checksum of the hostname (the
# container id under compose, the pod name under Kubernetes).
set -eu
seed=${AD_ACTOR_SEED:-$(hostname | cksum | cut -d' ' -f1)}
echo "ad-run-actor: $(hostname) uses --seed=$seed" >&2
exec ad-actor --seed="$seed" "$@"
