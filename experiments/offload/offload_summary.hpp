// The arithmetic of `hpcless experiment offload` (docs/offload.md), kept free of processes and
// files so that it is unit-tested: per-run accounting, per-fraction summary, summary.csv, the
// printed table and the gnuplot script.
//
// Accounting of one run (core-seconds):
//   mpi_core_s      = MPI ranks x the run's wall time (mpirun start to exit)
//   lease_core_s    = leased cores x the time the lease was held for the run (acquire to release
//                     when the experiment took a lease for the run; the run's wall time when a
//                     shared --lease was given; 0 when nothing was offloaded)
//   core_s          = mpi_core_s + lease_core_s
//   solution_core_s = (ranks + leased cores if tiles were offloaded) x time to solution: the
//                     cores occupied while C was being computed, without start-up costs
// Speedup and ratios compare a fraction's medians with those of fraction 0 (pure MPI).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "comm/base/json.hpp"

namespace hpcless::experiments::offload {

struct OffloadRun {
  double fraction = 0;
  int repetition = 0;
  bool ok = false;
  std::string error;       // why not ok
  std::string lease;       // empty when none was used
  int ranks = 1;
  int lease_cores = 0;     // cores of the lease used (0: none)
  double wall_s = 0;       // mpirun start to exit
  double lease_held_s = 0;
  // From the application's JSON line (valid when ok):
  double time_to_solution_s = 0;
  double local_compute_s = 0;
  double offload_s = 0;
  uint64_t tiles_offloaded = 0;
  nlohmann::json app;  // the line itself
  // Filled by account():
  double mpi_core_s = 0;
  double lease_core_s = 0;
  double core_s = 0;
  double solution_core_s = 0;
};

// Fills the core-second fields of `r` as described at the top of this file.
void account(OffloadRun& r);

// The runs.jsonl line of a run (schema hpcless.offload.run.v1).
nlohmann::ordered_json run_to_json(const OffloadRun& r);

struct OffloadRow {
  double fraction = 0;
  size_t runs = 0;       // successful
  size_t failures = 0;
  uint64_t tiles_offloaded = 0;  // of the first successful run (the same in every run)
  // Medians over the successful runs (time in seconds); min/max of the time to solution.
  double time_to_solution_s = 0, tts_min_s = 0, tts_max_s = 0;
  double local_compute_s = 0, offload_s = 0, wall_s = 0;
  double core_s = 0, solution_core_s = 0;
  // Relative to fraction 0: nullopt when 0 was not measured or this row has no runs.
  std::optional<double> speedup;                // tts(0) / tts(f)
  std::optional<double> core_s_ratio;           // core_s(f) / core_s(0)
  std::optional<double> solution_core_s_ratio;  // solution_core_s(f) / solution_core_s(0)
};

// One row per fraction, in the order given.
std::vector<OffloadRow> summarize_runs(const std::vector<OffloadRun>& runs,
                                       const std::vector<double>& fractions);

inline constexpr const char* kOffloadSummaryHeader =
    "fraction,runs,failures,tiles_offloaded,time_to_solution_s,tts_min_s,tts_max_s,speedup,"
    "local_compute_s,offload_s,wall_s,core_s,core_s_ratio,solution_core_s,"
    "solution_core_s_ratio";
// summary.csv: the header, then one line per row (empty cells where there is no value).
std::string offload_summary_csv(const std::vector<OffloadRow>& rows);

// The table printed after a run; `title` is its first line (without '#').
std::string format_offload_table(const std::vector<OffloadRow>& rows, const std::string& title);

// offload.gp: time to solution (median, min-max bars, every run) and core-seconds (job and
// solution) against the offload fraction; draws offload.png and offload.svg.
std::string offload_gnuplot_script(const std::vector<OffloadRow>& rows,
                                   const std::vector<OffloadRun>& runs, const std::string& title);

// "0,0.25,0.5" -> values in [0, 1], duplicates dropped, order kept. Throws ConfigError.
std::vector<double> parse_fractions(const std::string& text);

// The application's result line (schema hpcless.offload.v1) in its standard output: the last
// line that parses as such. nullopt when there is none.
std::optional<nlohmann::json> find_result_line(const std::string& output);

}  // namespace hpcless::experiments::offload
