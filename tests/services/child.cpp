#include "tests/services/child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "comm/base/error.hpp"
#include "comm/base/fd.hpp"

namespace hpcless::test {

Child Child::spawn(const std::vector<std::string>& argv, const std::string& log_path,
                   const std::string& cwd) {
  HPCLESS_CHECK(!argv.empty() && argv[0].front() == '/', "spawn needs an absolute executable path");
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log) throw_system_error("cannot open " + log_path);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull) throw_system_error("cannot open /dev/null");
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) throw_system_error("pipe2");
  UniqueFd err_read(pipefd[0]), err_write(pipefd[1]);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) throw_system_error("fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    dup2(devnull.get(), 0);
    dup2(log.get(), 1);
    dup2(log.get(), 2);
    int err = 0;
    if (chdir(cwd.c_str()) != 0) {
      err = errno;
    } else {
      execv(args[0], args.data());
      err = errno;
    }
    (void)!write(err_write.get(), &err, sizeof(err));
    _exit(127);
  }
  err_write.reset();
  Child c;
  c.pid_ = pid;
  int err = 0;
  ssize_t n;
  do {
    n = read(err_read.get(), &err, sizeof(err));  // EOF (0) once exec succeeded
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(err))) {
    c.wait(Deadline::after(std::chrono::seconds(5)));
    throw Error("cannot start " + argv[0] + " (in " + cwd + "): " + std::strerror(err));
  }
  return c;
}

Child::Child(Child&& o) noexcept : pid_(std::exchange(o.pid_, -1)), status_(o.status_) {}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    if (running()) stop();
    pid_ = std::exchange(o.pid_, -1);
    status_ = o.status_;
  }
  return *this;
}

Child::~Child() {
  if (running()) stop();
}

std::optional<int> Child::try_wait() {
  if (pid_ <= 0 || status_) return status_;
  int st = 0;
  const pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_)
    status_ = st;
  else if (r < 0 && errno == ECHILD)
    status_ = 0;
  return status_;
}

std::optional<int> Child::wait(Deadline deadline) {
  while (!try_wait()) {
    if (deadline.expired()) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

void Child::signal(int sig) noexcept {
  if (running()) ::kill(pid_, sig);
}

int Child::stop(std::chrono::milliseconds grace) {
  if (!running()) return status_.value_or(0);
  ::kill(pid_, SIGCONT);  // a suspended child cannot handle SIGTERM
  ::kill(pid_, SIGTERM);
  if (auto st = wait(Deadline::after(grace))) return *st;
  return kill();
}

int Child::kill() {
  if (!running()) return status_.value_or(0);
  ::kill(pid_, SIGKILL);
  return wait(Deadline::after(std::chrono::seconds(10))).value_or(0);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with status " + std::to_string(status);
}

}  // namespace hpcless::test
