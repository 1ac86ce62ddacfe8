// Experiment `offload` (docs/offload.md): pure MPI against MPI + functions. For each offload
// fraction f, `mpirun -np RANKS hpcless-offload-mpi --fraction f ...` computes C = A * B with a
// share f of every rank's row tiles sent to leased workers; repetitions are interleaved (round r
// runs the fractions in an order rotated by r) so that slow drifts of the machine hit every
// fraction alike.
//
// Leases: without --lease, every run that offloads gets a fresh lease of --lease-cores cores,
// acquired right before mpirun and released right after it, so that the lease time charged to a
// run is the time it really held the cores. With --lease ID, every run uses that lease and is
// charged its wall time. Runs with f = 0 use no lease.
//
// Results folder: runs.jsonl (one line per run, schema hpcless.offload.run.v1, with the
// application's own line), summary.csv (offload_summary.hpp), metadata.json, offload.gp/.png/.svg,
// raw/ (each run's standard output and log).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "client/lib/lease_client.hpp"
#include "comm/base/json.hpp"
#include "experiments/common/plot.hpp"
#include "experiments/offload/offload_summary.hpp"

namespace hpcless::experiments::offload {

struct OffloadExperimentConfig {
  std::filesystem::path out_dir;  // must not hold a run already
  std::optional<std::string> manager_url;  // --manager, else $HPCLESS_MANAGER
  std::optional<std::string> token_file;   // --token-file (passed on to the ranks), else env
  uint32_t n = 1024;
  uint32_t tile = 64;
  int ranks = 1;
  int lease_cores = 1;
  std::vector<double> fractions{0, 0.25, 0.5, 0.75, 1};
  int repetitions = 3;
  std::string lease;          // a lease to use for every run; empty: one fresh lease per run
  double lease_seconds = 600;  // duration of each fresh lease (released after its run)
  std::string mpirun;         // empty: the default of experiments/comm (loopback TCP)
  std::string app;            // hpcless-offload-mpi; empty: the one built with hpcless
  uint64_t seed = 42;
  int depth = 2;
  bool verify = false;
  std::chrono::milliseconds run_timeout{std::chrono::minutes(10)};  // per mpirun (watchdog)

  nlohmann::json to_json() const;
};

struct OffloadOutcome {
  std::filesystem::path results_dir;
  std::vector<OffloadRun> runs;
  std::vector<OffloadRow> rows;
  std::string table;
  PlotResult plot;
  size_t failures = 0;
};

// The application built with hpcless ($HPCLESS_OFFLOAD_MPI overrides it), or "" when it was not
// built (Open MPI or OpenBLAS missing at configure time).
std::string offload_app_path();

// Checks the configuration and fills defaults (mpirun, app). Throws ConfigError.
OffloadExperimentConfig normalized(OffloadExperimentConfig c);

// Runs the experiment. Progress lines go to `progress` (may be null). Throws ConfigError for
// a bad configuration or a missing manager/lease, Error when the manager cannot be reached;
// failed runs are recorded and counted, and the results are written regardless.
OffloadOutcome run_offload_experiment(const OffloadExperimentConfig& config, std::FILE* progress);

}  // namespace hpcless::experiments::offload
