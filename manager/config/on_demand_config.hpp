// The "on_demand" section of the manager's config: growing the pool through Slurm when a lease
// cannot be met (docs/manager.md, "On-demand executors"; docs/slurm.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace hpcless::manager {

struct OnDemandConfig {
  bool enabled = false;
  std::string sbatch = "sbatch";  // names are looked up in PATH
  std::string squeue = "squeue";
  std::string scancel = "scancel";
  std::string script;                      // the executor job (slurm/hpcless-executor.sbatch)
  std::string partition;                   // empty: the cluster's default
  std::vector<std::string> extra_args;     // sbatch options before the script
  std::vector<std::string> executor_args;  // after the script (passed on to hpcless-executor)
  std::string output;                      // sbatch --output pattern; empty: Slurm's default
  // How the job's executor reaches this manager; empty: http://<listen address>.
  std::string manager_url;
  double start_deadline_s = 60;    // submission -> executor registered, else cancel and refuse
  double time_margin_s = 30;       // added to the lease's seconds for the job's time limit
  int64_t poll_interval_ms = 250;  // squeue polling while waiting
  int64_t command_timeout_s = 30;  // each sbatch / squeue / scancel
  size_t max_pending_jobs = 16;    // on-demand requests waiting at once; more get 409
  // Set both to hand jobs file paths (HPCLESS_API_TOKEN_FILE, HPCLESS_TOKEN_SECRET_FILE) instead
  // of the secrets themselves (which Slurm would store with the job's environment).
  std::string api_token_file;
  std::string token_secret_file;
};

// Throws ConfigError naming `origin` and the key (unknown keys, wrong types).
OnDemandConfig on_demand_config_from_json(const nlohmann::json& j, const std::string& origin);

// Checks the values of an enabled section (script readable, deadlines positive ...). Throws
// ConfigError "on_demand.<key> ...".
void check_on_demand_config(const OnDemandConfig& c);

}  // namespace hpcless::manager
