#include "manager/slurm/slurm_client.hpp"

#include <algorithm>

#include "manager/slurm/command_runner.hpp"

namespace hpcless::manager::slurm {

SlurmClient::SlurmClient(SlurmCommands commands, std::vector<std::string> env)
    : commands_(std::move(commands)), env_(std::move(env)) {}

Deadline SlurmClient::command_deadline() const { return Deadline::after(commands_.timeout); }

std::string SlurmClient::submit(SubmitSpec spec, const std::vector<std::string>& job_env) const {
  spec.sbatch = commands_.sbatch;
  std::vector<std::string> env = env_;
  env.insert(env.end(), job_env.begin(), job_env.end());
  CommandResult r;
  try {
    r = run_command(sbatch_argv(spec), env, command_deadline());
  } catch (const Error& e) {
    throw SlurmError(std::string("sbatch could not be run: ") + e.what());
  }
  if (!r.ok()) throw SlurmError("sbatch " + r.describe());
  try {
    return parse_sbatch_job_id(r.out);
  } catch (const Error& e) {
    throw SlurmError(e.what());
  }
}

JobStatus SlurmClient::status(const std::string& job_id, Deadline deadline) const {
  const Deadline own = command_deadline();
  CommandResult r;
  try {
    r = run_command(squeue_argv(commands_.squeue, job_id), env_,
                    Deadline::at_ns(std::min(own.ns(), deadline.ns())));
  } catch (const Error& e) {
    throw SlurmError(std::string("squeue could not be run: ") + e.what());
  }
  if (!r.ok()) {
    if (!r.timed_out && squeue_says_unknown_job(r.err)) return JobStatus{};
    throw SlurmError("squeue " + r.describe());
  }
  try {
    return parse_squeue_status(r.out);
  } catch (const Error& e) {
    throw SlurmError(e.what());
  }
}

void SlurmClient::cancel(const std::string& job_id) const {
  CommandResult r;
  try {
    r = run_command(scancel_argv(commands_.scancel, job_id), env_, command_deadline());
  } catch (const Error& e) {
    throw SlurmError(std::string("scancel could not be run: ") + e.what());
  }
  // scancel of a job that has just finished says "Job/step already completing or completed".
  if (!r.ok() && r.err.find("already completing or completed") == std::string::npos &&
      !squeue_says_unknown_job(r.err))
    throw SlurmError("scancel " + r.describe());
}

}  // namespace hpcless::manager::slurm
