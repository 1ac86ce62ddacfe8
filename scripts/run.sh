#!/usr/bin/env bash
# The main job on one machine: installs what is missing, builds, starts a local standalone
# executor, runs the invocation-overhead experiment (hpcless vs raw TCP and gRPC, hot and warm), prints
# the summary table and where the results and the plot are, and stops what it started.
#
# Usage: scripts/run.sh [experiment options...]   e.g. --repetitions 5000 --sizes 64,1048576
# Environment: HPCLESS_RESULTS (default results/), HPCLESS_BUILD (default build/).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/install-deps.sh
build="${HPCLESS_BUILD:-build}"
bash scripts/build.sh "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
echo "run.sh: built in $build/"

# One worker and the client on distinct cores: more spinning threads than cores would only
# measure the scheduler.
ncores=$(nproc)
if [ "$ncores" -ge 2 ]; then worker_core=1; client_core=0; else worker_core=0; client_core=0;
  echo "run.sh: warning: one core only; hot-mode figures will be dominated by scheduling" >&2; fi

run_dir="$(mktemp -d /tmp/hpcless-run.XXXXXX)"
executor_pid=""
cleanup() {
  if [ -n "$executor_pid" ] && kill -0 "$executor_pid" 2>/dev/null; then
    kill -TERM "$executor_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$executor_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$executor_pid" 2>/dev/null || true
  fi
  rm -rf "$run_dir"
}
trap cleanup EXIT INT TERM

"$build/executor/hpcless-executor" --standalone --listen 127.0.0.1:0 \
  --package "$build/packages/libhpcless_core_functions.so" --workers 1 --cores "$worker_core" \
  --ready-file "$run_dir/ready" 2> "$run_dir/executor.log" &
executor_pid=$!
for _ in $(seq 200); do [ -s "$run_dir/ready" ] && break; sleep 0.05; done
if [ ! -s "$run_dir/ready" ]; then
  echo "run.sh: the executor did not start:" >&2
  cat "$run_dir/executor.log" >&2
  exit 1
fi
address=$(cat "$run_dir/ready")
echo "run.sh: executor serving on $address (worker on core $worker_core, client on core $client_core)"

out="${HPCLESS_RESULTS:-results}/invocation-overhead-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
"$build/client/cli/hpcless" experiment invocation-overhead --address "$address" --out "$out" \
  --client-core "$client_core" --server-core "$worker_core" "$@"
echo "run.sh: results in $out/ (summary.csv, invocations.jsonl, metadata.json, latency.png)"
