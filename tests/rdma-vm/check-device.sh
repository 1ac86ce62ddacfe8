#!/usr/bin/env bash
# Inner test rdma_device_present (label rdma, runs inside the RDMA VM only): the soft-RoCE device
# is listed and active, and perftest's ib_write_lat runs 100 iterations over it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ "${HPCLESS_IN_RDMA_VM:-}" != 1 ]]; then
  echo "RDMA-VM SKIP: rdma_device_present runs inside the RDMA VM only (tests/rdma-vm/run-in-vm.sh)"
  exit 77
fi
# shellcheck source=tests/rdma-vm/perftest-lib.sh
source "$here/perftest-lib.sh"
dev="${HPCLESS_RDMA_DEVICE:-rxe0}"

ibv_devices | tee /dev/stderr | grep -qw "$dev" || { echo "FAIL: ibv_devices lists no $dev"; exit 1; }
ibv_devinfo -d "$dev" | grep -q PORT_ACTIVE || { echo "FAIL: $dev port not active"; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
if ! perftest_pair "$out/lat" 64 100 18516; then
  echo "FAIL: ib_write_lat over $dev"
  cat "$out/lat" "$out/lat.server"
  exit 1
fi
figures="$(perftest_figures "$out/lat")" || { echo "FAIL: no result line"; cat "$out/lat"; exit 1; }
read -r typ p99 <<<"$figures"
echo "ok: $dev active; ib_write_lat 64 B x 100: t_typical $typ us, p99 $p99 us (half round trip)"
