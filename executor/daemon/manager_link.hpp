// The executor's link to the manager: registration and heartbeats over the REST API
// (docs/manager-api.md), on a thread of its own so that a slow or absent manager never delays
// the daemon's loop. The daemon publishes lease reports; the link hands back the leases the
// manager holds for this node and wakes the daemon through an eventfd.
//
// Thread safety: publish(), take_assignment() and the accessors may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "comm/base/fd.hpp"

namespace hpcless::executor {

struct NodeDescription {
  std::string name;
  std::string address;  // HOST:PORT clients connect to
  std::vector<int> cores;
  uint64_t memory_mb = 0;
  int64_t walltime_end_ms = 0;  // 0: none
  int64_t job_started_ms = 0;   // an on-demand executor's batch job started (Unix ms); 0: none
  std::vector<std::string> transports{"tcp"};
};

struct LeaseUsage {
  double allocated_core_s = 0, busy_core_s = 0, hot_poll_core_s = 0, idle_core_s = 0;
  uint64_t invocations = 0, errors = 0;
};

struct LeaseReport {
  std::string id;
  std::string state;  // running | failed | stopped
  std::string reason;
  LeaseUsage usage;
};

struct AssignedLease {
  std::string id;
  std::vector<int> cores;
  uint64_t memory_mb = 0;
  int64_t expires_at_ms = 0;
  int32_t hot_timeout_ms = -1;
};

struct Assignment {
  std::vector<AssignedLease> leases;
  uint64_t request_sent_ns = 0;  // CLOCK_MONOTONIC when the heartbeat carrying it was sent
};

class ManagerLink {
 public:
  // `manager_url`: http://HOST:PORT. Does not contact the manager until start().
  ManagerLink(std::string manager_url, std::string api_token, NodeDescription node);
  ~ManagerLink();
  ManagerLink(const ManagerLink&) = delete;
  ManagerLink& operator=(const ManagerLink&) = delete;

  // Registers (retrying until `timeout` passes; throws IoError naming the manager if it never
  // answers, ConfigError on 401/400), then starts heartbeating.
  void start(std::chrono::milliseconds timeout);
  void stop();

  // Leaves the manager (DELETE /v1/nodes/{name}) with the heartbeats stopped, so that the node
  // cannot be re-registered by one. Returns true when the node is gone from the pool (also when
  // the manager is unreachable: it declares the node dead by itself); false when the manager
  // keeps it (it granted a lease on it meanwhile; `why` says so) and the heartbeats resume.
  bool leave(std::string& why);

  void publish(std::vector<LeaseReport> reports);
  // The node's batch job ends at another time (0: no end); sent with every heartbeat.
  void set_walltime_end(int64_t ms) noexcept { walltime_end_ms_ = ms; }
  // Stops heartbeating, then sends one last heartbeat with the published reports and
  // "leaving": reason, so that the manager fails the node's leases with that reason and takes
  // the node out of the pool at once (not after dead_after_ms). Best effort within `timeout`.
  void farewell(const std::string& reason, std::chrono::milliseconds timeout);
  // The newest assignment since the last call, if any.
  std::optional<Assignment> take_assignment();
  int wake_fd() const noexcept { return wake_.get(); }
  std::chrono::milliseconds heartbeat_interval() const noexcept {
    return std::chrono::milliseconds(interval_ms_.load());
  }
  uint64_t heartbeats_ok() const noexcept { return heartbeats_ok_.load(); }

 private:
  void run();
  bool register_node(std::string& why);
  bool heartbeat(std::string& why, const std::string& leaving = "");

  const std::string host_;
  const int port_;
  const std::string token_;
  const NodeDescription node_;
  std::atomic<int64_t> interval_ms_{500};
  std::atomic<int64_t> walltime_end_ms_{0};
  std::atomic<uint64_t> heartbeats_ok_{0};
  UniqueFd wake_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<LeaseReport> reports_;
  std::optional<Assignment> assignment_;
  std::thread thread_;
};

}  // namespace hpcless::executor
