#!/bin/sh
# ad-wait-for-store STORE MIN_TRANSITIONS [TIMEOUT_S] [-- CMD ARGS...]
#
# Polls `adctl store stats --store=STORE` until the store holds at least
# MIN_TRANSITIONS transitions, then execs CMD (or exits 0 without one).
# The learner uses it: ad-learner exits with NOT_FOUND when no history
# matches its filter yet, and in a fresh cluster the actors start together
# with it. TIMEOUT_S (default 0: forever) makes it exit 1 instead.
# AD_ADCTL_FLAGS (optional) is passed to adctl as extra flags, e.g. with TLS
# on: AD_ADCTL_FLAGS="--tls_ca=/etc/ad/tls/ca.pem --auth_token_file=/etc/ad/tls/token".
set -eu
if [ $# -lt 2 ]; then
  echo "usage: ad-wait-for-store STORE MIN_TRANSITIONS [TIMEOUT_S] [-- CMD ARGS...]" >&2
  exit 2
fi
store=$1
min=$2
shift 2
timeout=0
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  timeout=$1
  shift
fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
start=$(date +%s)
while :; do
  have=$(adctl store stats --store="$store" --timeout=5s ${AD_ADCTL_FLAGS:-} 2>/dev/null |
    awk '$1 == "transitions" {print $2}') || have=""
  if [ -n "$have" ] && [ "$have" -ge "$min" ]; then
    echo "ad-wait-for-store: $store holds $have transitions (>= $min)" >&2
    break
  fi
  if [ "$timeout" -gt 0 ] && [ $(($(date +%s) - start)) -ge "$timeout" ]; then
    echo "ad-wait-for-store: $store holds ${have:-?} transitions after ${timeout}s; want $min" >&2
    exit 1
  fi
  echo "ad-wait-for-store: $store holds ${have:-?} transitions; waiting for $min" >&2
  sleep 5
done
if [ $# -gt 0 ]; then exec "$@"; fi
