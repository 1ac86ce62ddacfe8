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
  # 110.dynamic-html renders its page with ctemplate
  libctemplate-dev
  # compute benchmarks (functions/210-603; found through pkg-config, tar for a test)
  libigraph-dev libjpeg-dev libpng-dev libzstd-dev libopenblas-dev tar
  # storage clients (S3 over libcurl + OpenSSL, Redis over hiredis) and their test servers
  # (npm: see the s3rver step at the end)
  redis-server libcurl4-openssl-dev libhiredis-dev libssl-dev nodejs
  # resource manager: REST server (cpp-httplib), state database (SQLite)
  libcpp-httplib-dev libsqlite3-dev
  # comm-bench baselines: Open MPI (mpirun, mpicxx) and Gloo
  openmpi-bin libopenmpi-dev libgloo-dev
  # Slurm: batch scripts, on-demand executors and their tests (a single-node cluster with munge)
  slurm-wlm munge
  # RDMA: verbs and rdma_cm to build against; real RDMA tests without RDMA hardware run in a QEMU
  # guest (tests/rdma-vm) booting Debian's stock kernel with soft-RoCE (rdma_rxe) over 9p; kmod,
  # iproute2 (rdma, ip) and busybox-static set it up; perftest's ib_write_lat is the baseline
  libibverbs-dev librdmacm-dev rdma-core ibverbs-utils perftest
  qemu-system-x86 linux-image-amd64 busybox-static kmod
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
elif [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run this script as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  echo "install-deps: done"
fi

# Test-only S3 server: s3rver from npm, pinned by tests/s3/package-lock.json (node_modules is
# gitignored). Runs after the apt step so that node/npm exist; skipped once installed.
# Debian's npm package is needed only with Debian's nodejs: NodeSource's nodejs bundles npm and
# conflicts with it, so install it only when there is no npm command.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -e "$root/tests/s3/node_modules/.bin/s3rver" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "install-deps: npm missing; run this script as root (or: sudo apt-get install npm)" >&2
      exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm
  fi
  echo "install-deps: installing s3rver into tests/s3 (npm ci)"
  npm ci --prefix "$root/tests/s3" --no-audit --no-fund ||
    npm install --prefix "$root/tests/s3" --no-audit --no-fund
fi
