// What the manager says to Slurm and how it reads the answers: command lines of sbatch, squeue
// and scancel, and the parsing of their output. Pure functions (unit-tested in
// tests/manager/slurm_text_test.cpp); running the commands is slurm_client.*.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hpcless::manager::slurm {

// One on-demand executor job: `sbatch --parsable -N1 -n1 -c CORES -t MINUTES ... SCRIPT ARGS`.
struct SubmitSpec {
  std::string sbatch = "sbatch";
  std::string script;  // the batch script (slurm/hpcless-executor.sbatch)
  std::vector<std::string> script_args;
  int cores = 1;
  int time_limit_minutes = 1;
  uint64_t memory_mb = 0;  // 0: no --mem
  std::string partition;   // empty: the cluster's default partition
  std::string job_name = "hpcless-executor";
  std::string output;  // sbatch -o pattern; empty: Slurm's default (slurm-%j.out in the cwd)
  std::vector<std::string> extra_args;  // given to sbatch before the script
};

std::vector<std::string> sbatch_argv(const SubmitSpec& s);
// squeue -h -j JOB -o "%T %r": the state and the reason (one line, or nothing once the job has
// left slurmctld's memory).
std::vector<std::string> squeue_argv(const std::string& squeue, const std::string& job_id);
std::vector<std::string> scancel_argv(const std::string& scancel, const std::string& job_id);

// Slurm time limits are whole minutes: ceil((seconds + margin) / 60), at least 1.
int time_limit_minutes(double lease_seconds, double margin_seconds);

// The job id printed by `sbatch --parsable` ("17" or "17;cluster"). Throws Error when the output
// holds no numeric job id.
std::string parse_sbatch_job_id(std::string_view out);

struct JobStatus {
  bool listed = false;  // false: squeue no longer knows the job
  std::string state;    // PENDING, RUNNING, COMPLETED, ... (squeue's %T)
  std::string reason;   // squeue's %r: "Resources", "Priority", "None", ...

  bool pending() const { return state == "PENDING"; }
  bool running() const { return state == "RUNNING"; }
  // The job has ended (or is ending) for good: its executor will not register any more.
  bool finished() const;
  // "PENDING: Resources", "RUNNING", "not in the queue any more".
  std::string describe() const;
};

// Output of squeue_argv(). Empty output: not listed. Throws Error on anything else.
JobStatus parse_squeue_status(std::string_view out);
// True when squeue's error output means the job id is unknown (it finished long ago).
bool squeue_says_unknown_job(std::string_view err);

// Pending reasons that no amount of waiting resolves (the request exceeds what the partition
// or the account allows, or the job is held): the manager gives up at once instead of at the
// deadline.
bool hopeless_pending_reason(std::string_view reason);

}  // namespace hpcless::manager::slurm
