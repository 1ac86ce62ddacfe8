// A real single-node Slurm cluster for tests: slurm/local-cluster.sh in a temporary directory
// (its own munge daemon, slurmctld and slurmd on free loopback ports). The constructor sets
// SLURM_CONF for this process (and so for every child: sbatch, squeue, the job's processes);
// the destructor cancels every job and stops the daemons.
//
//   hpcless::test::SlurmCluster slurm;          // up; sinfo shows the node idle
//   auto r = hpcless::test::shell("sbatch --parsable --wrap 'sleep 1'", std::chrono::seconds(10));
//
// Missing slurm-wlm or munge is a test FAILURE: the constructor throws ConfigError telling to run
// scripts/install-deps.sh. Needs root (slurmd).
// Thread safety: one owner thread.
#pragma once

#include <chrono>
#include <string>

#include "tests/services/test_services.hpp"

namespace hpcless::test {

struct ShellResult {
  int exit_code = -1;  // -1: killed at the deadline
  std::string output;  // stdout and stderr
};

// Runs `command` with bash -c, killed (its whole process group) at the deadline.
ShellResult shell(const std::string& command, std::chrono::milliseconds timeout);

class SlurmCluster {
 public:
  SlurmCluster();
  ~SlurmCluster();
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  const std::string& dir() const noexcept { return dir_.path(); }
  std::string conf() const { return dir_.path() + "/slurm.conf"; }

  // `sbatch --parsable ARGS`; returns the job id (throws Error with sbatch's message).
  std::string submit(const std::string& args) const;
  // squeue's %T for the job; empty once the job has left the queue.
  std::string state(const std::string& job) const;
  // Polls until the job has left the queue (true) or `timeout` passes (false).
  bool wait_gone(const std::string& job, std::chrono::milliseconds timeout) const;
  // Polls until the job is RUNNING (true) or `timeout` passes (false).
  bool wait_running(const std::string& job, std::chrono::milliseconds timeout) const;

 private:
  TempDir dir_;
};

}  // namespace hpcless::test
