// `hpcless comm-bench`: OSU-style micro-benchmarks of one system on this machine.
//
//   system "hpcless": N rank processes (this executable in rank mode, see RankConfig) meeting
//                     through a TCP rendezvous store served by the launcher, on a channel;
//   system "mpi":     hpcless-comm-bench-mpi under mpirun (Open MPI, TCP BTL on loopback);
//   system "gloo":    N processes of hpcless-comm-bench-gloo (Gloo TCP transport on loopback),
//                     meeting through the same kind of store.
// All three run the loop of osu/osu_bench.hpp; rank 0 prints the OSU table to stdout (or to
// LaunchOptions::stdout_path) and writes the CSV. A failed rank fails the run promptly (see
// launcher.hpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "experiments/comm/channels.hpp"
#include "experiments/comm/launcher.hpp"
#include "experiments/comm/osu/osu_bench.hpp"

namespace hpcless::experiments::comm_bench {

// Open MPI over TCP on loopback, as docs/comm-bench.md explains; -np and the program follow.
inline constexpr const char* kDefaultMpirun =
    "mpirun --allow-run-as-root --oversubscribe --bind-to none --mca pml ob1 --mca btl tcp,self "
    "--mca btl_tcp_if_include lo --mca oob_tcp_if_include lo";

struct CommBenchConfig {
  std::string system = "hpcless";  // hpcless, mpi or gloo
  int ranks = 4;
  ChannelSettings channel;  // hpcless: channel; all: timeout of every blocking call
  osu::Options bench;
  std::string mpirun = kDefaultMpirun;
  std::string mpi_args;  // appended to mpirun (e.g. "--mca mpi_yield_when_idle 1")
  std::string label;     // system name in the table and CSV; empty = default for the system
  std::string self_exe;  // executable that runs hpcless ranks (`<exe> comm-bench --rank ...`)
  LaunchOptions launch;
};

// The systems and where their programs are. Paths come from the build (or the environment
// variables HPCLESS_COMM_BENCH_MPI / HPCLESS_COMM_BENCH_GLOO); empty when not built.
std::string mpi_program();
std::string gloo_program();

// Empty when `system` can run here; otherwise why not.
std::string system_unavailable_reason(const CommBenchConfig& c);

// The default label: "hpcless-direct", "hpcless-direct-spin", "openmpi-tcp", "gloo-tcp".
std::string default_label(const CommBenchConfig& c);

// Every process's command line (one for mpi: mpirun's) for a store at `store_endpoint`.
std::vector<std::vector<std::string>> command_lines(const CommBenchConfig& c,
                                                    const std::string& store_endpoint,
                                                    const std::string& group);

// Runs the benchmark (starting a rendezvous store for hpcless and gloo). Throws ConfigError for
// an unusable configuration; a failed run is reported in the result, not thrown.
LaunchResult run_comm_bench(const CommBenchConfig& c);

}  // namespace hpcless::experiments::comm_bench
