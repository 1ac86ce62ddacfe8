#!/usr/bin/env bash
# Series B of bench-in-vm.sh: hpcless invocations over RDMA, hot and warm, pinned like
# ib_write_lat (worker on CPU 0, client on CPU 1).
#
#   hpcless-series.sh BUILD_DIR SIZE OUT_FILE
#
# Starts a standalone executor serving the core functions over rxe ($HPCLESS_RDMA_ADDRESS), runs
# `hpcless experiment invocation-overhead --transport rdma --systems hpcless` for SIZE with
# $HPCLESS_RDMA_BENCH_ITERS timed echo invocations per mode (hot; warm: both sides block;
# warm-client-spin: only the worker blocks), and writes their summary rows (p50, p99, ... in
# microseconds of round trip) to OUT_FILE.
set -euo pipefail
[[ $# -eq 3 ]] || { sed -n '5p' "${BASH_SOURCE[0]}" >&2; exit 2; }
build="$(cd "$1" && pwd)" size="$2" out_file="$3"
iters="${HPCLESS_RDMA_BENCH_ITERS:-1000}"
work="$(mktemp -d)"
trap 'kill "$exec_pid" 2>/dev/null; wait "$exec_pid" 2>/dev/null; rm -rf "$work"' EXIT

"$build/executor/hpcless-executor" --standalone --listen 127.0.0.1:0 --cores 0 \
  --package "$build/packages/libhpcless_core_functions.so" \
  --rdma-address "${HPCLESS_RDMA_ADDRESS:?}" --ready-file "$work/ready" \
  >"$work/executor.log" 2>&1 &
exec_pid=$!
for _ in $(seq 1 300); do
  [[ -s "$work/ready" ]] && break
  kill -0 "$exec_pid" 2>/dev/null || { cat "$work/executor.log" >&2; exit 1; }
  sleep 0.1
done
[[ -s "$work/ready" ]] || { echo "hpcless-series: executor not ready" >&2; exit 1; }

"$build/client/cli/hpcless" experiment invocation-overhead --address "$(cat "$work/ready")" \
  --transport rdma --systems hpcless --sizes "$size" --modes hot,warm \
  --repetitions "$iters" --warmup 100 --block "$(( iters < 500 ? iters : 500 ))" \
  --client-core 1 --server-core 0 --out "$work/run" >"$work/experiment.log" 2>&1 ||
  { cat "$work/experiment.log" >&2; exit 1; }
cp "$work/run/summary.csv" "$out_file"
# Warm as rFaaS measures it: only the worker blocks, the client busy-polls (mode warm-client-spin).
"$build/client/cli/hpcless" experiment invocation-overhead --address "$(cat "$work/ready")" \
  --transport rdma --systems hpcless --sizes "$size" --modes warm --warm-client-spins \
  --repetitions "$iters" --warmup 100 --block "$(( iters < 500 ? iters : 500 ))" \
  --client-core 1 --server-core 0 --out "$work/run-spin" >"$work/experiment-spin.log" 2>&1 ||
  { cat "$work/experiment-spin.log" >&2; exit 1; }
tail -n +2 "$work/run-spin/summary.csv" | sed 's/^hpcless,rdma,warm,/hpcless,rdma,warm-client-spin,/' >>"$out_file"
