#include "experiments/idle_time/cli.hpp"

#include <cstdio>
#include <cxxopts.hpp>
#include <string>

#include "comm/base/error.hpp"
#include "experiments/cold_start/lease_experiment.hpp"
#include "experiments/common/cli_main.hpp"
#include "experiments/idle_time/idle_time.hpp"

namespace hpcless::experiments {

namespace {

constexpr const char* kProgram = "hpcless experiment idle-time";

long long at_least(const cxxopts::ParseResult& args, const char* name, long long min) {
  const auto v = args[name].as<long long>();
  if (v < min)
    throw ConfigError(std::string("--") + name + " must be at least " + std::to_string(min));
  return v;
}

IdleTimeConfig parse(const cxxopts::ParseResult& args) {
  if (!args.unmatched().empty())
    throw ConfigError("unexpected argument '" + args.unmatched().front() + "'");
  if (!args.count("out")) throw ConfigError("--out DIR is required");
  IdleTimeConfig c;
  c.manager = manager_experiment_options(args);
  c.out_dir = args["out"].as<std::string>();
  c.gaps_ms.clear();
  const std::string gaps = args["gaps"].as<std::string>();
  size_t pos = 0;
  while (pos <= gaps.size()) {
    size_t comma = gaps.find(',', pos);
    if (comma == std::string::npos) comma = gaps.size();
    c.gaps_ms.push_back(parse_duration_ms(gaps.substr(pos, comma - pos), "--gaps"));
    pos = comma + 1;
  }
  c.repetitions = static_cast<size_t>(at_least(args, "repetitions", 1));
  c.hot_timeout_ms = static_cast<int32_t>(at_least(args, "hot-timeout-ms", -1));
  c.lease_seconds = args["lease-seconds"].as<double>();
  c.renew_margin_ms = static_cast<int>(at_least(args, "renew-margin-ms", 0));
  c.cores = static_cast<int>(at_least(args, "cores", 1));
  c.function = args["function"].as<std::string>();
  c.payload = static_cast<size_t>(at_least(args, "payload", 0));
  c.client_busy_poll = !args.count("client-blocks");
  c.timeout_ms = static_cast<int>(at_least(args, "timeout-ms", 1));
  return normalized(std::move(c));
}

}  // namespace

int idle_time_main(int argc, char** argv) {
  cxxopts::Options opts(kProgram,
                        "Latency of an invocation after an idle gap (1 ms .. 10 s by default) on "
                        "a lease with a short hot timeout and duration: hot, warm, lease expired, "
                        "re-lease cold. About 1 minute with the defaults. Needs a manager with "
                        "executors (e.g. `hpcless cluster up --nodes 1`).");
  add_manager_experiment_options(opts);
  auto add = opts.add_options();
  add("o,out", "results folder to create (must not hold a run)", cxxopts::value<std::string>());
  add("gaps", "idle gaps, e.g. 1ms,10ms,100ms,1s,10s",
      cxxopts::value<std::string>()->default_value("1ms,10ms,100ms,1s,10s"));
  add("r,repetitions", "pairs per gap", cxxopts::value<long long>()->default_value("5"));
  add("hot-timeout-ms", "the lease's hot timeout",
      cxxopts::value<long long>()->default_value("50"));
  add("lease-seconds", "lease duration (gaps longer than this outlive their lease)",
      cxxopts::value<double>()->default_value("9"));
  add("renew-margin-ms", "renew the shared lease when less than gap + this is left",
      cxxopts::value<long long>()->default_value("2000"));
  add("cores", "cores per lease", cxxopts::value<long long>()->default_value("1"));
  add("f,function", "function to invoke (echo and noop are validated)",
      cxxopts::value<std::string>()->default_value("echo"));
  add("payload", "input bytes", cxxopts::value<long long>()->default_value("64"));
  add("client-blocks", "the client blocks in poll() for replies instead of spinning");
  add("timeout-ms", "deadline of connecting and of each invocation",
      cxxopts::value<long long>()->default_value("10000"));
  add("h,help", "show this help");

  IdleTimeConfig config;
  if (const auto code = parse_command_line(opts, argc, argv, kProgram,
                                           [&](const auto& args) { config = parse(args); }))
    return *code;
  return run_reporting_errors(kProgram, [&] {
    const auto outcome = run_idle_time(config, stderr);
    std::printf("%s", format_idle_time_table(outcome.samples).c_str());
    report_results(kProgram, outcome.results_dir, outcome.plot, outcome.failures,
                   "unexpected failures (see gaps.jsonl)");
    return 0;
  });
}

}  // namespace hpcless::experiments
