#include "experiments/comm/cli.hpp"

#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

#include "comm/base/error.hpp"
#include "experiments/comm/comm_bench.hpp"
#include "experiments/comm/experiment.hpp"

namespace hpcless::experiments::comm_bench {

namespace {

constexpr const char* kProgram = "hpcless experiment comm";

void usage(FILE* out) {
  std::string series;
  for (const auto& s : known_series()) series += (series.empty() ? "" : ",") + s;
  std::fprintf(
      out,
      "usage: hpcless experiment comm --out DIR [--ranks 4] [--ops allreduce,bcast]\n"
      "                               [--sizes 8,64K,4M | -m MIN:MAX] [-i ITERS] [-x WARMUP]\n"
      "                               [--series direct,mpi,gloo] [--rounds 3] [--config FILE]\n"
      "\n"
      "hpcless channels, Open MPI (TCP) and Gloo (TCP) with the same OSU loop, side by side.\n"
      "\n"
      "  --out DIR          results folder to create (must not hold a run)\n"
      "  --ranks N          processes per run (default 4; latency/bandwidth always use 2)\n"
      "  --ops LIST         operations (default allreduce,bcast): %s\n"
      "  --sizes LIST       message sizes (default 8,65536,4194304)\n"
      "  -m MIN:MAX         sizes doubling from MIN to MAX instead of --sizes\n"
      "  -i ITERS, -x N     timed and warm-up iterations (default: OSU's, by size)\n"
      "  --series LIST      %s (default: direct, redis and s3\n"
      "                     with --config or --start-services, mpi, gloo)\n"
      "  --rounds R         runs of every series per operation (default 3); medians reported\n"
      "  --config FILE      storage settings for redis/s3 (e.g. config/local.json)\n"
      "  --start-services   start a redis-server and an s3rver for redis/s3 (free ports)\n"
      "  --spin-us US       polling time of the *-spin series (default 100000)\n"
      "  --rdma-address A   direct-rdma series: IP address of this host's RDMA interface\n"
      "                     (default $HPCLESS_RDMA_ADDRESS)\n"
      "  --mpirun CMD       mpirun command (default: %s)\n"
      "  --mpi-args ARGS    extra mpirun arguments for the mpi series\n"
      "  --timeout-ms MS    deadline of every blocking call (default 60000)\n"
      "  --watchdog-s S     stop a run after S seconds (default 900)\n",
      osu::op_list().c_str(), series.c_str(), kDefaultMpirun);
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    if (comma > pos) items.emplace_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return items;
}

}  // namespace

int comm_experiment_main(int argc, char** argv) {
  CommExperimentConfig c;
  bool range_given = false;
  try {
    for (int i = 1; i < argc;) {
      const std::string_view k = argv[i];
      if (k == "-h" || k == "--help") {
        usage(stdout);
        return 0;
      }
      if (k == "--op" || k == "--csv" || k == "-W" || k == "--window")
        throw std::invalid_argument("option " + std::string(k) + " belongs to comm-bench");
      if (k == "-m" || k == "--message-size") range_given = true;
      if (k == "--start-services") {
        c.start_services = true;
        ++i;
        continue;
      }
      const int used = osu::consume_option(argc, argv, i, c.bench);
      if (used > 0) {
        i += used;
        continue;
      }
      if (i + 1 >= argc)
        throw std::invalid_argument("unknown option or missing value: " + std::string(k));
      const std::string v = argv[i + 1];
      if (k == "--out" || k == "-o") {
        c.out_dir = v;
      } else if (k == "--ranks") {
        c.ranks = osu::parse_count(v, "--ranks", 1);
      } else if (k == "--ops") {
        c.ops.clear();
        for (const auto& name : split_list(v)) {
          const auto op = osu::parse_op(name);
          if (!op)
            throw std::invalid_argument("unknown operation '" + name +
                                        "' (one of: " + osu::op_list() + ")");
          c.ops.push_back(*op);
        }
      } else if (k == "--series" || k == "--systems") {
        c.series = split_list(v);
      } else if (k == "--rounds") {
        c.rounds = osu::parse_count(v, "--rounds", 1);
      } else if (k == "--config") {
        c.config_path = v;
      } else if (k == "--rdma-address") {
        c.rdma_address = v;
      } else if (k == "--spin-us") {
        c.spin = std::chrono::microseconds(osu::parse_count(v, "--spin-us", 0));
      } else if (k == "--mpirun") {
        c.mpirun = v;
      } else if (k == "--mpi-args") {
        c.mpi_args = v;
      } else if (k == "--timeout-ms") {
        c.timeout = std::chrono::milliseconds(osu::parse_count(v, "--timeout-ms", 1));
      } else if (k == "--watchdog-s") {
        c.watchdog = std::chrono::seconds(osu::parse_count(v, "--watchdog-s", 1));
      } else {
        throw std::invalid_argument("unknown option '" + std::string(k) + "'");
      }
      i += 2;
    }
    if (range_given && !c.bench.sizes.empty())
      throw std::invalid_argument("give either --sizes or -m, not both");
    if (!range_given && c.bench.sizes.empty()) c.bench.sizes = {8, 65536, 4194304};
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", kProgram, e.what());
    return 2;
  }

  try {
    const auto outcome = run_comm_experiment(c, stderr);
    std::printf("%s", outcome.table.c_str());
    std::printf("\nresults: %s\n", outcome.results_dir.string().c_str());
    for (const auto& m : outcome.plot_messages)
      std::fprintf(stderr, "%s: warning: %s\n", kProgram, m.c_str());
    if (!outcome.failures.empty()) {
      for (const auto& f : outcome.failures)
        std::fprintf(stderr, "%s: run failed: %s\n", kProgram, f.c_str());
      return 1;
    }
    return 0;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s: %s\n", kProgram, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", kProgram, e.what());
    return 1;
  }
}

}  // namespace hpcless::experiments::comm_bench
