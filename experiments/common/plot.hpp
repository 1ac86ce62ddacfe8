// Plots for experiment results folders, drawn by gnuplot (Debian package gnuplot-nox).
//
// The gnuplot script is always written into the folder (with its data inline), so a plot can be
// redrawn or restyled later with `gnuplot latency.gp` inside the folder even when gnuplot was
// missing at run time.
#pragma once

#include <chrono>
#include <filesystem>
#include <span>
#include <string>

#include "experiments/common/results.hpp"

namespace hpcless::experiments {

struct PlotResult {
  bool ok = false;
  std::string message;  // why the plot is missing (empty when ok)
  std::filesystem::path script;
  std::filesystem::path png;
  std::filesystem::path svg;
};

// The gnuplot script for latency.png/latency.svg: log-log latency (us) against payload bytes,
// p50 solid and p99 dashed, one colour per system and mode. Rows with count 0 are left out.
std::string latency_gnuplot_script(std::span<const SummaryRow> rows);

// Writes latency.gp into `dir` and runs gnuplot on it (killed after `timeout`); gnuplot's output
// goes to latency.gnuplot.log. Gnuplot trouble is reported in the result, not thrown; throws
// Error only when the script cannot be written.
PlotResult plot_latency(const std::filesystem::path& dir, std::span<const SummaryRow> rows,
                        std::chrono::milliseconds timeout = std::chrono::seconds(60));

// For other experiments' plots: writes `script` to dir/<name>.gp and runs gnuplot on it in
// `dir` (killed after `timeout`; output in <name>.gnuplot.log). The script must draw
// <name>.png and <name>.svg. Reports like plot_latency.
PlotResult run_gnuplot_script(const std::filesystem::path& dir, const std::string& name,
                              const std::string& script,
                              std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace hpcless::experiments
