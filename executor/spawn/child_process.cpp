#include "executor/spawn/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "comm/base/error.hpp"

extern char** environ;

namespace hpcless::executor {

namespace {
int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }
}  // namespace

ChildProcess ChildProcess::spawn(const SpawnOptions& opts) {
  HPCLESS_CHECK(!opts.argv.empty(), "spawn needs an executable");
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> argv;
  for (const auto& a : opts.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) env_store.emplace_back(*e);
  for (const auto& e : opts.extra_env) env_store.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  UniqueFd out, err;
  if (!opts.stdout_path.empty()) {
    out.reset(open(opts.stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!out) throw_system_error("cannot open " + opts.stdout_path);
  }
  if (!opts.stderr_path.empty()) {
    err.reset(open(opts.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!err) throw_system_error("cannot open " + opts.stderr_path);
  }
  UniqueFd cgroup;
  if (!opts.cgroup_procs_path.empty()) {
    cgroup.reset(open(opts.cgroup_procs_path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!cgroup) throw_system_error("cannot open " + opts.cgroup_procs_path);
  }
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (int core : opts.cpu_affinity) {
    if (core < 0 || core >= CPU_SETSIZE) throw ConfigError("core " + std::to_string(core) + " out of range");
    CPU_SET(core, &cpus);
  }
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) throw_system_error("fork");
  if (pid == 0) {
    if (opts.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    // Limits first, so that nothing the worker does escapes them. A failure here must not let the
    // worker run unconfined: exit with a code the daemon reports.
    if (cgroup && write(cgroup.get(), "0", 1) != 1) {
      const char msg[] = "hpcless: cannot join the lease's cgroup\n";
      (void)!write(2, msg, sizeof(msg) - 1);
      _exit(126);
    }
    if (!opts.cpu_affinity.empty() && sched_setaffinity(0, sizeof(cpus), &cpus) != 0) {
      const char msg[] = "hpcless: sched_setaffinity failed for the leased cores\n";
      (void)!write(2, msg, sizeof(msg) - 1);
      _exit(126);
    }
    if (opts.rlimit_as_bytes != 0) {
      rlimit rl{opts.rlimit_as_bytes, opts.rlimit_as_bytes};
      if (setrlimit(RLIMIT_AS, &rl) != 0) {
        const char msg[] = "hpcless: setrlimit(RLIMIT_AS) failed\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        _exit(126);
      }
    }
    if (out) dup2(out.get(), 1);
    if (err) dup2(err.get(), 2);
    // Move mapped descriptors above every target first so that the dup2s cannot clobber them.
    int tmp[64];
    const size_t n = opts.fd_map.size() < 64 ? opts.fd_map.size() : 64;
    for (size_t i = 0; i < n; ++i) tmp[i] = fcntl(opts.fd_map[i].first, F_DUPFD_CLOEXEC, 256);
    for (size_t i = 0; i < n; ++i) dup2(tmp[i], opts.fd_map[i].second);  // clears CLOEXEC
    execve(argv[0], argv.data(), envp.data());
    const char msg[] = "hpcless: exec failed\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(127);
  }
  ChildProcess c;
  c.pid_ = pid;
  c.pidfd_.reset(pidfd_open(pid));
  if (!c.pidfd_) throw_system_error("pidfd_open");
  return c;
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)), status_(o.status_) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    if (running()) stop();
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::move(o.pidfd_);
    status_ = o.status_;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (running()) stop();
}

std::optional<int> ChildProcess::try_wait() {
  if (pid_ <= 0 || status_) return status_;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) status_ = st;
  else if (r < 0 && errno == ECHILD) status_ = 0;
  return status_;
}

std::optional<int> ChildProcess::wait(Deadline deadline) {
  while (!try_wait()) {
    pollfd p{pidfd_.get(), POLLIN, 0};
    int ms = deadline.remaining_ms();
    if (ms == 0) return std::nullopt;
    if (poll(&p, 1, ms > 100 || ms < 0 ? 100 : ms) < 0 && errno != EINTR) return std::nullopt;
  }
  return status_;
}

void ChildProcess::signal(int sig) noexcept {
  if (running()) ::kill(pid_, sig);
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return status_.value_or(0);
  ::kill(pid_, SIGTERM);
  if (auto st = wait(Deadline::after(grace))) return *st;
  ::kill(pid_, SIGKILL);
  auto st = wait(Deadline::after(std::chrono::seconds(10)));
  return st.value_or(0);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    return "killed by signal " + std::to_string(sig) + " (" + (abbrev ? "SIG" + std::string(abbrev) : "?") +
           ", " + strsignal(sig) + ")";
  }
  return "ended with status " + std::to_string(status);
}

std::string executable_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) throw_system_error("readlink(/proc/self/exe)");
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

}  // namespace hpcless::executor
