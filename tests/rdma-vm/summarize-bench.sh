#!/usr/bin/env bash
# Pairs each round's ib_write_lat round trip with the hpcless series of the same round and size
# (bench-in-vm.sh's output folder) and prints one markdown table: p50 and p99 in microseconds and
# the ratio hpcless p50 / ib_write_lat round trip (typical = perftest's median, doubled).
#
#   summarize-bench.sh BENCH_DIR
set -euo pipefail
dir="${1:?usage: summarize-bench.sh BENCH_DIR}"
[[ -f "$dir/ib_write_lat-rounds.csv" ]] || { echo "no $dir/ib_write_lat-rounds.csv" >&2; exit 1; }
echo "| round | size | ib_write_lat RTT p50 / p99 | mode | hpcless p50 / p99 | ratio p50 |"
echo "|---|---|---|---|---|---|"
tail -n +2 "$dir/ib_write_lat-rounds.csv" | while IFS=, read -r round size _ _ rtt rtt99; do
  f="$dir/hpcless-r$round-s$size.csv"
  [[ -f "$f" ]] || continue
  # summary.csv: system,transport,mode,payload_bytes,count,p50_us,p90_us,p99_us,...
  tail -n +2 "$f" | awk -F, -v r="$round" -v s="$size" -v rtt="$rtt" -v rtt99="$rtt99" \
    '$1 == "hpcless" { printf "| %s | %s | %.1f / %.1f | %s | %.1f / %.1f | %.2fx |\n", r, s, rtt, rtt99, $3, $6, $8, $6 / rtt }'
done
