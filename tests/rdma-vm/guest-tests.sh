#!/usr/bin/env bash
# Guest side of run-rdma-tests.sh, one boot: the RDMA-labelled tests of BUILD_DIR, then (with
# BENCH_OUT) the RDMA benchmark. Usage, inside the RDMA VM: guest-tests.sh BUILD_DIR [BENCH_OUT]
# Prints "rdma-vm inner: P passed, F failed out of T" for scripts/test.sh's totals.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -ge 1 && $# -le 2 ]] || { sed -n '3p' "$0" >&2; exit 2; }
[[ "${HPCLESS_IN_RDMA_VM:-}" == 1 ]] || { echo "guest-tests: runs inside the RDMA VM" >&2; exit 2; }
build="$1" bench_out="${2:-}"

log="$(mktemp)"
# '^rdma$', not 'rdma': the label regex must not match rdma-vm (this very test, in a loop).
# Two at a time on the guest's two CPUs (HPCLESS_RDMA_TEST_JOBS): the tests' deadlines hold with
# one CPU each, and the emulated guest is the suite's slowest stage.
ctest --test-dir "$build" -L '^rdma$' --output-on-failure --no-tests=error \
  -j "${HPCLESS_RDMA_TEST_JOBS:-2}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
line="$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)"
if [[ -n "$line" ]]; then
  nfail="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")"
  total="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")"
  echo "rdma-vm inner: $((total - nfail)) passed, $nfail failed out of $total"
else
  echo "rdma-vm inner: 0 passed, 1 failed out of 0 (ctest ran no test, exit $rc)"
  [[ $rc -ne 0 ]] || rc=1
fi
rm -f "$log"

brc=0
if [[ -n "$bench_out" ]]; then
  bash "$here/bench-in-vm.sh" "$bench_out" || brc=$?
  [[ $brc -eq 0 ]] || echo "rdma-vm: the benchmark failed (exit $brc)"
fi
[[ $rc -eq 0 && $brc -eq 0 ]]
