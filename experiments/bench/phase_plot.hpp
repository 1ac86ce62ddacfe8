// The plot of `hpcless bench run`: time per phase, one panel per benchmark, one stacked bar per
// kind (cold, warm): download, compute, upload, the rest of the function's time, and the
// invocation overhead (client round trip minus function time); p50s of valid invocations, in ms.
//
// phases.gp (data inline) is always written, so the plot can be redrawn with `gnuplot phases.gp`
// in the folder; phases.png and phases.svg are drawn when gnuplot is installed.
#pragma once

#include <chrono>
#include <filesystem>
#include <span>
#include <string>

#include "experiments/bench/bench_records.hpp"

namespace hpcless::bench {

struct PhasePlotResult {
  bool ok = false;
  std::string message;  // why there is no PNG (empty when ok)
};

std::string phase_gnuplot_script(std::span<const BenchSummaryRow> rows);

// Writes phases.gp into `dir` and runs gnuplot (killed after `timeout`; its output goes to
// phases.gnuplot.log). Throws Error only when the script cannot be written.
PhasePlotResult plot_phases(const std::filesystem::path& dir, std::span<const BenchSummaryRow> rows,
                            std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace hpcless::bench
