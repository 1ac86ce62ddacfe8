// hpcless-worker: the process that runs functions. Started by hpcless-executor (never by hand):
// it loads the package, starts one pinned thread per core, then takes client connections from
// the daemon over the control socket. Running functions here, not in the daemon, is what lets
// the daemon survive and report a function that crashes the process.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cxxopts.hpp>
#include <memory>
#include <vector>

#include "comm/auth/lease_token.hpp"
#include "comm/base/clock.hpp"
#include "comm/base/cpu.hpp"
#include "comm/base/error.hpp"
#include "executor/loader/package.hpp"
#include "executor/worker/control_channel.hpp"
#include "executor/worker/slot_table.hpp"
#include "executor/worker/storage_services.hpp"
#include "executor/worker/worker_thread.hpp"

using namespace hpcless;
using namespace hpcless::executor;

namespace {

void set_lease_end(LeaseGate& gate, int64_t end_unix_ms, protocol::Status status) {
  const int64_t left_ms = end_unix_ms - auth::unix_now_ms();
  const uint64_t now = now_ns();
  gate.set_end(left_ms <= 0 ? now : now + static_cast<uint64_t>(left_ms) * 1'000'000u, status);
}

// The daemon checked the token before handing the connection over; the worker checks it again
// so that a worker never serves a connection for another lease, whatever the daemon did.
protocol::Status check_lease_token(const LeaseGate& gate, const std::string& secret,
                                   std::string_view token, std::string& why) {
  auto v = auth::verify_lease_token(token, secret, auth::unix_now_ms());
  if (v.result == auth::TokenCheck::kMalformed || v.result == auth::TokenCheck::kBadSignature) {
    why = v.message;
    return protocol::Status::kTokenInvalid;
  }
  if (v.claims.lease_id != gate.id() || v.claims.node != gate.node()) {
    why = "token is for lease " + v.claims.lease_id + " on node " + v.claims.node +
          ", but this worker serves lease " + gate.id() + " on " + gate.node();
    return protocol::Status::kTokenInvalid;
  }
  // A renewal moves the lease's end past the token's own expiry: the lease decides.
  if (!gate.open_at(now_ns())) {
    why = "lease " + gate.id() + (gate.end_status() == protocol::Status::kTokenExpired
                                      ? " has expired"
                                      : " has ended (released or failed)");
    return gate.end_status();
  }
  return protocol::Status::kOk;
}

}  // namespace

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
      "node-name", "name", cxxopts::value<std::string>()->default_value("localhost"))(
      "lease-id", "lease served (managed mode; the token secret comes from HPCLESS_TOKEN_SECRET)",
      cxxopts::value<std::string>()->default_value(""))(
      "lease-end-ms", "lease expiry, Unix ms", cxxopts::value<int64_t>()->default_value("0"))(
      "memory-mb", "the lease's memory limit (for error messages)",
      cxxopts::value<uint64_t>()->default_value("0"))(
      "rdma-address", "also serve clients over RDMA on this address (each thread listens on a "
      "free port; clients move there after the hello)",
      cxxopts::value<std::string>()->default_value(""))(
      "storage-config", "JSON file whose \"storage\" section configures functions' storage "
      "(default: $HPCLESS_STORAGE_CONFIG; none: no storage)",
      cxxopts::value<std::string>()->default_value(""));
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
    config.memory_limit_mb = args["memory-mb"].as<uint64_t>();
    config.rdma_address = args["rdma-address"].as<std::string>();
    // Group functions on the direct-rdma channel listen on this worker's RDMA address
    // (functions/group/group_context.cpp). Set before any thread starts (setenv is not
    // thread-safe).
    if (!config.rdma_address.empty())
      ::setenv("HPCLESS_RDMA_ADDRESS", config.rdma_address.c_str(), 1);
    std::shared_ptr<LeaseGate> gate;
    if (!args["lease-id"].as<std::string>().empty()) {
      gate = std::make_shared<LeaseGate>(args["lease-id"].as<std::string>(), config.node_name);
      set_lease_end(*gate, args["lease-end-ms"].as<int64_t>(), protocol::Status::kTokenExpired);
      const char* secret = std::getenv("HPCLESS_TOKEN_SECRET");
      auth::check_token_secret(secret == nullptr ? "" : secret);
      config.lease = gate;
      config.verify_token = [gate, key = std::string(secret)](std::string_view token,
                                                               std::string& why) {
        return check_lease_token(*gate, key, token, why);
      };
    }

    std::vector<std::unique_ptr<WorkerThread>> threads;
    try {
      const uint64_t t_package = now_ns();
      auto package = Package::load_file(args["package"].as<std::string>());
      config.storage = load_worker_storage_config(args["storage-config"].as<std::string>());
      config.startup = std::make_shared<WorkerStartup>();
      config.startup->package_ns = now_ns() - t_package;
      // Set by the executor at fork; the threads below start in microseconds, so "ready" is now.
      if (const char* at = std::getenv("HPCLESS_SPAWNED_AT_NS"); at != nullptr) {
        const uint64_t spawned = std::strtoull(at, nullptr, 10);
        const uint64_t now = now_ns();
        if (spawned != 0 && spawned <= now) config.startup->spawn_ns = now - spawned;
      }
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
      if (msg->type == ControlType::kLeaseUpdate && gate) {
        set_lease_end(*gate, static_cast<int64_t>(msg->conn_id),
                      msg->text == "ended" ? protocol::Status::kLeaseEnded
                                           : protocol::Status::kTokenExpired);
        continue;
      }
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
