#!/usr/bin/env bash
# Installs the Debian 12 packages the build, tests and demo need.
# Idempotent: when everything is installed it only runs dpkg-query (well under a
# second); `apt-get update` runs only when an install finds no package lists.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git clang-format
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  libabsl-dev librocksdb-dev prometheus-cpp-dev libgoogle-glog-dev libgflags-dev
  libtorch-dev libopenblas0-pthread
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy python3-matplotlib python3-torch python3-grpcio python3-protobuf
  prometheus iproute2 procps curl docker-compose openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "deps: installing ${#missing[@]} package(s): ${missing[*]}" >&2
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
  echo "deps: install failed; refreshing package lists and retrying" >&2
  $SUDO apt-get update -q >&2
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
