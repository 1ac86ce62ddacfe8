#!/usr/bin/env bash
# Host side of the rdma-vm CTest test: boots the RDMA VM once (run-in-vm.sh) and runs in it the
# tests labelled 'rdma' of BUILD_DIR and, with --bench-out, the RDMA benchmark (bench-in-vm.sh),
# whose files land in DIR on the host.
#
#   run-rdma-tests.sh BUILD_DIR [--bench-out DIR] [--timeout SECONDS (default 840)]
#
# Ends with the inner ctest summary and a line "rdma-vm inner: P passed, F failed out of T"
# (scripts/test.sh adds those counts to its totals). Exit status: 0 when the inner tests (and the
# benchmark) passed, 77 when the VM cannot run here (line "RDMA-VM SKIP: ..."), 1 otherwise.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage() { sed -n '5p' "$0" | sed 's/^# *//' >&2; exit 2; }

[[ $# -ge 1 ]] || usage
build="$1"
shift
bench_out="" timeout_s="${HPCLESS_RDMA_VM_TIMEOUT:-840}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bench-out) bench_out="${2:?}"; shift 2 ;;
    --timeout) timeout_s="${2:?}"; shift 2 ;;
    *) usage ;;
  esac
done
[[ -f "$build/CTestTestfile.cmake" ]] || { echo "run-rdma-tests: $build is no CMake build tree" >&2; exit 1; }
build="$(cd "$build" && pwd -P)"

vm_args=(--timeout "$timeout_s")
guest_args=("$build")
if [[ -n "$bench_out" ]]; then
  mkdir -p "$bench_out"
  bench_out="$(cd "$bench_out" && pwd -P)"
  vm_args+=(--results "$bench_out")
  guest_args+=("$bench_out")
fi

# The guest's figures depend on how busy the host's cores are: their load, next to the figures
# ("after" includes the guest's own vCPUs).
host_load() {
  [[ -z "$bench_out" ]] ||
    echo "host $1: load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores" >>"$bench_out/host.txt"
}

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
[[ -z "$bench_out" ]] || rm -f "$bench_out/host.txt"
host_load before
rc=0
bash "$here/run-in-vm.sh" "${vm_args[@]}" -- bash "$here/guest-tests.sh" "${guest_args[@]}" |
  tee "$log" || rc=$?
[[ $rc -ne 77 ]] || exit 77
host_load after

echo
echo "==== rdma-vm: inner tests of $build (in the VM) ===="
summary="$(tr -d '\r' <"$log" | grep -aE '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+|^rdma-vm inner: ' | tail -n 2)" || true
if [[ -n "$summary" ]]; then
  echo "$summary"
else
  echo "rdma-vm inner: no summary (the VM or the inner ctest did not finish: see above)"
fi
if [[ -n "$bench_out" ]]; then
  echo "rdma-vm: benchmark files in $bench_out"
  # A busy host steals whole time slices from the 2 vCPUs: p99 in milliseconds, medians too.
  # Warned when the load before the boot left less than 2 idle cores (within 1).
  load="$(awk '$2 == "before:" { print $5 }' "$bench_out/host.txt")"
  if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l + 2 >= n + 1) }'; then
    echo "rdma-vm: WARNING: the host was busy (load $load on $(nproc) cores): the figures are noise"
  fi
fi
[[ $rc -eq 0 ]] || { echo "rdma-vm: FAILED (exit $rc)"; exit 1; }
