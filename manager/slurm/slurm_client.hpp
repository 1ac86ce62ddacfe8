// The manager's hands on Slurm: submit an executor job, ask for its state, cancel it. Each call
// runs the command (sbatch, squeue, scancel) as a child process with a deadline
// (command_runner.hpp) and parses its answer (slurm_text.hpp).
//
// Thread safety: every member is const and may be called from several threads at once.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "manager/slurm/slurm_text.hpp"

namespace hpcless::manager::slurm {

// Slurm refused or failed; what() carries the command's own message ("sbatch: error: Batch job
// submission failed: Invalid partition name specified").
class SlurmError : public Error {
 public:
  using Error::Error;
};

struct SlurmCommands {
  std::string sbatch = "sbatch";
  std::string squeue = "squeue";
  std::string scancel = "scancel";
  std::chrono::milliseconds timeout{30000};  // for each command
};

class SlurmClient {
 public:
  // `env`: the commands' whole environment (SLURM_CONF, PATH ... but no secrets).
  SlurmClient(SlurmCommands commands, std::vector<std::string> env);

  // sbatch; `job_env` is added to the environment of sbatch (and so of the job, with Slurm's
  // default --export=ALL). Returns the job id. Throws SlurmError.
  std::string submit(SubmitSpec spec, const std::vector<std::string>& job_env) const;
  // squeue; a job squeue no longer knows is "not listed". Throws SlurmError.
  JobStatus status(const std::string& job_id, Deadline deadline) const;
  // scancel (a job that has ended already is fine). Throws SlurmError.
  void cancel(const std::string& job_id) const;

  const SlurmCommands& commands() const noexcept { return commands_; }

 private:
  Deadline command_deadline() const;

  SlurmCommands commands_;
  std::vector<std::string> env_;
};

}  // namespace hpcless::manager::slurm
