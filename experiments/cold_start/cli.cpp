#include "experiments/cold_start/cli.hpp"

#include <cstdio>
#include <cxxopts.hpp>
#include <string>

#include "comm/base/error.hpp"
#include "experiments/cold_start/cold_start.hpp"
#include "experiments/cold_start/lease_experiment.hpp"
#include "experiments/common/cli_main.hpp"

namespace hpcless::experiments {

namespace {

constexpr const char* kProgram = "hpcless experiment cold-start";

template <class T>
T at_least(const cxxopts::ParseResult& args, const char* name, long long min) {
  const auto v = args[name].as<long long>();
  if (v < min)
    throw ConfigError(std::string("--") + name + " must be at least " + std::to_string(min));
  return static_cast<T>(v);
}

ColdStartConfig parse(const cxxopts::ParseResult& args) {
  if (!args.unmatched().empty())
    throw ConfigError("unexpected argument '" + args.unmatched().front() + "'");
  if (!args.count("out")) throw ConfigError("--out DIR is required");
  ColdStartConfig c;
  c.manager = manager_experiment_options(args);
  c.out_dir = args["out"].as<std::string>();
  c.repetitions = at_least<size_t>(args, "repetitions", 1);
  c.warmup = at_least<size_t>(args, "warmup", 0);
  c.cores = at_least<int>(args, "cores", 1);
  c.lease_seconds = args["lease-seconds"].as<double>();
  c.memory_mb = at_least<uint64_t>(args, "memory-mb", 0);
  if (args.count("policy")) c.policy = args["policy"].as<std::string>();
  c.hot_timeout_ms = at_least<int32_t>(args, "hot-timeout-ms", -1);
  c.client_busy_poll = args.count("client-busy-poll") > 0;
  c.transport = args["transport"].as<std::string>();
  if (c.transport != "tcp" && c.transport != "rdma")
    throw ConfigError("--transport must be tcp or rdma (got '" + c.transport + "')");
  c.function = args["function"].as<std::string>();
  c.payload = at_least<size_t>(args, "payload", 0);
  if (args.count("package-file")) c.package_file = args["package-file"].as<std::string>();
  c.pause_ms = at_least<int>(args, "pause-ms", 0);
  c.timeout_ms = at_least<int>(args, "timeout-ms", 1);
  c.on_demand = args.count("on-demand") > 0;
  c.on_demand_leave_s = args["on-demand-leave-s"].as<double>();
  return normalized(std::move(c));
}

}  // namespace

int cold_start_main(int argc, char** argv) {
  cxxopts::Options opts(kProgram,
                        "Cold start on fresh leases: grant, connect + worker spawn, package load, "
                        "first invocation, release; p50/p99 per phase. Needs a manager with "
                        "executors (e.g. `hpcless cluster up --nodes 2`).");
  add_manager_experiment_options(opts);
  auto add = opts.add_options();
  add("o,out", "results folder to create (must not hold a run)", cxxopts::value<std::string>());
  add("r,repetitions", "timed repetitions (one fresh lease each)",
      cxxopts::value<long long>()->default_value("20"));
  add("warmup", "repetitions before them, recorded but not summarized",
      cxxopts::value<long long>()->default_value("1"));
  add("cores", "cores per lease (over one or more nodes)",
      cxxopts::value<long long>()->default_value("1"));
  add("lease-seconds", "duration of each lease", cxxopts::value<double>()->default_value("30"));
  add("memory-mb", "memory limit per lease (0: none)",
      cxxopts::value<long long>()->default_value("0"));
  add("policy", "placement: first-fit or spread", cxxopts::value<std::string>());
  add("hot-timeout-ms", "the lease's hot timeout (-1: always busy-poll)",
      cxxopts::value<long long>()->default_value("-1"));
  add("client-busy-poll", "the client spins while waiting for the first result");
  add("transport", "the leases' transport: tcp, or rdma (nodes started with --rdma-address; "
      "adds the phases rdma-device, rdma-register and rdma-qp-connect)",
      cxxopts::value<std::string>()->default_value("tcp"));
  add("f,function", "function of the first invocation (echo and noop are validated)",
      cxxopts::value<std::string>()->default_value("echo"));
  add("payload", "input bytes of the first invocation",
      cxxopts::value<long long>()->default_value("64"));
  add("package-file", "ship this package to the workers (measured as package-load)",
      cxxopts::value<std::string>());
  add("pause-ms", "pause between repetitions", cxxopts::value<long long>()->default_value("50"));
  add("timeout-ms", "deadline of connecting and of the invocation",
      cxxopts::value<long long>()->default_value("10000"));
  add("on-demand",
      "every lease on a new on-demand executor (a manager with on_demand enabled and no free "
      "executor): the grant split into submit, queue-wait, executor-start");
  add("on-demand-leave-s",
      "with --on-demand: wait this long before a repetition for idle executors of earlier ones "
      "to leave",
      cxxopts::value<double>()->default_value("120"));
  add("h,help", "show this help");

  ColdStartConfig config;
  if (const auto code = parse_command_line(opts, argc, argv, kProgram,
                                           [&](const auto& args) { config = parse(args); }))
    return *code;
  return run_reporting_errors(kProgram, [&] {
    const auto outcome = run_cold_start(config, stderr);
    std::printf("%s", format_cold_start_table(outcome.rows).c_str());
    report_results(kProgram, outcome.results_dir, outcome.plot, outcome.failures,
                   "failed repetitions (see phases.jsonl)");
    return 0;
  });
}

}  // namespace hpcless::experiments
