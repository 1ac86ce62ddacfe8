// Starts the processes of one benchmark run on this machine and watches them: the ranks of
// `hpcless comm-bench` and of the Gloo baseline, or a single mpirun.
//
// Every wait has a deadline. When a process fails (non-zero exit or a signal), the others get a
// grace period to fail on their own (a dead rank makes its peers' calls throw at once), then
// SIGTERM and SIGKILL; the result names the process that failed first and how. When the watchdog
// expires, every process still running is stopped the same way. Children die with the launcher
// (PR_SET_PDEATHSIG), so a killed launcher leaves no ranks behind.
//
// Thread safety: run_processes() may be called from any thread; it forks, so the callers'
// other threads must not hold locks the children need (the children only exec).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace hpcless::experiments::comm_bench {

struct LaunchOptions {
  // Whole run; processes still running after it are stopped and the run fails.
  std::chrono::milliseconds watchdog{std::chrono::minutes(30)};
  // After the first failure, how long the others may take to exit by themselves.
  std::chrono::milliseconds grace{std::chrono::seconds(3)};
  // After SIGTERM, how long before SIGKILL.
  std::chrono::milliseconds term_timeout{std::chrono::seconds(3)};
  // stdout of process 0 (rank 0 or mpirun): empty = inherit; else a file (created/truncated).
  std::string stdout_path;
  // stdout of the other processes: empty = /dev/null.
  std::string others_stdout_path;
  // stderr of every process: empty = inherit; else a file (appended).
  std::string stderr_path;
  // How processes are called in messages: "rank" (rank 0, rank 1, ...) or a name ("mpirun").
  std::string noun = "rank";
};

struct LaunchResult {
  bool ok = false;
  std::string error;            // why not ok: one or two lines naming the failed process
  std::vector<int> exit_codes;  // per process: exit status, or -signal
  double seconds = 0;
};

// Runs every argv (argv[0] is an absolute path or found on PATH) as a child process and waits
// for all of them. Throws SystemError only when a process cannot be started (the ones already
// started are stopped first).
LaunchResult run_processes(const std::vector<std::vector<std::string>>& argvs,
                           const LaunchOptions& options);

// "killed by signal 9 (Killed)" / "exited with status 3".
std::string describe_exit(int wait_status);

// Absolute path of the running executable (/proc/self/exe resolved).
std::string self_executable();

}  // namespace hpcless::experiments::comm_bench
