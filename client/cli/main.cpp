// hpcless: the command-line tool. Subcommands:
//   hpcless invoke --address HOST:PORT --function NAME [--input TEXT | --input-file F] ...
//   hpcless bench list|prepare|run ...
//   hpcless experiment invocation-overhead --address HOST:PORT --out DIR ...
//   hpcless lease acquire|renew|release|show|list ...
//   hpcless cluster up|down|status ...
//   hpcless experiment cold-start|idle-time --manager URL --out DIR ...
//   hpcless comm-bench --op OP --ranks N ...; hpcless experiment comm --out DIR ...
//   hpcless experiment offload --out DIR [--manager URL] ...
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "client/cli/bench_command.hpp"
#include "client/cli/cluster_command.hpp"
#include "client/cli/comm_bench_command.hpp"
#include "client/cli/invoke_command.hpp"
#include "client/cli/lease_command.hpp"
#include "client/cli/node_command.hpp"
#include "client/cli/slurm_command.hpp"
#include "experiments/cold_start/cli.hpp"
#include "experiments/comm/cli.hpp"
#include "experiments/idle_time/cli.hpp"
#include "experiments/invocation_overhead/cli.hpp"
#include "experiments/offload/cli.hpp"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: hpcless <command> [options]\n"
               "\n"
               "commands:\n"
               "  invoke                          run one function on a worker and print its output\n"
               "  bench list|prepare|run          the benchmark suite (docs/benchmarks.md)\n"
               "  experiment invocation-overhead  hpcless vs raw TCP and gRPC latency (hot, warm)\n"
               "  experiment cold-start           lease -> first result, by phase\n"
               "  experiment idle-time            latency after idle gaps: hot, warm, expired\n"
               "  lease                           acquire, renew, release, show, list leases\n"
               "  cluster                         start/stop a manager and executors here\n"
               "  node list                       the manager's nodes (--wait-alive N)\n"
               "  slurm submit EXPERIMENT         run an experiment in a Slurm allocation\n"
               "  comm-bench                      OSU-style collectives: hpcless, Open MPI, Gloo\n"
               "  experiment comm                 comm-bench of every channel and baseline\n"
               "  experiment offload              MPI ranks offloading DGEMM tiles to leases\n"
               "  version                         print the version\n"
               "\n"
               "Run 'hpcless <command> --help' for the options of a command.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string_view cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    usage(stdout);
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::printf("hpcless %s\n", HPCLESS_VERSION);
    return 0;
  }
  if (cmd == "invoke") return hpcless::cli::invoke_main(argc - 1, argv + 1);
  if (cmd == "lease") return hpcless::cli::lease_main(argc - 1, argv + 1);
  if (cmd == "cluster") return hpcless::cli::cluster_main(argc - 1, argv + 1);
  if (cmd == "node") return hpcless::cli::node_main(argc - 1, argv + 1);
  if (cmd == "slurm") return hpcless::cli::slurm_main(argc - 1, argv + 1);
  if (cmd == "bench") return hpcless::cli::bench_main(argc - 1, argv + 1);
  if (cmd == "comm-bench") return hpcless::cli::comm_bench_main(argc - 1, argv + 1);
  if (cmd == "experiment") {
    if (argc < 3 || std::strcmp(argv[2], "--help") == 0 || std::strcmp(argv[2], "-h") == 0) {
      std::fprintf(argc < 3 ? stderr : stdout,
                   "usage: hpcless experiment <name> [options]\n\nexperiments:\n"
                   "  invocation-overhead   hpcless vs raw TCP and gRPC latency (hot, warm)\n"
                   "  cold-start            lease -> first result, by phase\n"
                   "  idle-time             latency after idle gaps: hot, warm, lease expired\n"
                   "  comm                  collectives: hpcless channels, Open MPI, Gloo\n"
                   "  offload               pure MPI vs MPI + functions (DGEMM tiles)\n");
      return argc < 3 ? 2 : 0;
    }
    const std::string_view name = argv[2];
    if (name == "invocation-overhead")
      return hpcless::experiments::invocation_overhead_main(argc - 2, argv + 2);
    if (name == "cold-start") return hpcless::experiments::cold_start_main(argc - 2, argv + 2);
    if (name == "idle-time") return hpcless::experiments::idle_time_main(argc - 2, argv + 2);
    if (name == "comm")
      return hpcless::experiments::comm_bench::comm_experiment_main(argc - 2, argv + 2);
    if (name == "offload")
      return hpcless::experiments::offload::offload_experiment_main(argc - 2, argv + 2);
    std::fprintf(stderr, "hpcless: unknown experiment '%s' (try 'hpcless experiment --help')\n",
                 argv[2]);
    return 2;
  }
  std::fprintf(stderr, "hpcless: unknown command '%s' (try 'hpcless --help')\n", argv[1]);
  return 2;
}
