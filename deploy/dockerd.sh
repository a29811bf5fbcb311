#!/usr/bin/env bash
# deploy/dockerd.sh start|stop|status: a Docker engine for the compose
# cluster on a machine without systemd (or where Docker's own firewall rules
# are not wanted), leaving the host's firewall and sysctls as they are.
#
#   start   if no engine answers `docker info`, starts Debian's dockerd in the
#           background and waits (60 s at most) until it answers; writes its
#           pid to $AD_DOCKERD_PIDFILE (default /run/ad-dockerd.pid)
#   stop    stops the dockerd that `start` started (SIGTERM; SIGKILL after
#           60 s); an engine started some other way is left running
#   status  says whether an engine answers and whether `start` started it
#
# The engine runs with --iptables=false --ip6tables=false --ip-masq=false
# --ip-forward=false --bridge=none: no iptables/nftables rule, no
# net.ipv4.ip_forward change and no docker0 bridge. Compose networks (one
# bridge per project) still connect their containers with each other, and
# ports published on 127.0.0.1 go through docker-proxy; containers reach
# nothing beyond the host (no NAT), which the cluster does not need.
# Measured: `iptables-save`, `ip6tables-save` and `nft list ruleset` print the
# same before, during and after a compose run (tests/compose/).
# Log: $AD_DOCKERD_LOG (default /var/log/ad-dockerd.log). Needs root.
set -euo pipefail
PIDFILE=${AD_DOCKERD_PIDFILE:-/run/ad-dockerd.pid}
LOG=${AD_DOCKERD_LOG:-/var/log/ad-dockerd.log}

log() { echo "[dockerd.sh] $*" >&2; }
answers() { docker info >/dev/null 2>&1; }
ours() {  # the pid in PIDFILE is a live dockerd
  [[ -f $PIDFILE ]] || return 1
  local pid
  pid=$(cat "$PIDFILE")
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]]
}

case ${1:-} in
  start)
    if answers; then
      log "a Docker engine already answers; nothing started"
      exit 0
    fi
    command -v dockerd >/dev/null || {
      log "no dockerd (apt-get install docker.io)"
      exit 1
    }
    [[ $(id -u) == 0 ]] || {
      log "dockerd needs root"
      exit 1
    }
    setsid dockerd --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
      --bridge=none >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    for _ in $(seq 120); do
      if answers; then
        log "dockerd $(cat "$PIDFILE") answers (log $LOG)"
        exit 0
      fi
      kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
      sleep 0.5
    done
    log "dockerd did not come up; last lines of $LOG:"
    tail -n 20 "$LOG" >&2
    exit 1
    ;;
  stop)
    if ! ours; then
      log "no dockerd started by dockerd.sh runs; nothing stopped"
      rm -f "$PIDFILE"
      exit 0
    fi
    pid=$(cat "$PIDFILE")
    kill -TERM "$pid"
    for _ in $(seq 120); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "dockerd $pid still runs after 60 s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    log "dockerd $pid stopped"
    ;;
  status)
    if answers; then echo "engine: answers"; else echo "engine: does not answer"; fi
    if ours; then echo "started by dockerd.sh: pid $(cat "$PIDFILE")"; fi
    ;;
  *)
    echo "usage: deploy/dockerd.sh start|stop|status" >&2
    exit 2
    ;;
esac
