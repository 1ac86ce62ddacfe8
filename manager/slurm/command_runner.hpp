// Runs a short command (sbatch, squeue, scancel) to completion with its output captured and a
// deadline: the manager must never hang on a slow or stuck slurmctld.
//
//   CommandResult r = run_command({"squeue", "-h", "-j", "17"}, env, Deadline::after(10s));
//
// The child gets stdin from /dev/null, the given environment as its whole environment, and no
// blocked signals. A child still running at the deadline is killed (SIGTERM, SIGKILL after
// 1 s) and reaped; `timed_out` says so. Every child is reaped before run_command returns, also
// when it throws.
//
// Thread safety: run_command may be called from several threads at once (posix_spawn, no shared
// state).
#pragma once

#include <string>
#include <vector>

#include "comm/base/clock.hpp"

namespace hpcless::manager::slurm {

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal (or by the deadline)
  bool timed_out = false;
  std::string out;  // stdout (at most kMaxCapture bytes)
  std::string err;  // stderr (at most kMaxCapture bytes)

  bool ok() const noexcept { return !timed_out && exit_code == 0; }
  // "exited with code 1: sbatch: error: ..." (stderr's lines joined, trimmed) or "did not finish
  // within the deadline".
  std::string describe() const;
};

inline constexpr size_t kMaxCapture = 64 * 1024;

// argv[0] without a slash is looked up in PATH (of `env` if it sets PATH, else of this process).
// Throws ConfigError when argv[0] cannot be found or run, SystemError for other failures.
CommandResult run_command(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          Deadline deadline);

// This process's environment as "NAME=value" strings, without the variables named in `drop`.
std::vector<std::string> current_environment(const std::vector<std::string>& drop = {});

}  // namespace hpcless::manager::slurm
