// RAII child process for test servers: fork + exec with stdout/stderr appended to a log file.
//
// The child gets SIGKILL when the thread that spawned it dies (PR_SET_PDEATHSIG), so a test killed
// by its ctest TIMEOUT leaves no server behind. The destructor stops a running child (SIGTERM,
// SIGKILL after a grace period) and reaps it.
// Thread safety: one owner thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "comm/base/clock.hpp"

namespace hpcless::test {

class Child {
 public:
  Child() = default;
  // argv[0] must be an absolute path. Throws SystemError, or Error when exec fails (with errno
  // text), so a missing binary is reported by name.
  static Child spawn(const std::vector<std::string>& argv, const std::string& log_path,
                     const std::string& cwd);
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const noexcept { return pid_; }
  bool running() const noexcept { return pid_ > 0 && !status_; }

  std::optional<int> try_wait();               // wait status once exited (reaps)
  std::optional<int> wait(Deadline deadline);  // std::nullopt: still running at the deadline
  void signal(int sig) noexcept;
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));  // TERM, then KILL
  int kill();                                                                   // SIGKILL and reap

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// "exited with code 3", "killed by signal 9".
std::string describe_wait_status(int status);

}  // namespace hpcless::test
