// Background processes of `hpcless cluster`: daemons that outlive the command that started them
// (a manager and its executors), identified by pid plus start time so that a recycled pid is
// never signalled, and short helper commands (`ip ...`) run to completion with a deadline.
//
// Thread safety: functions only; no shared state.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "comm/base/clock.hpp"

namespace hpcless::cli {

struct DaemonSpec {
  std::vector<std::string> argv;  // argv[0]: absolute path of the program
  std::vector<std::string> env;   // "NAME=value" added to (or replacing in) the environment
  std::string log_path;           // stdout and stderr are appended here
  std::string netns;              // network namespace to enter (ip netns name); empty: this one
};

struct DaemonId {
  pid_t pid = -1;
  uint64_t start_time = 0;  // /proc/PID/stat field 22 (clock ticks since boot)
};

// Starts the program in a new session (no controlling terminal, not in the caller's process
// group), stdin from /dev/null. Returns once exec succeeded; throws SystemError/ConfigError
// when fork, setns or exec failed, with the reason.
DaemonId spawn_daemon(const DaemonSpec& spec);

// True while the process exists, is not a zombie and has the recorded start time.
bool daemon_alive(const DaemonId& id);

// SIGTERM, wait up to `grace`, then SIGKILL and wait up to 5 s more. Returns false when the
// process is still there after that (reported by the caller); true when it is gone (or was
// never there).
bool stop_daemon(const DaemonId& id, std::chrono::milliseconds grace);

struct CommandResult {
  int exit_code = -1;  // -1: killed or did not finish
  std::string output;  // stdout and stderr together (at most 64 KiB kept)
};

// Runs a command to completion (killed at the deadline). Throws SystemError only when it
// cannot be started at all (the exit code says the rest).
CommandResult run_command(const std::vector<std::string>& argv, Deadline deadline);

// Absolute path of `name` on PATH (plus /usr/sbin and /sbin, where iproute2 lives), or empty.
std::string find_program(const std::string& name);

// Directory of the running executable.
std::string self_dir();

}  // namespace hpcless::cli
