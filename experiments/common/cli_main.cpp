#include "experiments/common/cli_main.hpp"

#include <cstdio>
#include <exception>

#include "comm/base/error.hpp"

namespace hpcless::experiments {

std::optional<int> parse_command_line(
    cxxopts::Options& opts, int argc, char** argv, const char* program,
    const std::function<void(const cxxopts::ParseResult&)>& parse) {
  try {
    const auto args = opts.parse(argc, argv);
    if (args.count("help")) {
      std::printf("%s\n", opts.help().c_str());
      return 0;
    }
    parse(args);
  } catch (const cxxopts::exceptions::exception& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", program, e.what());
    return 2;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 2;
  }
  return std::nullopt;
}

int run_reporting_errors(const char* program, const std::function<int()>& run) {
  try {
    return run();
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
}

void report_results(const char* program, const std::filesystem::path& results_dir,
                    const PlotResult& plot, size_t failures, const char* failures_note) {
  std::printf("\nresults: %s\n", results_dir.string().c_str());
  if (plot.ok)
    std::printf("plot:    %s\n", plot.png.string().c_str());
  else
    std::fprintf(stderr, "%s: warning: no plot: %s\n", program, plot.message.c_str());
  if (failures > 0) std::fprintf(stderr, "%s: warning: %zu %s\n", program, failures, failures_note);
}

}  // namespace hpcless::experiments
