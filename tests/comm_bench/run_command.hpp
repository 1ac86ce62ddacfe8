// Runs a command line for the comm-bench tests: stdout and stderr captured in separate temporary
// files, a deadline after which the process is killed (a hang fails the test, never blocks it),
// and cleanup (kill + reap + unlink) by the destructor.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "comm/base/clock.hpp"

namespace hpcless::test {

class Command {
 public:
  explicit Command(const std::vector<std::string>& argv) {
    out_path_ = make_temp();
    err_path_ = make_temp();
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int out = ::open(out_path_.c_str(), O_WRONLY | O_CLOEXEC);
    const int err = ::open(err_path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (out < 0 || err < 0) throw std::runtime_error("cannot open capture files");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(err, STDERR_FILENO);
      ::execv(args[0], args.data());
      _exit(127);
    }
    ::close(out);
    ::close(err);
  }
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;
  ~Command() {
    if (!status_) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
    ::unlink(out_path_.c_str());
    ::unlink(err_path_.c_str());
  }

  pid_t pid() const { return pid_; }

  // Exit code (or 128 + signal); nullopt when still running at the deadline (then killed).
  std::optional<int> wait(std::chrono::milliseconds limit) {
    const Deadline d = Deadline::after(limit);
    while (!status_) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (d.expired()) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
        status_ = 128 + SIGKILL;
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return status_;
  }

  std::string out() const { return slurp(out_path_); }
  std::string err() const { return slurp(err_path_); }

 private:
  static std::string make_temp() {
    char path[] = "/tmp/hpcless-comm-bench-test-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    ::close(fd);
    return path;
  }
  static std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_, err_path_;
};

}  // namespace hpcless::test
