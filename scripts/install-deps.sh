#!/usr/bin/env bash
# Installs every Debian 12 package that building, running and testing hpcless needs.
# Idempotent: packages already present are left alone; 'apt-get update' runs at most once.
set -euo pipefail

packages=(
  # toolchain and build
  build-essential g++ cmake ninja-build pkg-config git
  # fuzzing (libFuzzer ships with clang's runtime)
  clang libclang-rt-14-dev
  # libraries
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libcxxopts-dev zlib1g-dev
  # gRPC baseline of the invocation-overhead experiment (optional: HPCLESS_WITH_GRPC)
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # plots and process tools used by the scripts and tests
  gnuplot-nox procps iproute2
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run this script as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
