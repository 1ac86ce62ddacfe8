// hpcless-worker: the process that runs functions. Started by hpcless-executor (never by hand):
// it loads the package, starts one pinned thread per core, then takes client connections from
// the daemon over the control socket. Running functions here, not in the daemon, is what lets
// the daemon survive and report a function that crashes the process.
#include <signal.h>

#include <cstdio>
#include <cxxopts.hpp>
#include <memory>
#include <vector>

#include "comm/base/cpu.hpp"
#include "comm/base/error.hpp"
#include "executor/loader/package.hpp"
#include "executor/worker/control_channel.hpp"
#include "executor/worker/slot_table.hpp"
#include "executor/worker/worker_thread.hpp"

using namespace hpcless;
using namespace hpcless::executor;

int main(int argc, char** argv) {
  cxxopts::Options opts("hpcless-worker", "function worker process (started by hpcless-executor)");
  opts.add_options()("control-fd", "control socket descriptor", cxxopts::value<int>())(
      "slots-fd", "slot table descriptor", cxxopts::value<int>())(
      "package", "function package path", cxxopts::value<std::string>())(
      "workers", "worker threads", cxxopts::value<uint32_t>()->default_value("1"))(
      "cores", "cores to pin to, one per worker (empty: no pinning)",
      cxxopts::value<std::string>()->default_value(""))(
      "max-payload", "bytes", cxxopts::value<uint32_t>()->default_value("67108864"))(
      "max-inflight", "requests", cxxopts::value<uint32_t>()->default_value("256"))(
      "node-name", "name", cxxopts::value<std::string>()->default_value("localhost"));
  UniqueFd control;  // outside the try: the last catch still reports through it
  try {
    auto args = opts.parse(argc, argv);
    control.reset(args["control-fd"].as<int>());
    signal(SIGPIPE, SIG_IGN);
    auto slots = SharedSlots::attach(args["slots-fd"].as<int>());
    const uint32_t workers = args["workers"].as<uint32_t>();
    if (workers == 0 || workers > kMaxWorkerThreads)
      throw ConfigError("--workers must be 1 to " + std::to_string(kMaxWorkerThreads));
    std::vector<int> cores;
    if (!args["cores"].as<std::string>().empty())
      cores = parse_core_list(args["cores"].as<std::string>());
    if (!cores.empty() && cores.size() < workers)
      throw ConfigError("--cores lists " + std::to_string(cores.size()) + " cores for " +
                        std::to_string(workers) + " workers; give one core per worker");

    WorkerConfig config;
    config.max_payload = args["max-payload"].as<uint32_t>();
    config.max_inflight = args["max-inflight"].as<uint32_t>();
    config.node_name = args["node-name"].as<std::string>();

    std::vector<std::unique_ptr<WorkerThread>> threads;
    try {
      auto package = Package::load_file(args["package"].as<std::string>());
      for (uint32_t i = 0; i < workers; ++i) {
        threads.push_back(std::make_unique<WorkerThread>(i, cores.empty() ? -1 : cores[i], config,
                                                         package, &slots.table().slots[i]));
        threads.back()->start();
      }
      send_control(control.get(), ControlType::kReady, 0, package->name());
    } catch (const Error& e) {
      send_control(control.get(), ControlType::kFailed, 0, e.what());
      return 1;
    }

    size_t rr = 0;
    while (auto msg = recv_control(control.get())) {
      if (msg->type == ControlType::kShutdown) break;
      if (msg->type != ControlType::kNewConnection || !msg->fd) continue;
      // Least-loaded thread, round-robin among equals.
      size_t best = rr++ % threads.size();
      for (size_t i = 0; i < threads.size(); ++i)
        if (threads[i]->connection_count() < threads[best]->connection_count()) best = i;
      threads[best]->add_connection(msg->conn_id, std::move(msg->fd));
    }
    for (auto& t : threads) t->request_stop();
    for (auto& t : threads) t->join();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpcless-worker: %s\n", e.what());
    if (control) send_control(control.get(), ControlType::kFailed, 0, e.what());
    return 1;
  }
}
