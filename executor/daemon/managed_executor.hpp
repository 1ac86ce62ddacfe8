// The executor daemon under a manager: registers this node, heartbeats, and runs one worker
// process per lease, pinned to the leased cores and limited to the lease's memory.
//
// A client connects to the daemon's address and presents its lease token in the hello. The daemon
// peeks at the hello (without consuming it), verifies the token with the shared secret, starts the
// lease's worker if it does not run yet, and hands the connection over; from then on the client
// talks to the worker directly. Leases also arrive through heartbeats (the worker is then started
// ahead of the first client). At the lease's end the worker answers "token expired" (or "lease
// ended" after a release or failure) and is stopped after a grace period; a worker that dies marks
// its lease failed. Usage per lease is reported with every heartbeat.
//
// Thread safety: run() owns everything on the calling thread; the manager link has its own thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "comm/base/fd.hpp"
#include "comm/protocol/messages.hpp"
#include "comm/transport/tcp/endpoint.hpp"
#include "executor/daemon/manager_link.hpp"
#include "executor/daemon/worker_process.hpp"
#include "executor/slurm/slurm_job.hpp"
#include "executor/spawn/memory_limit.hpp"

namespace hpcless::executor {

struct ManagedConfig {
  std::string manager_url;  // http://HOST:PORT
  std::string api_token;    // to call the manager (HPCLESS_API_TOKEN)
  std::string token_secret; // to verify lease tokens (HPCLESS_TOKEN_SECRET)
  std::string name;         // node name; unique in the cluster
  tcp::Endpoint listen{"127.0.0.1", 0};
  std::string advertise;    // HOST:PORT registered for clients; empty: the bound listen address
  std::vector<int> cores;   // cores this node lends
  uint64_t memory_mb = 0;
  std::string package_path;
  std::string worker_binary;
  std::vector<std::string> worker_args;
  std::vector<std::string> transports{"tcp"};  // announced to the manager ("rdma" with a device)
  std::string ready_file;   // written with the listen address once registered
  std::string log_dir;      // worker stderr goes to LOG_DIR/worker-<lease>.log; empty: inherit
  uint32_t max_payload = 64u << 20;
  uint32_t max_inflight = 256;
  int64_t walltime_end_ms = 0;
  // Inside a Slurm job: its id. The node's walltime is then the job's end minus `drain` (kept up
  // to date with squeue), and at SIGTERM the leases fail with the job's fate as the reason.
  std::string slurm_job;
  std::chrono::milliseconds drain{30000};
  std::chrono::milliseconds slurm_poll{10000};
  int64_t job_started_ms = 0;  // registered for on-demand timings (HPCLESS_JOB_STARTED_MS)
  std::chrono::milliseconds grace{2000};
  std::chrono::milliseconds hello_timeout{5000};
  std::chrono::milliseconds register_timeout{30000};
  // Without any lease this long, the executor deregisters and exits (0: never). On-demand
  // executors use it to give their Slurm allocation back.
  std::chrono::milliseconds exit_when_idle{0};
};

class ManagedExecutor {
 public:
  explicit ManagedExecutor(ManagedConfig config);
  ~ManagedExecutor();
  // Serves until SIGINT or SIGTERM.
  int run();

 private:
  enum class LeaseState { kStarting, kRunning, kFailed, kStopped };
  struct Lease {
    std::string id;
    std::vector<int> cores;
    uint64_t memory_mb = 0;
    int64_t end_ms = 0;
    bool ended_by_manager = false;  // released or failed: the gate says "lease ended"
    LeaseState state = LeaseState::kStarting;
    std::string reason;
    uint64_t tag = 0;  // epoll tags: tag (control socket) and tag + 1 (pidfd)
    std::unique_ptr<WorkerProcess> worker;
    MemoryLimit limit;
    uint64_t created_ns = 0, started_ns = 0, ended_ns = 0;
    WorkerUsage final_usage;
    std::vector<std::pair<uint64_t, UniqueFd>> waiting;  // verified, waiting for the worker
  };
  struct Pending {
    UniqueFd fd;
    uint64_t deadline_ns;
  };

  void accept_clients();
  void on_pending(uint64_t conn_id);
  void admit(uint64_t conn_id, UniqueFd fd, const protocol::Hello& hello, uint64_t request_id);
  Lease& lease_for(const std::string& id, const std::vector<int>& cores, uint64_t memory_mb,
                   int64_t end_ms);
  void start_worker(Lease& l);
  void on_worker_control(Lease& l);
  void on_worker_exit(Lease& l);
  void hand_over(Lease& l, uint64_t conn_id, UniqueFd fd);
  void end_lease(Lease& l, LeaseState state, const std::string& reason);
  void apply(const Assignment& a);
  void tick();
  void publish_reports();
  bool cores_are_mine(const std::vector<int>& cores) const;
  // Slurm: follows the job's end (walltime to the manager, leases cut to it, drain).
  void follow_walltime(int64_t now_ms);
  int64_t stop_at_ms(const Lease& l) const;
  // True once the executor has been idle for exit_when_idle and the manager let it go.
  bool idle_and_left();

  ManagedConfig config_;
  std::optional<tcp::Listener> listener_;
  std::unique_ptr<ManagerLink> link_;
  std::unique_ptr<SlurmJobWatch> slurm_;
  int64_t walltime_end_ms_ = 0;  // as told to the manager; 0: none
  bool draining_ = false;
  int sigfd_ = -1;  // the stop signals' signalfd (owned by run())
  UniqueFd epoll_;
  std::map<std::string, Lease> leases_;
  std::map<uint64_t, std::string> lease_by_tag_;
  std::map<uint64_t, Pending> pending_;
  std::map<uint64_t, std::string> conn_lease_;  // handed-over connections
  uint64_t next_conn_id_ = 0;
  uint64_t next_lease_tag_ = 0;
  uint64_t idle_since_ns_ = 0;  // no live lease and no pending client since then
};

}  // namespace hpcless::executor
