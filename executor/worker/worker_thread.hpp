// One worker thread: serves the client connections assigned to it, running their invocations
// inline. Connections are hot (busy-polled with non-blocking recv) or warm (woken by epoll)
// according to each one's idle timeout; the thread blocks in epoll_wait only when none is hot.
//
// Thread safety: add_connection() and request_stop() may be called from any thread; everything
// else runs on the worker thread itself.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "comm/base/fd.hpp"
#include "comm/protocol/frame.hpp"
#include "executor/loader/package.hpp"
#include "executor/worker/function_host.hpp"
#include "executor/worker/lease_gate.hpp"
#include "executor/worker/slot_table.hpp"

namespace hpcless::storage {
struct StorageConfig;
}  // namespace hpcless::storage

namespace hpcless::rdma {
class Listener;
}  // namespace hpcless::rdma

namespace hpcless::executor {

struct WorkerStartup {
  uint64_t spawn_ns = 0;    // executor's fork to ready; 0: unknown
  uint64_t package_ns = 0;  // the initial package's load, within the spawn
  std::atomic<bool> hello_served{false};  // the first hello gets fresh_worker = 1
};

struct WorkerConfig {
  uint32_t max_payload = 64u << 20;  // per request and per result
  uint32_t max_inflight = 256;       // advertised to clients; they pipeline up to it
  std::string node_name = "localhost";
  std::chrono::milliseconds send_timeout{30000};
  // The run's storage for functions (object and key-value); null: none configured.
  std::shared_ptr<const storage::StorageConfig> storage;
  // Checks the lease token of a hello: returns kOk, or the refusal status with `why` filled.
  // Empty: accept every client (standalone executor).
  std::function<protocol::Status(std::string_view token, std::string& why)> verify_token;
  // The lease this worker process serves; null for a standalone executor.
  std::shared_ptr<const LeaseGate> lease;
  uint64_t memory_limit_mb = 0;  // 0: none; used to name a std::bad_alloc as the lease's limit
  // How this worker process started, reported in hello-acks (cold-start breakdowns). Shared by
  // the process's threads; null: not reported.
  std::shared_ptr<WorkerStartup> startup;
  // Numeric address of an interface with an RDMA device: each thread then listens there (any
  // free port) and clients that ask for RDMA move to it after the hello. Empty: TCP only.
  std::string rdma_address;
};

class WorkerThread {
 public:
  // `core` < 0: no pinning. `slots` may be null (no crash reporting, e.g. in-process tests).
  WorkerThread(uint32_t index, int core, WorkerConfig config,
               std::shared_ptr<const Package> package, WorkerSlot* slot);
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // Starts the thread and waits until it is pinned; throws if pinning failed.
  void start();
  void add_connection(uint64_t conn_id, UniqueFd fd);
  void request_stop();
  void join();
  size_t connection_count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  struct Conn;
  void run();
  void poll_events(int timeout_ms);
  void take_inbox();
  void serve(Conn& c);
  void serve_backlog();
  bool handle_frame(Conn& c, uint64_t arrival_ns);
  bool handle_hello(Conn& c);
  void handle_invoke(Conn& c, uint64_t arrival_ns);
  void handle_load(Conn& c);
  void accept_rdma();
  bool reply(Conn& c, const protocol::Header& h, std::span<const std::byte> payload);
  bool reply_error(Conn& c, uint64_t request_id, protocol::Status status, std::string_view message);
  void close(Conn& c);
  void sweep_closed();
  void check_idle(uint64_t now);

  const uint32_t index_;
  const int core_;
  const WorkerConfig config_;
  const std::shared_ptr<const Package> default_package_;
  WorkerSlot* const slot_;
  FunctionHost host_;
  protocol::GroupBlock group_block_;  // of the group invocation running (reused)
  UniqueFd epoll_;
  UniqueFd wake_;  // eventfd: new connections or stop
  std::unique_ptr<rdma::Listener> rdma_listener_;  // with config_.rdma_address
  std::vector<std::unique_ptr<Conn>> conns_;
  size_t hot_count_ = 0;
  bool backlog_ = false;  // some connection has buffered frames left over from serve()
  std::atomic<bool> stop_{false};
  std::atomic<size_t> count_{0};
  std::mutex inbox_mu_;
  std::vector<std::pair<uint64_t, UniqueFd>> inbox_;
  std::promise<void> started_;
  std::thread thread_;
};

}  // namespace hpcless::executor
