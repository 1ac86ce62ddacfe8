#!/usr/bin/env bash
# Inside the RDMA VM: the RDMA latency baseline, perftest's ib_write_lat over rxe0, optionally
# interleaved with the hpcless RDMA invocation benchmark, A B A B ... (the guest slows down
# 1.7-2x for seconds at a time: compare A and B of the same round, never across boots).
#
#   bench-in-vm.sh OUT_DIR        (from the host: run-rdma-tests.sh BUILD --bench-out DIR, or
#                                  run-in-vm.sh --results DIR -- tests/rdma-vm/bench-in-vm.sh DIR)
#
# For each round, for each size: A = ib_write_lat -R (server CPU 0, client CPU 1), then
# B = run_hpcless_series (below). Writes to OUT_DIR:
#   ib_write_lat.csv         size,t_typical_us,t_p99_us,rtt_typical_us,rtt_p99_us
#                            the median over the rounds; t_* as perftest prints them (HALF the
#                            round trip), rtt_* = 2 x t_*: compare an invocation with rtt_*
#   ib_write_lat-rounds.csv  the same with a leading column round, one row per round and size
#   hpcless-rROUND-sSIZE.csv whatever HPCLESS_RDMA_BENCH_CMD writes (when set)
#   raw/                     perftest's output;  bench-info.txt: kernel, clock source, settings
#   host.txt                 (run-rdma-tests.sh) the host's load average before and after: the
#                            figures are only worth something when it was below the core count
#
# Environment: HPCLESS_RDMA_BENCH_ROUNDS (3), HPCLESS_RDMA_BENCH_SIZES ("64 65536"),
# HPCLESS_RDMA_BENCH_ITERS (5000; a tenth of it for sizes above 4 KiB, which take milliseconds
# each under emulation), HPCLESS_RDMA_BENCH_CMD (empty: series B is skipped).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/rdma-vm/perftest-lib.sh
source "$here/perftest-lib.sh"

[[ $# -eq 1 ]] || { sed -n '5,6p' "${BASH_SOURCE[0]}" >&2; exit 2; }
if [[ "${HPCLESS_IN_RDMA_VM:-}" != 1 ]]; then
  echo "bench-in-vm: runs inside the RDMA VM: tests/rdma-vm/run-in-vm.sh --results DIR -- $0 DIR" >&2
  exit 2
fi
out="$1"
rounds="${HPCLESS_RDMA_BENCH_ROUNDS:-3}"
iters="${HPCLESS_RDMA_BENCH_ITERS:-5000}"
read -r -a sizes <<<"${HPCLESS_RDMA_BENCH_SIZES:-64 65536}"
mkdir -p "$out/raw"

# Series B: the hpcless RDMA invocation benchmark. HPCLESS_RDMA_BENCH_CMD is split into words (no
# quoting) and run as
#   CMD... SIZE OUT_FILE
# with HPCLESS_RDMA_BENCH_ROUND, HPCLESS_RDMA_BENCH_ITERS (this size's count, the same as
# ib_write_lat's), HPCLESS_RDMA_ADDRESS and
# HPCLESS_RDMA_DEVICE in its environment. It starts its own server and client (pinned like
# ib_write_lat: server CPU 0, client CPU 1) and writes its figures, round-trip times per
# invocation, to OUT_FILE. A no-op while the variable is empty.
run_hpcless_series() {
  local round="$1" size="$2" file
  [[ -n "${HPCLESS_RDMA_BENCH_CMD:-}" ]] || return 0
  local -a cmd
  read -r -a cmd <<<"$HPCLESS_RDMA_BENCH_CMD"
  file="$out/hpcless-r$round-s$size.csv"
  echo "bench-in-vm: round $round, $size B: ${cmd[*]} $size $file"
  HPCLESS_RDMA_BENCH_ROUND="$round" HPCLESS_RDMA_BENCH_ITERS="$(iters_for "$size")" \
    "${cmd[@]}" "$size" "$file"
}

# Iterations for one run of SIZE bytes.
iters_for() {
  local n="$iters"
  [[ "$1" -le 4096 ]] || n=$((iters / 10))
  echo $((n < 100 ? 100 : n))
}

# Series A: one ib_write_lat run, appended to ib_write_lat-rounds.csv.
run_ib_write_lat() {
  local round="$1" size="$2" raw="$out/raw/ib_write_lat-r$1-s$2.txt" figures typ p99
  if ! perftest_pair "$raw" "$size" "$(iters_for "$size")"; then
    echo "bench-in-vm: ib_write_lat failed (round $round, $size B):" >&2
    cat "$raw" "$raw.server" >&2
    return 1
  fi
  figures="$(perftest_figures "$raw")" || { echo "bench-in-vm: no result line in $raw" >&2; return 1; }
  read -r typ p99 <<<"$figures"
  echo "bench-in-vm: round $round, ib_write_lat $size B: t_typical $typ us, p99 $p99 us (half RTT)"
  awk -v r="$round" -v s="$size" -v t="$typ" -v p="$p99" \
    'BEGIN { printf "%d,%d,%.2f,%.2f,%.2f,%.2f\n", r, s, t, p, 2 * t, 2 * p }' \
    >>"$out/ib_write_lat-rounds.csv"
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "kernel: $(uname -r), $(nproc) vCPUs (QEMU TCG), clocksource:" \
    "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
  echo "device: ${HPCLESS_RDMA_DEVICE:-rxe0} (soft-RoCE) at ${HPCLESS_RDMA_ADDRESS:-198.18.0.1}"
  echo "rounds: $rounds, sizes: ${sizes[*]}, iterations: $iters (a tenth above 4 KiB)," \
    "series B: ${HPCLESS_RDMA_BENCH_CMD:-none}"
  echo "rxe0 active MTU: $(ibv_devinfo -d "${HPCLESS_RDMA_DEVICE:-rxe0}" | awk '/active_mtu/ { print $2 }')"
  echo "perftest: ib_write_lat -R, server CPU 0, client CPU 1; t_* = half the round trip"
} >"$out/bench-info.txt"
echo "round,size,t_typical_us,t_p99_us,rtt_typical_us,rtt_p99_us" >"$out/ib_write_lat-rounds.csv"

start=$(date +%s)
for ((r = 1; r <= rounds; r++)); do
  for s in "${sizes[@]}"; do
    run_ib_write_lat "$r" "$s"
    run_hpcless_series "$r" "$s"
  done
done

# Summary: per size, the median over the rounds of each column.
{
  echo "size,t_typical_us,t_p99_us,rtt_typical_us,rtt_p99_us"
  for s in "${sizes[@]}"; do
    row="$s"
    for col in 3 4 5 6; do
      row+=",$(awk -F, -v s="$s" -v c="$col" 'NR > 1 && $2 == s { print $c }' \
        "$out/ib_write_lat-rounds.csv" | sort -g |
        awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }')"
    done
    echo "$row"
  done
} >"$out/ib_write_lat.csv"
echo "bench-in-vm: $rounds rounds in $(($(date +%s) - start)) s; $out/ib_write_lat.csv (median of rounds):"
cat "$out/ib_write_lat.csv"
