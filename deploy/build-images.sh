#!/usr/bin/env bash
# Builds the compose cluster's images on this machine with no image registry:
# every layer comes from Debian's package mirror (the one apt uses here) and
# from build/bin.
#
#   ad-base:bookworm             debootstrap --variant=minbase + the runtime
#                                libraries of the binaries, `docker import`ed
#   ad-system:latest             deploy/Dockerfile: FROM ad-base:bookworm, the
#                                host-built binaries and the two wrappers
#   ad-prometheus-base:bookworm  debootstrap --variant=minbase + prometheus
#   ad-prometheus:latest         deploy/Dockerfile.prometheus on top of it
#
# Usage: deploy/build-images.sh [--rebuild-base]
# Needs root (debootstrap), a running Docker engine (deploy/dockerd.sh start
# starts one that leaves the firewall alone) and debootstrap (apt-get install
# debootstrap). Missing binaries are built first with scripts/build.sh.
#
# Caching: a base image carries the hash of what it was made from (suite,
# mirror, package list) as the label ad.base-key and is rebuilt only when that
# changes (or with --rebuild-base); downloaded .debs stay in
# $AD_IMAGE_CACHE/debs (default /var/cache/ad-images). The two top images
# are rebuilt each run (seconds; Docker's layer cache keeps unchanged layers).
# Environment: AD_DEBIAN_MIRROR (default: the mirror of apt's bookworm
# source), AD_IMAGE_CACHE, AD_BUILD_DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${AD_BUILD_DIR:-build}
CACHE=${AD_IMAGE_CACHE:-/var/cache/ad-images}
SUITE=bookworm
BINARIES=(ad-env-server ad-store ad-actor ad-learner ad-evaluator adctl ad-demo)
# Packages holding the binaries' NEEDED libraries (objdump -p | dpkg -S), plus
# Debian's default BLAS for LibTorch and curl for the compose health checks.
# The evaluator draws PNGs only with python3-matplotlib, which is left out
# (about 1 GB with its dependencies; --watch writes no PNG): `adctl eval` in
# the image writes CSV/JSON and says that no PNG was written.
RUNTIME_PACKAGES=(libabsl20220623 libgoogle-glog0v6 libgrpc++1.51 libgrpc29 libprotobuf32
  libprometheus-cpp-core1.0 libtorch1.13 libopenblas0-pthread libsnappy1v5 liblz4-1 libzstd1
  libbz2-1.0 zlib1g curl)
PROMETHEUS_PACKAGES=(prometheus)
REBUILD_BASE=0
for arg in "$@"; do
  case $arg in
    --rebuild-base) REBUILD_BASE=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "build-images: unknown argument $arg (see --help)" >&2
      exit 2
      ;;
  esac
done

log() { echo "[build-images] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}
T0=$(date +%s)
elapsed() { echo "$(($(date +%s) - T0))s"; }

[[ $(id -u) == 0 ]] || die "run as root (debootstrap and docker import need it)"
command -v docker >/dev/null || die "no docker client (apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (start one: deploy/dockerd.sh start)"
command -v debootstrap >/dev/null || die "no debootstrap (apt-get install debootstrap)"

# The mirror apt uses for bookworm here (deb822 or one-line sources).
mirror() {
  if [[ -n ${AD_DEBIAN_MIRROR:-} ]]; then
    echo "$AD_DEBIAN_MIRROR"
    return
  fi
  local uri
  uri=$(awk '/^URIs:/ {u = $2} /^Suites:/ && / bookworm( |$)/ && u ~ /debian$/ {print u; exit}' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  if [[ -z $uri ]]; then
    uri=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR=$(mirror)

# --- binaries ----------------------------------------------------------------
missing=()
for b in "${BINARIES[@]}"; do [[ -x $BUILD_DIR/bin/$b ]] || missing+=("$b"); done
if ((${#missing[@]})); then
  log "building ${missing[*]} (scripts/build.sh)"
  AD_BUILD_DIR=$BUILD_DIR scripts/build.sh "${missing[@]}"
fi

# --- base images: debootstrap + docker import, cached by content -----------
# base_image TAG PACKAGE...: makes TAG unless an image with the same key exists.
base_image() {
  local tag=$1
  shift
  local key
  key=$(printf '%s\n' "v1" "$SUITE" "$MIRROR" minbase "$@" | sha256sum | cut -c1-16)
  if ((!REBUILD_BASE)) &&
    [[ $(docker image inspect -f '{{index .Config.Labels "ad.base-key"}}' "$tag" 2>/dev/null) == "$key" ]]; then
    log "$tag is current (key $key)"
    return
  fi
  local rootfs
  rootfs=$(mktemp -d "${TMPDIR:-/tmp}/ad-rootfs.XXXXXX")
  # shellcheck disable=SC2064  # expand now: the trap outlives the local
  trap "rm -rf '$rootfs'" EXIT
  mkdir -p "$CACHE/debs"
  log "$tag: debootstrap $SUITE from $MIRROR with $* ($(elapsed))"
  local include
  include=$(
    IFS=,
    echo "$*"
  )
  if ! debootstrap --variant=minbase --cache-dir="$CACHE/debs" --include="$include" \
    "$SUITE" "$rootfs" "$MIRROR" >"$CACHE/debootstrap-${tag%%:*}.log" 2>&1; then
    tail -n 20 "$CACHE/debootstrap-${tag%%:*}.log" >&2
    die "debootstrap failed (log: $CACHE/debootstrap-${tag%%:*}.log)"
  fi
  # What a container never needs: package caches and lists, docs, man pages.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/man "$rootfs"/usr/share/info "$rootfs"/usr/share/locale "$rootfs"/var/log/*.log
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  log "$tag: docker import ($(du -sh "$rootfs" | cut -f1)) ($(elapsed))"
  tar -C "$rootfs" --numeric-owner -c . |
    docker import \
      --change "LABEL ad.base-key=$key" \
      --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      --change "CMD [\"/bin/bash\"]" \
      - "$tag" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
}
base_image ad-base:$SUITE "${RUNTIME_PACKAGES[@]}"
base_image ad-prometheus-base:$SUITE "${PROMETHEUS_PACKAGES[@]}"

# --- the project's images -----------------------------------------------------
# A small build context: the binaries (stripped) and the wrappers, nothing else.
CTX=$BUILD_DIR/images/context
rm -rf "$CTX"
mkdir -p "$CTX/bin"
for b in "${BINARIES[@]}"; do
  if command -v strip >/dev/null; then
    strip --strip-unneeded -o "$CTX/bin/$b" "$BUILD_DIR/bin/$b"
  else
    cp "$BUILD_DIR/bin/$b" "$CTX/bin/$b"
  fi
done
install -m 0755 deploy/wait-for-store.sh "$CTX/bin/ad-wait-for-store"
install -m 0755 deploy/run-actor.sh "$CTX/bin/ad-run-actor"
cp deploy/prometheus.yml "$CTX/prometheus.yml"
revision=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)

build() {  # build TAG DOCKERFILE
  log "$1: docker build -f $2 ($(elapsed))"
  DOCKER_BUILDKIT=0 docker build -q --force-rm --label "org.opencontainers.image.revision=$revision" \
    -f "$2" -t "$1" "$CTX" >/dev/null
}
build ad-system:latest deploy/Dockerfile
build ad-prometheus:latest deploy/Dockerfile.prometheus
# The images these tags replaced, if no container uses them.
docker image prune -f --filter label=org.opencontainers.image.revision >/dev/null
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' |
  grep -E '^ad-(base|system|prometheus-base|prometheus):' >&2 || true
log "done in $(elapsed)"
