// On-demand executors: when a lease cannot be met, start an executor for it through Slurm.
//
//   POST /v1/leases -> ordinary placement refuses (capacity) -> OnDemand::grant(request, why):
//     sbatch --parsable -N1 -n1 -c CORES -t ceil((seconds + margin) / 60) SCRIPT --manager URL ...
//     reserve node "slurm-<job>" (ordinary placement skips it), ledger on_demand_submit
//     wait (this HTTP thread; the pool is elastic) for the node to register, polling squeue:
//       first seen RUNNING -> running_ms, ledger on_demand_start
//       registered         -> grant on that node only -> 201 with "on_demand" timings
//       job ended, hopeless pending reason, or start_deadline_s passed
//                          -> scancel, ledger on_demand_cancel, 409 with job, state and reason
//   sbatch fails -> 409 with sbatch's message. Every final refusal is a ledger `refuse`.
//
// After the grant the node is an ordinary node: other leases may use it once this one ends, and
// its executor leaves by itself when idle (hpcless-executor --exit-when-idle-s).
//
// Thread safety: grant() runs on many HTTP threads at once; registrations arrive on others. The
// registry's lock is never held while waiting or running Slurm commands, and this class never
// calls the registry while holding its own lock (the registry calls on_registered() after
// releasing its lock).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "manager/config/on_demand_config.hpp"
#include "manager/core/metrics.hpp"
#include "manager/core/registry.hpp"
#include "manager/slurm/slurm_client.hpp"

namespace hpcless::manager {

class OnDemand {
 public:
  // The secrets go to the job's environment, or, with config.api_token_file /
  // token_secret_file, their paths do.
  OnDemand(Registry& registry, Metrics& metrics, OnDemandConfig config,
           const std::string& api_token, const std::string& token_secret);
  ~OnDemand();
  OnDemand(const OnDemand&) = delete;
  OnDemand& operator=(const OnDemand&) = delete;

  // `refusal`: why the ordinary placement refused `req`. Returns the lease granted on the new
  // executor; throws ApiError 409 (ledger refuse) with the reason, or 503 while stopping.
  Lease grant(const LeaseRequest& req, const std::string& refusal);

  // How the job's executor reaches this manager (config.manager_url, else the bound address).
  // Set once the server is bound, before it serves.
  void set_manager_url(std::string url);

  // Waiting requests cancel their jobs and answer 503; later requests get 503 at once.
  void shutdown();

  // Registry listener: a node has registered.
  void on_registered(const NodeRegistration& r);

 private:
  struct Waiter {
    bool registered = false;
    int64_t registered_ms = 0;
    int64_t job_started_ms = 0;  // as the job reported it (its node's clock)
  };
  class Attempt;

  Registry& registry_;
  Metrics& metrics_;
  const OnDemandConfig cfg_;
  std::string manager_url_;
  slurm::SlurmClient slurm_;
  std::vector<std::string> job_env_;  // the secrets (or their file paths) for the job

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Waiter*> waiters_;  // by node name
  size_t pending_ = 0;
  bool stopping_ = false;
};

}  // namespace hpcless::manager
