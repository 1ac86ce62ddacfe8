// RAII child process: fork + exec with chosen descriptors, reaped through a pidfd.
//
// The destructor stops a child that is still running (SIGTERM, then SIGKILL after a grace
// period) and reaps it, so no test or daemon leaves processes behind.
// Thread safety: one owner thread. spawn() is safe in multi-threaded processes (the child only
// makes async-signal-safe calls before exec).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/base/fd.hpp"

namespace hpcless::executor {

struct SpawnOptions {
  std::vector<std::string> argv;              // argv[0] is the executable path
  std::vector<std::pair<int, int>> fd_map;    // {parent fd, child fd} made available in the child
  std::string stdout_path;                    // empty: inherit
  std::string stderr_path;                    // empty: inherit
  bool die_with_parent = true;                // PR_SET_PDEATHSIG(SIGKILL)
  std::vector<std::string> extra_env;         // "NAME=value" added to the environment
  // Resource limits applied in the child before exec (a lease's worker process):
  std::vector<int> cpu_affinity;              // sched_setaffinity to these cores; empty: inherit
  uint64_t rlimit_as_bytes = 0;               // RLIMIT_AS; 0: unlimited
  std::string cgroup_procs_path;              // cgroup v2 `cgroup.procs` to join; empty: none
};

class ChildProcess {
 public:
  ChildProcess() = default;
  static ChildProcess spawn(const SpawnOptions& opts);  // throws SystemError
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ~ChildProcess();

  pid_t pid() const noexcept { return pid_; }
  int pidfd() const noexcept { return pidfd_.get(); }  // readable once the child exited
  bool running() const noexcept { return pid_ > 0 && !status_; }

  // Raw wait status once the child has exited (reaps it), std::nullopt while it runs.
  std::optional<int> try_wait();
  std::optional<int> wait(Deadline deadline);
  void signal(int sig) noexcept;
  // SIGTERM, wait up to `grace`, then SIGKILL; returns the wait status.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<int> status_;
};

// "exited with code 3", "killed by signal 11 (Segmentation fault)".
std::string describe_wait_status(int status);

// Directory holding the running executable (for finding sibling binaries).
std::string executable_dir();

}  // namespace hpcless::executor
