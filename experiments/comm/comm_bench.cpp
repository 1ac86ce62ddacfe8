#include "experiments/comm/comm_bench.hpp"

#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "comm/base/error.hpp"
#include "comm/rendezvous/tcp_store.hpp"
#include "experiments/comm/hpcless_rank.hpp"

#ifndef HPCLESS_COMM_BENCH_MPI
#define HPCLESS_COMM_BENCH_MPI ""
#endif
#ifndef HPCLESS_COMM_BENCH_GLOO
#define HPCLESS_COMM_BENCH_GLOO ""
#endif

namespace hpcless::experiments::comm_bench {

namespace {

std::string from_env_or(const char* var, const char* built) {
  const char* v = std::getenv(var);
  if (v != nullptr && *v != '\0') return v;
  return built;
}

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

bool executable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string mpi_program() { return from_env_or("HPCLESS_COMM_BENCH_MPI", HPCLESS_COMM_BENCH_MPI); }
std::string gloo_program() {
  return from_env_or("HPCLESS_COMM_BENCH_GLOO", HPCLESS_COMM_BENCH_GLOO);
}

std::string system_unavailable_reason(const CommBenchConfig& c) {
  if (c.system == "hpcless") return channel_unavailable_reason(c.channel.channel);
  if (c.system == "mpi") {
    if (!executable(mpi_program()))
      return "the Open MPI baseline is not built (Open MPI was not found at configure time, or "
             "set HPCLESS_COMM_BENCH_MPI)";
    const auto words = split_words(c.mpirun);
    if (words.empty()) return "--mpirun is empty";
    return "";
  }
  if (c.system == "gloo") {
    if (!executable(gloo_program()))
      return "the Gloo baseline is not built (libgloo-dev was not found at configure time, or "
             "set HPCLESS_COMM_BENCH_GLOO)";
    return "";
  }
  return "unknown system '" + c.system + "' (hpcless, mpi or gloo)";
}

std::string default_label(const CommBenchConfig& c) {
  if (!c.label.empty()) return c.label;
  if (c.system == "mpi") return "openmpi-tcp";
  if (c.system == "gloo") return "gloo-tcp";
  return hpcless_system_label(c.channel);
}

std::vector<std::vector<std::string>> command_lines(const CommBenchConfig& c,
                                                    const std::string& store_endpoint,
                                                    const std::string& group) {
  const std::vector<std::string> shared = osu::to_args(c.bench);
  const std::string label = default_label(c);
  const std::string timeout = std::to_string(c.channel.timeout.count());
  std::vector<std::vector<std::string>> out;
  if (c.system == "mpi") {
    std::vector<std::string> a = split_words(c.mpirun);
    for (auto& w : split_words(c.mpi_args)) a.push_back(std::move(w));
    a.insert(a.end(), {"-np", std::to_string(c.ranks), mpi_program(), "--label", label});
    a.insert(a.end(), shared.begin(), shared.end());
    out.push_back(std::move(a));
    return out;
  }
  for (int r = 0; r < c.ranks; ++r) {
    std::vector<std::string> a;
    if (c.system == "gloo") {
      a = {gloo_program(), "--rank",       std::to_string(r), "--size", std::to_string(c.ranks),
           "--store",      store_endpoint, "--timeout-ms",    timeout,  "--label",
           label};
    } else {
      a = {c.self_exe,     "comm-bench",
           "--rank",       std::to_string(r),
           "--ranks",      std::to_string(c.ranks),
           "--store",      store_endpoint,
           "--group",      group,
           "--channel",    c.channel.channel,
           "--timeout-ms", timeout,
           "--spin-us",    std::to_string(c.channel.spin.count())};
      if (!c.channel.config_path.empty()) a.insert(a.end(), {"--config", c.channel.config_path});
      if (c.channel.channel == "direct-rdma")
        a.insert(a.end(), {"--rdma-address", rdma_address_for(c.channel)});
    }
    a.insert(a.end(), shared.begin(), shared.end());
    out.push_back(std::move(a));
  }
  return out;
}

LaunchResult run_comm_bench(const CommBenchConfig& c) {
  const std::string why = system_unavailable_reason(c);
  if (!why.empty()) throw ConfigError(why);
  const std::string err = osu::check(c.bench, c.ranks);
  if (!err.empty()) throw ConfigError(err);
  if (c.system == "hpcless" && c.self_exe.empty())
    throw ConfigError("the executable for hpcless ranks is not set");
  // Settings every rank would reject (a missing RDMA address, a bad config file): say so once,
  // before starting any process.
  if (c.system == "hpcless") (void)comm_options_for(c.channel);
  LaunchOptions lo = c.launch;
  if (c.system == "mpi") {
    lo.noun = "mpirun";
    return run_processes(command_lines(c, "", ""), lo);
  }
  // The store lives as long as the ranks; its threads serve them while this thread waits.
  rendezvous::StoreServer server;
  const std::string group = "comm-bench-" + std::to_string(::getpid());
  return run_processes(command_lines(c, server.endpoint().to_string(), group), lo);
}

}  // namespace hpcless::experiments::comm_bench
