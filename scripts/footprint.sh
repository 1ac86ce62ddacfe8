#!/usr/bin/env bash
# Resident memory of the control plane and a lease's worker, idle and after many invocations:
# brings up a 1-node local cluster, reads VmRSS of hpcless-manager, the executor daemon and the
# lease's worker process from /proc, runs N noop invocations on a 1-core lease (warm), reads them
# again, and takes the cluster down. Prints one table.
#
# Usage: scripts/footprint.sh [N]   (default 100000; needs a Release build in $HPCLESS_BUILD or build/)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
n="${1:-100000}"
build="${HPCLESS_BUILD:-build}"
hpcless="$build/client/cli/hpcless"
[ -x "$hpcless" ] || { echo "footprint.sh: build first (scripts/build.sh $build)" >&2; exit 1; }

dir="$(mktemp -d /tmp/hpcless-footprint.XXXXXX)"
cleanup() { "$hpcless" cluster down --dir "$dir/cluster" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT INT TERM

"$hpcless" cluster up --nodes 1 --cores-per-node 1 --dir "$dir/cluster" >/dev/null
# shellcheck source=/dev/null
source "$dir/cluster/env"

rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
pid_of() { "$hpcless" cluster status --dir "$dir/cluster" | awk -v r="$1" '$1 == r && $3 == "pid" {print $4; exit}'; }
manager_pid=$(pid_of manager)
executor_pid=$(pid_of executor)
worker_pid() { pgrep -P "$executor_pid" | head -1; }

m0=$(rss_kib "$manager_pid"); e0=$(rss_kib "$executor_pid")
lease=$("$hpcless" lease acquire --cores 1 --seconds 3600 --quiet)
"$hpcless" invoke --lease "$lease" --function noop --warm >/dev/null
w=$(worker_pid)
w0=$(rss_kib "$w")
start=$(date +%s%N)
"$hpcless" invoke --lease "$lease" --function noop --warm --repeat "$n" >/dev/null 2>"$dir/lat.txt"
end=$(date +%s%N)
sleep 2  # one heartbeat, so the manager has stored the usage report
m1=$(rss_kib "$manager_pid"); e1=$(rss_kib "$executor_pid"); w1=$(rss_kib "$w")
"$hpcless" lease show "$lease" | sed -n '1,40p' > "$dir/show.txt"
"$hpcless" lease release "$lease" >/dev/null

echo "footprint: $n noop invocations on a 1-core lease (warm) in $(( (end - start) / 1000000 )) ms"
sed 's/^/  /' "$dir/lat.txt"
awk -v m0="$m0" -v m1="$m1" -v e0="$e0" -v e1="$e1" -v w0="$w0" -v w1="$w1" 'BEGIN {
  printf "%-26s %12s %14s\n", "process", "idle (MiB)", "after (MiB)"
  printf "%-26s %12.1f %14.1f\n", "hpcless-manager", m0 / 1024, m1 / 1024
  printf "%-26s %12.1f %14.1f\n", "hpcless-executor (daemon)", e0 / 1024, e1 / 1024
  printf "%-26s %12.1f %14.1f\n", "lease worker", w0 / 1024, w1 / 1024 }'
echo "(worker 'idle': after its first invocation; the lease's accounting:)"
grep -iE "invocations|busy|idle|hot|allocated" "$dir/show.txt" | sed 's/^/  /' || true
