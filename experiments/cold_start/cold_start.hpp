// Experiment `cold-start`: how long from asking for a lease to the first result, by phase.
//
// Each repetition, on a fresh lease:
//   grant             POST /v1/leases until the 201 answer (manager: placement, tokens, SQLite)
//   connect-spawn     TCP connect to every allocation's executor until the hello-ack (in
//                     parallel; the slowest counts); the executor spawns the lease's worker
//                     process on the first connection, so this phase holds the process spawn
//   package-load      shipping --package-file to the workers (0 and no row without one)
//   first-invocation  the first invocation's round trip on the fresh worker (function load and
//                     first-touch costs included)
//   total             grant start -> first result (the cold start)
//   release           DELETE /v1/leases/{id} (after the result; not part of total)
// With on_demand (a manager that starts executors through Slurm, docs/slurm.md), the grant is
// split by the manager's own timestamps (the lease's "on_demand" record):
//   submit            request arrived -> sbatch answered with the job id
//   queue-wait        job submitted -> the job started (its script's first clock reading,
//                     job_started_ms; else squeue's first RUNNING, polled)
//   executor-start    job started -> the job's executor registered
// and each repetition first waits (untimed) until the previous repetition's executor has left,
// so that every lease needs a new one.
// Records are written after each repetition, never inside the timed part.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "client/lib/lease_client.hpp"
#include "comm/base/json.hpp"
#include "experiments/common/plot.hpp"
#include "experiments/common/results.hpp"

namespace hpcless::experiments {

// Phase names, in order (summary.csv's mode column).
// rdma-device, rdma-register and rdma-qp-connect (RDMA leases) are parts of connect.
// spawn + connect = connect-spawn (the client sees the two overlapped: the executor spawns the
// lease's worker while the first connection waits); the worker reports its spawn in hello-ack.
// worker-package-load is part of spawn. package-load is shipping --package-file afterwards.
inline constexpr const char* kColdPhases[] = {"grant",
                                              "submit",
                                              "queue-wait",
                                              "executor-start",
                                              "spawn",
                                              "worker-package-load",
                                              "connect",
                                              "rdma-device",
                                              "rdma-register",
                                              "rdma-qp-connect",
                                              "connect-spawn",
                                              "package-load",
                                              "first-invocation",
                                              "total",
                                              "release"};

struct ColdStartConfig {
  client::ManagerOptions manager;
  std::filesystem::path out_dir;
  size_t repetitions = 20;  // timed repetitions
  size_t warmup = 1;        // repetitions before them, recorded but not summarized
  int cores = 1;            // per lease
  double lease_seconds = 30;
  uint64_t memory_mb = 0;
  std::string policy;             // empty: the manager's default
  int32_t hot_timeout_ms = -1;    // the lease's (and the connection's) hot timeout
  bool client_busy_poll = false;  // how the client waits for the first result
  std::string transport = "tcp";  // the leases' transport: tcp or rdma
  std::string function = "echo";
  size_t payload = 64;
  std::filesystem::path package_file;  // shipped after connecting when set
  int pause_ms = 50;                   // between repetitions (the executor retires the old worker)
  int timeout_ms = 10000;              // connect and invocation deadline
  // Every lease on a new on-demand executor (Slurm): the grant is split into submit,
  // queue-wait and executor-start, and before each repetition the run waits up to
  // on_demand_leave_s for the previous repetition's executor to leave the pool.
  bool on_demand = false;
  double on_demand_leave_s = 120;

  nlohmann::json to_json() const;  // without the API token
};

// One repetition, in microseconds (negative: the phase did not run).
struct ColdStartSample {
  uint64_t rep = 0;
  bool warmup = false;
  std::string lease;
  std::vector<std::string> nodes;
  double grant_us = -1, connect_us = -1, package_us = -1, first_us = -1, total_us = -1,
         release_us = -1;
  // From the fresh workers' hello-acks (the slowest allocation); -1 when not reported.
  double spawn_us = -1, worker_package_us = -1;
  // RDMA leases: the client's set-up of the slowest connection, part of `connect`: address and
  // route resolution (opens the device), protection domain + queues + memory registration,
  // queue-pair connection. -1 over TCP.
  double rdma_device_us = -1, rdma_register_us = -1, rdma_qp_connect_us = -1;
  // On-demand grants only, from the lease's "on_demand" record (the manager's clock).
  std::string job_id;
  double submit_us = -1, queue_wait_us = -1, executor_start_us = -1;
  double connect_only_us() const { return spawn_us < 0 ? -1 : std::max(0.0, connect_us - spawn_us); }
  // The value of one of kColdPhases, -1 when not measured.
  double phase(const std::string& name) const;
  std::string error;  // empty: success
};

struct ColdStartOutcome {
  std::filesystem::path results_dir;
  std::vector<SummaryRow> rows;  // one per phase (mode = phase name)
  std::vector<ColdStartSample> samples;
  PlotResult plot;
  size_t failures = 0;
};

// Checks the configuration (ConfigError) and fills defaults.
ColdStartConfig normalized(ColdStartConfig c);

// Runs the experiment; progress lines to `progress` (nullptr: silent). Throws ConfigError for a
// bad configuration, Error when the manager is unreachable or three repetitions in a row fail;
// what was measured is in the results folder with summary and metadata by then.
ColdStartOutcome run_cold_start(const ColdStartConfig& config, std::FILE* progress);

// The table printed after a run: phase, count, p50, p90, p99, mean, max (ms).
std::string format_cold_start_table(const std::vector<SummaryRow>& rows);

// The gnuplot script for cold_start.png/.svg: stacked p50 and p99 of the phases, and the phases
// of every repetition stacked.
std::string cold_start_gnuplot_script(const std::vector<SummaryRow>& rows,
                                      const std::vector<ColdStartSample>& samples);

}  // namespace hpcless::experiments
