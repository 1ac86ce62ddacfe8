#include "experiments/offload/cli.hpp"

#include <cstdint>
#include <cstdio>
#include <cxxopts.hpp>
#include <string>

#include "comm/base/error.hpp"
#include "experiments/comm/comm_bench.hpp"
#include "experiments/common/cli_main.hpp"
#include "experiments/offload/offload_experiment.hpp"
#include "experiments/offload/size_option.hpp"

namespace hpcless::experiments::offload {

namespace {

constexpr const char* kProgram = "hpcless experiment offload";

long long in_range(const cxxopts::ParseResult& args, const char* name, long long lo,
                   long long hi) {
  const auto v = args[name].as<long long>();
  if (v < lo || v > hi) {
    // The matrix size is registered as --size but documented as --n (size_option.hpp).
    const std::string label = std::string(name) == "size" ? "n" : name;
    throw ConfigError("--" + label + " must be in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "], got " + std::to_string(v));
  }
  return v;
}

OffloadExperimentConfig parse(const cxxopts::ParseResult& args) {
  if (!args.unmatched().empty())
    throw ConfigError("unexpected argument '" + args.unmatched().front() + "'");
  if (!args.count("out")) throw ConfigError("--out DIR is required");
  OffloadExperimentConfig c;
  c.out_dir = args["out"].as<std::string>();
  if (args.count("manager")) c.manager_url = args["manager"].as<std::string>();
  if (args.count("token-file")) c.token_file = args["token-file"].as<std::string>();
  c.n = static_cast<uint32_t>(in_range(args, "size", 1, 16384));
  c.tile = static_cast<uint32_t>(in_range(args, "tile", 1, 16384));
  c.ranks = static_cast<int>(in_range(args, "ranks", 1, 256));
  c.lease_cores = static_cast<int>(in_range(args, "lease-cores", 1, 4096));
  c.fractions = parse_fractions(args["fractions"].as<std::string>());
  c.repetitions = static_cast<int>(in_range(args, "repetitions", 1, 1000));
  if (args.count("lease")) c.lease = args["lease"].as<std::string>();
  c.lease_seconds = args["lease-seconds"].as<double>();
  if (args.count("mpirun")) c.mpirun = args["mpirun"].as<std::string>();
  c.seed = static_cast<uint64_t>(in_range(args, "seed", 0, INT64_MAX));
  c.depth = static_cast<int>(in_range(args, "depth", 1, 64));
  c.verify = args.count("verify") > 0;
  c.run_timeout =
      std::chrono::milliseconds(in_range(args, "timeout-ms", 1000, 86'400'000));
  return normalized(std::move(c));
}

}  // namespace

int offload_experiment_main(int argc, char** argv) {
  cxxopts::Options opts(
      kProgram,
      "Pure MPI against MPI + functions: an MPI matrix multiplication (hpcless-offload-mpi, run "
      "with mpirun) whose ranks offload a fraction of their row tiles to leased workers; time to "
      "solution and core-seconds per fraction (docs/offload.md). Needs a manager with executors "
      "for fractions above 0 (e.g. `hpcless cluster up --nodes 1`).");
  opts.add_options("manager")("manager",
                              "manager URL http://HOST:PORT (default: $HPCLESS_MANAGER)",
                              cxxopts::value<std::string>())(
      "token-file", "file holding the API token (default: $HPCLESS_API_TOKEN)",
      cxxopts::value<std::string>());
  auto add = opts.add_options();
  add("o,out", "results folder to create (must not hold a run)", cxxopts::value<std::string>());
  add("size", "matrix size n: C = A*B is n x n (also --n N)",
      cxxopts::value<long long>()->default_value("1024"));
  add("tile", "rows per tile", cxxopts::value<long long>()->default_value("64"));
  add("ranks", "MPI ranks", cxxopts::value<long long>()->default_value("1"));
  add("lease-cores", "cores of each run's lease",
      cxxopts::value<long long>()->default_value("1"));
  add("fractions", "offload fractions, comma-separated in [0, 1]",
      cxxopts::value<std::string>()->default_value("0,0.25,0.5,0.75,1"));
  add("r,repetitions", "runs per fraction (interleaved)",
      cxxopts::value<long long>()->default_value("3"));
  add("lease", "use this lease for every run instead of a fresh one per run",
      cxxopts::value<std::string>());
  add("lease-seconds", "duration of each fresh lease (released after its run)",
      cxxopts::value<double>()->default_value("600"));
  add("mpirun", std::string("mpirun command; -np and the program follow (default: ") +
                    comm_bench::kDefaultMpirun + ")",
      cxxopts::value<std::string>());
  add("seed", "seed of A and B", cxxopts::value<long long>()->default_value("42"));
  add("depth", "tiles in flight per worker connection",
      cxxopts::value<long long>()->default_value("2"));
  add("verify", "every run checks C against a reference DGEMM on rank 0 (slower)");
  add("timeout-ms", "deadline of each run (its mpirun is stopped after it)",
      cxxopts::value<long long>()->default_value("600000"));
  add("h,help", "show this help");

  OffloadExperimentConfig config;
  hpcless::offload::SizeOptionArgs rewritten(argc, argv);
  if (const auto code = parse_command_line(opts, rewritten.argc(), rewritten.argv(), kProgram,
                                           [&](const auto& args) { config = parse(args); }))
    return *code;
  return run_reporting_errors(kProgram, [&] {
    const auto outcome = run_offload_experiment(config, stderr);
    std::printf("%s", outcome.table.c_str());
    report_results(kProgram, outcome.results_dir, outcome.plot, outcome.failures,
                   "failed runs (see runs.jsonl and raw/)");
    return outcome.failures > 0 ? 1 : 0;
  });
}

}  // namespace hpcless::experiments::offload
