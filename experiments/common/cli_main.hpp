// The command-line frame the `hpcless experiment <name>` programs share: parse the options
// (--help, errors as exit codes), run, then report where the results went.
//
// Exit codes: 0 done (or --help), 2 a configuration error, 1 any other failure.
// Thread safety: none needed; called from main.
#pragma once

#include <cstddef>
#include <cxxopts.hpp>
#include <filesystem>
#include <functional>
#include <optional>

#include "experiments/common/plot.hpp"

namespace hpcless::experiments {

// Parses `argv` with `opts` and hands the result to `parse`. Returns the exit code when the program
// stops here: 0 after printing --help, 2 after a bad option or a ConfigError from `parse`
// (message prefixed with `program`); nullopt when it should run.
std::optional<int> parse_command_line(
    cxxopts::Options& opts, int argc, char** argv, const char* program,
    const std::function<void(const cxxopts::ParseResult&)>& parse);

// Runs `run` and returns its exit code; a ConfigError gives 2 and any other exception 1, with
// the message prefixed with `program` on stderr.
int run_reporting_errors(const char* program, const std::function<int()>& run);

// Prints the results folder and the plot (or warns why there is none), and warns about
// `failures` described by `failures_note`, e.g. "failed repetitions (see phases.jsonl)".
void report_results(const char* program, const std::filesystem::path& results_dir,
                    const PlotResult& plot, size_t failures, const char* failures_note);

}  // namespace hpcless::experiments
