#!/usr/bin/env bash
# The whole test suite: installs dependencies, then
#   1. Release build: unit + integration + slurm tests, then the rdma tests inside a QEMU guest
#      with soft-RoCE (label rdma-vm, tests/rdma-vm: counted by its inner tests; when QEMU or the
#      guest kernel is missing it is skipped, and the last lines say so: "RDMA-VM SKIPPED: ...")
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build: the same tests
#   3. clang libFuzzer build: the protocol decoder fuzzer for HPCLESS_FUZZ_SECONDS (default 30)
# and ends with one line "total: N passed, M failed".
#
# Options: --quick (Release only), --no-fuzz, --no-sanitize.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

quick=0 fuzz=1 sanitize=1
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    --no-fuzz) fuzz=0 ;;
    --no-sanitize) sanitize=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
[ "$quick" -eq 1 ] && { fuzz=0; sanitize=0; }

bash scripts/install-deps.sh || exit 1

passed=0 failed=0 stage_failed=0 rdma_vm_skipped=""
start=$(date +%s)

# Runs ctest in a build tree and adds its counts to the totals.
run_ctest() {
  local dir="$1" label="$2" log jobs=1 verbose=()
  log="$dir/ctest-$label.log"
  # Unit tests are pure computation and independent: in parallel. Integration tests spend most
  # of their time waiting on the processes and servers they start: two at a time
  # (HPCLESS_TEST_JOBS), which halves the stage and leaves each test a core for its deadlines.
  # Slurm tests stay one at a time: each brings up slurmctld and slurmd.
  [ "$label" = unit ] && jobs="$(nproc)"
  [ "$label" = integration ] && jobs="${HPCLESS_TEST_JOBS:-2}"
  # rdma-vm: -V shows the guest's console as it runs, and a skip's reason.
  [ "$label" = rdma-vm ] && verbose=(-V)
  (cd "$dir" && ctest -L "$label" "${verbose[@]}" --output-on-failure --no-tests=error -j"$jobs") \
    2>&1 | tee "$log"
  if [ "$label" = rdma-vm ]; then
    count_rdma_vm "$log"
    return
  fi
  local line
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "test.sh: ctest -L $label in $dir ran no test" >&2
    failed=$((failed + 1))
    return
  fi
  local nfail total
  nfail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
  total=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/')
  passed=$((passed + total - nfail))
  failed=$((failed + nfail))
}

# The rdma-vm label has one test, rdma_vm, that boots a VM and runs the tests labelled rdma in it:
# counts the inner tests (line "rdma-vm inner: P passed, F failed"), plus one failure when the
# outer test failed for another reason (no boot, benchmark); a skip is reported, not counted.
count_rdma_vm() {
  local log="$1" outer inner nfail=0 p f
  if grep -qE 'rdma_vm .*Skipped' "$log"; then
    rdma_vm_skipped="$(grep -aoE 'RDMA-VM SKIP: .*' "$log" | tail -n 1 | sed 's/^RDMA-VM SKIP: //')"
    rdma_vm_skipped="${rdma_vm_skipped:-see $log}"
    echo "RDMA-VM SKIPPED: $rdma_vm_skipped"
    return
  fi
  outer=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  [ -n "$outer" ] && nfail=$(echo "$outer" | sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/')
  inner=$(grep -aoE 'rdma-vm inner: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ -z "$inner" ]; then
    echo "test.sh: rdma-vm ran no inner test (see $log)" >&2
    failed=$((failed + 1))
    return
  fi
  p=$(echo "$inner" | sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed/\1/')
  f=$(echo "$inner" | sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed/\2/')
  passed=$((passed + p))
  failed=$((failed + f))
  if [ -z "$outer" ] || { [ "$nfail" -gt 0 ] && [ "$f" -eq 0 ]; }; then
    echo "test.sh: rdma_vm failed outside its inner tests (see $log)" >&2
    failed=$((failed + 1))
  fi
}

stage() { printf '\n==== %s ====\n' "$*"; }

stage "Release build"
# Unity builds (sources compiled in batches) halve the full builds' time (HPCLESS_UNITY_BUILD).
if bash scripts/build.sh build -DCMAKE_BUILD_TYPE=Release -DHPCLESS_UNITY_BUILD=ON; then
  run_ctest build unit
  run_ctest build integration
  run_ctest build slurm
  run_ctest build rdma-vm
else
  echo "test.sh: Release build failed" >&2
  stage_failed=1
fi

if [ "$sanitize" -eq 1 ]; then
  stage "Sanitizer build (ASan + UBSan)"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  # Only what the unit and integration labels run (hpcless_tests_<label>, tests/CMakeLists.txt):
  # not the gRPC baseline, the experiment drivers or the RDMA tests.
  if HPCLESS_BUILD_TARGETS="hpcless_tests_unit hpcless_tests_integration" \
      bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DHPCLESS_SANITIZE=ON \
      -DHPCLESS_UNITY_BUILD=ON; then
    run_ctest build-asan unit
    run_ctest build-asan integration
    # The slurm label runs in the Release stage only: its tests drive batch scripts and Slurm's
    # daemons for minutes of wall time, and the manager and executor code they reach runs under
    # the sanitizers in the integration label.
  else
    echo "test.sh: sanitizer build failed" >&2
    stage_failed=1
  fi
fi

if [ "$fuzz" -eq 1 ]; then
  stage "Fuzzing (clang libFuzzer, ${HPCLESS_FUZZ_SECONDS:-30} s)"
  if CC=clang CXX=clang++ bash scripts/build.sh build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DHPCLESS_FUZZ=ON -DHPCLESS_FUZZ_ONLY=ON -DHPCLESS_TESTS=OFF \
      -DHPCLESS_FUZZ_SECONDS="${HPCLESS_FUZZ_SECONDS:-30}"; then
    run_ctest build-fuzz fuzz
  else
    echo "test.sh: fuzz build failed" >&2
    stage_failed=1
  fi
fi

[ "$stage_failed" -eq 1 ] && failed=$((failed + 1))
echo
echo "test.sh: finished in $(( $(date +%s) - start )) s"
[ -z "$rdma_vm_skipped" ] || echo "RDMA-VM SKIPPED: $rdma_vm_skipped"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
