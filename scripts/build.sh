#!/usr/bin/env bash
# Configures and builds one build tree. Usage: scripts/build.sh DIR [cmake options...]
# HPCLESS_BUILD_TARGETS="a b": build only these targets (default: all).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$1"
shift
jobs="${HPCLESS_JOBS:-$(nproc)}"
mkdir -p "$dir"
cmake -S "$root" -B "$dir" -G Ninja "$@" > "$dir/configure.log" 2>&1 || {
  cat "$dir/configure.log" >&2
  exit 1
}
targets=()
for t in ${HPCLESS_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$jobs" "${targets[@]}"
