// Experiment `comm`: hpcless channels, Open MPI over TCP and Gloo over TCP measured with the same
// OSU loop (osu/osu_bench.hpp) on this machine, side by side in one run.
//
// Method: for each round, for each operation, every series runs once (`hpcless comm-bench` with
// the same ranks, sizes and iterations); the series order rotates from round to round so that no
// system always runs first or last. A series' value for a size is the median over rounds of the
// OSU "Avg Latency" (bandwidth: MB/s) of its runs.
//
// Series: direct (hpcless direct channel, waits sleep in ppoll), direct-spin (the same, polling
// with sched_yield before sleeping), direct-rdma and direct-rdma-spin (the direct channel over
// RDMA, sleeping in epoll at once or after polling; need an RDMA device), redis and s3 (hpcless
// object-store channels, when available and configured), mpi (Open MPI, TCP BTL,
// mpi_yield_when_idle 1), mpi-spin (the same with mpi_yield_when_idle 0), gloo (Gloo TCP transport;
// waits block on a condition variable).
//
// Results folder (see docs/comm-bench.md): results.csv (every run and size), <op>.csv (a column
// per series), summary.csv and summary.txt (medians, ratios to mpi), metadata.json, raw/ (each
// run's table, CSV and log), plots <op>.png/.svg/.gp (log-log, one line per series).
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "comm/base/json.hpp"
#include "experiments/comm/osu/osu_bench.hpp"

namespace hpcless::experiments::comm_bench {

struct CommExperimentConfig {
  std::filesystem::path out_dir;  // must not hold a run already
  int ranks = 4;                  // latency and bandwidth always use 2
  std::vector<osu::Op> ops{osu::Op::kAllreduce, osu::Op::kBcast};
  osu::Options bench;               // sizes (or -m range), iterations, warm-up; op is ignored
  std::vector<std::string> series;  // empty: default_series()
  std::string config_path;          // storage settings for redis / s3
  bool start_services = false;      // start a redis-server and an s3rver (raw/services/)
  int rounds = 3;
  std::string mpirun;                       // empty: kDefaultMpirun
  std::string mpi_args;                     // appended to every mpi series' mpirun
  std::chrono::microseconds spin{100'000};  // direct-spin's (and direct-rdma-spin's) polling time
  std::string rdma_address;  // direct-rdma series: RDMA interface address ($HPCLESS_RDMA_ADDRESS)
  std::chrono::milliseconds timeout{60'000};
  std::chrono::milliseconds watchdog{std::chrono::minutes(15)};  // per run
  std::string self_exe;  // the hpcless executable (ranks run `<exe> comm-bench`)

  nlohmann::json to_json() const;
};

// Every series name the experiment knows.
std::vector<std::string> known_series();
// direct, mpi, gloo, plus redis and s3 when config_path is set or start_services.
std::vector<std::string> default_series(const CommExperimentConfig& c);

// Fills defaults and checks the configuration. Throws ConfigError.
CommExperimentConfig normalized(CommExperimentConfig c);

struct SeriesValue {
  std::vector<double> per_round;  // OSU Avg Latency (us) or bandwidth (MB/s), one per good run
  double median = 0;
  std::string label;  // the system label of its runs
};

struct CommExperimentOutcome {
  std::filesystem::path results_dir;
  // [op][size][series]
  std::map<std::string, std::map<size_t, std::map<std::string, SeriesValue>>> values;
  std::vector<std::string> series;
  std::vector<std::string> failures;       // one line per failed run
  std::vector<std::string> plot_messages;  // plots that could not be drawn, and why
  std::string table;                       // summary.txt
};

// Runs every round; progress lines go to `progress` (nullptr: silent). Throws ConfigError for a
// bad configuration; failed runs are recorded (outcome.failures), not thrown.
CommExperimentOutcome run_comm_experiment(const CommExperimentConfig& config, std::FILE* progress);

}  // namespace hpcless::experiments::comm_bench
