// One hpcless-worker process as the daemon sees it: the child, its control socket, the shared
// slot table, and the daemon's duplicate of every client connection handed to it.
//
// Both daemons use it: the standalone executor has one for all clients; the managed executor has
// one per lease, pinned to the leased cores and limited to the lease's memory.
// Thread safety: owned by the daemon's single thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/base/fd.hpp"
#include "executor/spawn/child_process.hpp"
#include "executor/worker/slot_table.hpp"

namespace hpcless::executor {

struct WorkerProcessOptions {
  std::string worker_binary;
  std::string package_path;
  std::string node_name;
  uint32_t threads = 1;
  std::vector<int> cores;  // one per thread, and the process's CPU affinity; empty: no pinning
  uint32_t max_payload = 64u << 20;
  uint32_t max_inflight = 256;
  // Lease mode (empty lease_id: standalone).
  std::string lease_id;
  int64_t lease_end_ms = 0;
  uint64_t memory_mb = 0;          // reported in errors; the limit itself is in `limits`
  uint64_t rlimit_as_bytes = 0;    // RLIMIT_AS when cgroups are not writable
  std::string cgroup_procs_path;   // cgroup v2 to join
  std::vector<std::string> extra_args;  // passed to hpcless-worker as they are
  std::string stderr_path;              // empty: inherit
};

struct WorkerUsage {
  uint64_t busy_ns = 0;
  uint64_t idle_ns = 0;
  uint64_t invocations = 0;
  uint64_t errors = 0;
};

class WorkerProcess {
 public:
  // Forks and execs the worker; does not wait for it (see poll_start / wait_ready).
  explicit WorkerProcess(const WorkerProcessOptions& opts);
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;
  ~WorkerProcess();

  enum class StartState { kStarting, kReady, kFailed };
  // Call when control_fd() is readable while starting. On kFailed, `why` says what happened.
  StartState poll_start(std::string& why);
  // Blocking start-up; throws ConfigError with the worker's reason, or on timeout.
  void wait_ready(Deadline deadline);
  StartState state() const noexcept { return state_; }
  const std::string& package_name() const noexcept { return package_name_; }

  int control_fd() const noexcept { return control_.get(); }
  int pidfd() const noexcept { return child_.pidfd(); }
  pid_t pid() const noexcept { return child_.pid(); }

  // Hands a client connection to the worker and keeps a duplicate to watch for hang-ups
  // and to report a crash. Returns the duplicate's descriptor, or -1 if the worker is gone.
  int hand_over(uint64_t conn_id, UniqueFd fd);
  void forget(uint64_t conn_id) { conns_.erase(conn_id); }
  bool owns(uint64_t conn_id) const { return conns_.count(conn_id) != 0; }
  size_t connection_count() const noexcept { return conns_.size(); }

  // Moves the lease's end (renewal, release, failure); false if the worker is gone.
  bool update_lease(int64_t end_ms, bool ended);

  // After the pidfd fired: tells every client whose request was running that the worker died
  // (naming the function and how), shuts every connection down, and returns how it died.
  std::string on_exit(const std::string& what_next);

  // Asks the worker to stop, waits up to `grace`, then kills it. Connections are shut down.
  void stop(std::chrono::milliseconds grace);

  WorkerUsage usage() const;
  uint32_t threads() const noexcept { return threads_; }

 private:
  std::optional<SharedSlots> slots_;
  ChildProcess child_;
  UniqueFd control_;
  uint32_t threads_;
  StartState state_ = StartState::kStarting;
  std::string package_name_;
  std::map<uint64_t, UniqueFd> conns_;
};

// hpcless-worker next to the running executable unless `configured` names one; ConfigError if it
// is not executable.
std::string find_worker_binary(const std::string& configured);

}  // namespace hpcless::executor
