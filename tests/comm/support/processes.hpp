// Child processes for multi-process tests: spawned with fork+exec, stdout/stderr captured in a
// temporary file, killed and reaped by the destructor (no leaked processes, even on failure).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "comm/base/clock.hpp"

namespace hpcless::comm::testing {

class ChildProcess {
 public:
  static ChildProcess spawn(const std::vector<std::string>& argv) {
    char path[] = "/tmp/hpcless-comm-child-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fd);
      throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::execv(args[0], args.data());
      _exit(127);
    }
    ::close(fd);
    ChildProcess c;
    c.pid_ = pid;
    c.log_path_ = path;
    return c;
  }

  ChildProcess() = default;
  ChildProcess(ChildProcess&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)), status_(o.status_), log_path_(std::move(o.log_path_)) {}
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
    if (!log_path_.empty()) ::unlink(log_path_.c_str());
  }

  pid_t pid() const { return pid_; }
  void signal(int sig) const { ::kill(pid_, sig); }

  // Exit code, or 128 + signal; nullopt while running.
  std::optional<int> try_wait() {
    if (status_) return status_;
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return status_;
  }
  // Waits with a deadline; nullopt if still running then.
  std::optional<int> wait(Deadline deadline) {
    while (!try_wait()) {
      if (deadline.expired()) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return status_;
  }
  std::string log() const {
    std::ifstream f(log_path_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string log_path_;
};

}  // namespace hpcless::comm::testing
