#!/usr/bin/env bash
# The main job on one machine: installs what is missing, builds, brings up a local cluster
# (`hpcless cluster up --storage`: hpcless-manager, 2 executors, redis-server and an S3 server),
# and runs on leases:
#   invocation-overhead  hpcless vs raw TCP and gRPC, hot and warm (on a 1-core lease)
#   cold-start           lease -> first result, by phase
#   idle-time            latency after idle gaps: hot, warm, lease expired, re-lease (~1 min)
#   bench                every benchmark function at size small, cold and warm, with phases
# It prints the tables and where the results and plots are, and takes the cluster down. Then, in a
# QEMU guest with soft-RoCE (tests/rdma-vm, about 2 minutes), hpcless hot and warm invocations
# over RDMA against ib_write_lat, interleaved (ratios only: the guest is emulated).
#
# Usage: scripts/run.sh [invocation-overhead options...]  e.g. --repetitions 5000 --sizes 64,1M
# Environment: HPCLESS_RESULTS (default results/), HPCLESS_BUILD (default build/).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/install-deps.sh
build="${HPCLESS_BUILD:-build}"
bash scripts/build.sh "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
echo "run.sh: built in $build/"

hpcless="$build/client/cli/hpcless"
run_dir="$(mktemp -d /tmp/hpcless-run.XXXXXX)"
cluster="$run_dir/cluster"
cleanup() {
  "$hpcless" cluster down --dir "$cluster" >/dev/null 2>&1 || true
  rm -rf "$run_dir"
}
trap cleanup EXIT INT TERM

"$hpcless" cluster up --nodes 2 --cores-per-node 1 --storage --dir "$cluster" \
  --package "$build/packages/libhpcless_core_functions.so"
# shellcheck source=/dev/null
source "$cluster/env"  # HPCLESS_MANAGER, HPCLESS_API_TOKEN, HPCLESS_STORAGE_CONFIG

results="${HPCLESS_RESULTS:-results}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$results"

# invocation-overhead on a 1-core lease. The worker runs on the leased core; the client (and the
# baselines' clients) on another one: more spinning threads than cores only measures the scheduler.
lease=$("$hpcless" lease acquire --cores 1 --seconds 3600 --quiet)
worker_core=$("$hpcless" lease show "$lease" | awk '/^  node /{getline; print $NF; exit}')
client_core="$worker_core"
for c in $(seq 0 $(($(nproc) - 1))); do
  if [ "$c" != "$worker_core" ]; then client_core=$c; break; fi
done
if [ "$client_core" = "$worker_core" ]; then
  echo "run.sh: warning: one core only; hot-mode figures will be dominated by scheduling" >&2
fi
echo "run.sh: lease $lease (worker on core $worker_core, client on core $client_core)"
out="$results/invocation-overhead-$stamp"
"$hpcless" experiment invocation-overhead --lease "$lease" --out "$out" \
  --client-core "$client_core" --server-core "$worker_core" "$@"
"$hpcless" lease release "$lease" >/dev/null
echo "run.sh: results in $out/ (summary.csv, invocations.jsonl, metadata.json, latency.png)"

out="$results/cold-start-$stamp"
"$hpcless" experiment cold-start --out "$out" --repetitions 50
echo "run.sh: results in $out/ (summary.csv, phases.jsonl, metadata.json, cold_start.png)"

out="$results/idle-time-$stamp"
"$hpcless" experiment idle-time --out "$out"
echo "run.sh: results in $out/ (summary.csv, idle_time.csv, gaps.jsonl, idle_time.png)"

# Every benchmark function at size small on a 1-core lease: the first invocation of each is cold
# (a fresh worker), the rest warm; every output is validated.
out="$results/bench-small-$stamp"
"$hpcless" bench prepare all --size small >/dev/null
lease=$("$hpcless" lease acquire --cores 1 --seconds 3600 --quiet)
"$hpcless" bench run all --size small --repetitions "${HPCLESS_BENCH_REPETITIONS:-6}" \
  --lease "$lease" --out "$out"
"$hpcless" lease release "$lease" >/dev/null
echo "run.sh: results in $out/ (summary.csv, invocations.jsonl, metadata.json, phases.png)"

"$hpcless" cluster down --dir "$cluster"

# RDMA in a QEMU guest with soft-RoCE (tests/rdma-vm): ib_write_lat against hpcless hot and warm
# invocations over rxe, interleaved in one boot; ratios only (the guest is emulated).
out="$results/rdma-$stamp"
mkdir -p "$out"
out_abs="$(cd "$out" && pwd)" build_abs="$(cd "$build" && pwd)"
set +e
HPCLESS_RDMA_BENCH_ROUNDS="${HPCLESS_RDMA_BENCH_ROUNDS:-3}" \
  HPCLESS_RDMA_BENCH_CMD="bash $PWD/tests/rdma-vm/hpcless-series.sh $build_abs" \
  bash tests/rdma-vm/run-in-vm.sh --timeout 900 --results "$out_abs" -- \
  bash "$PWD/tests/rdma-vm/bench-in-vm.sh" "$out_abs" > "$out/guest.log" 2>&1
rc=$?
set -e
if [ "$rc" -eq 0 ]; then
  bash tests/rdma-vm/summarize-bench.sh "$out" | tee "$out/summary.md"
  echo "run.sh: results in $out/ (summary.md, ib_write_lat*.csv, hpcless-r*-s*.csv, guest.log)"
elif [ "$rc" -eq 77 ]; then
  echo "run.sh: RDMA SKIPPED: $(grep -o 'RDMA-VM SKIP: .*' "$out/guest.log" | tail -1)"
else
  echo "run.sh: the RDMA benchmark failed (rc $rc); see $out/guest.log" >&2
fi
