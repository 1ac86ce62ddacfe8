# shellcheck shell=bash
# Sourced by the guest-side scripts: one perftest ib_write_lat run between two processes on the
# VM's soft-RoCE device, connected through librdmacm (-R), server on CPU 0, client on CPU 1.
# perftest reports HALF the round trip (t_typical etc.): double it to compare with an invocation.

# perftest_pair OUT SIZE ITERS [PORT]: client output in OUT, server output in OUT.server.
perftest_pair() {
  local out="$1" size="$2" iters="$3" port="${4:-18515}"
  local dev="${HPCLESS_RDMA_DEVICE:-rxe0}" addr="${HPCLESS_RDMA_ADDRESS:-198.18.0.1}"
  local server_cpu=0 client_cpu=1 spid i rc=0
  [[ "$(nproc)" -gt 1 ]] || client_cpu=0
  local -a args=(ib_write_lat -d "$dev" -R -F -s "$size" -n "$iters" -p "$port")
  timeout 300 taskset -c "$server_cpu" "${args[@]}" >"$out.server" 2>&1 &
  spid=$!
  # The client is rejected unless the server already listens: wait for its rdma_cm listener.
  for ((i = 0; i < 120; i++)); do
    rdma resource show cm_id 2>/dev/null | grep -q "LISTEN.*:$port " && break
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.25
  done
  timeout 300 taskset -c "$client_cpu" "${args[@]}" "$addr" >"$out" 2>&1 || rc=$?
  # Rejected (no listener yet, seen once with other RDMA tests running): the server still waits
  # for a client, so one more try after a second.
  if [[ $rc -ne 0 ]] && grep -q REJECTED "$out" && kill -0 "$spid" 2>/dev/null; then
    sleep 1
    rc=0
    timeout 300 taskset -c "$client_cpu" "${args[@]}" "$addr" >"$out" 2>&1 || rc=$?
  fi
  if [[ $rc -ne 0 ]]; then
    kill "$spid" 2>/dev/null || true
  fi
  local server_rc=0
  wait "$spid" || server_rc=$?
  [[ $rc -ne 0 ]] || rc=$server_rc
  return "$rc"
}

# perftest_figures FILE: prints "t_typical_us t_p99_us" from perftest's result line.
perftest_figures() {
  awk '$1 ~ /^[0-9]+$/ && NF >= 8 { typ = $5; p99 = $8 } END { if (typ == "") exit 1; print typ, p99 }' "$1"
}
