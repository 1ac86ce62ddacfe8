#include "experiments/comm/launcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/base/fd.hpp"

namespace hpcless::experiments::comm_bench {

namespace {

// Absolute path of `name` (as given when it contains a '/'), searched on PATH; "" when missing.
// Resolved before fork() so that the child only makes async-signal-safe calls.
std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  const std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t colon = dirs.find(':', pos);
    if (colon == std::string_view::npos) colon = dirs.size();
    std::string candidate(dirs.substr(pos, colon - pos));
    if (candidate.empty()) candidate = ".";
    candidate += '/';
    candidate += name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    pos = colon + 1;
  }
  return {};
}

UniqueFd open_or_throw(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0644));
  if (!fd) throw_system_error("cannot open '" + path + "'");
  return fd;
}

struct Child {
  pid_t pid = -1;
  UniqueFd pidfd;
  std::optional<int> status;  // wait status once reaped
  uint64_t exited_ns = 0;
};

// Reaps `c` if it has exited; returns true when it has.
bool try_reap(Child& c) {
  if (c.status) return true;
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(c.pid, &st, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == c.pid) {
    c.status = st;
    c.exited_ns = now_ns();
    c.pidfd.reset();
    return true;
  }
  return false;
}

// Waits until a child exits or `deadline` passes (pidfds, no polling loop).
void wait_any(std::vector<Child>& kids, Deadline deadline) {
  std::vector<pollfd> pfds;
  for (auto& c : kids)
    if (!c.status && c.pidfd) pfds.push_back({c.pidfd.get(), POLLIN, 0});
  if (pfds.empty()) return;
  // Capped so that a child whose pidfd could not be opened is still reaped now and then.
  const int ms = std::min(deadline.remaining_ms() < 0 ? 100 : deadline.remaining_ms(), 100);
  if (::poll(pfds.data(), pfds.size(), ms) < 0 && errno != EINTR) throw_system_error("poll");
}

bool all_done(std::vector<Child>& kids) {
  bool done = true;
  for (auto& c : kids) done &= try_reap(c);
  return done;
}

// SIGTERM to everyone still running, SIGKILL after `term_timeout`; returns once all are reaped.
void stop_all(std::vector<Child>& kids, std::chrono::milliseconds term_timeout) {
  for (auto& c : kids)
    if (!try_reap(c)) ::kill(c.pid, SIGTERM);
  const Deadline term = Deadline::after(term_timeout);
  while (!all_done(kids) && !term.expired()) wait_any(kids, term);
  for (auto& c : kids)
    if (!try_reap(c)) ::kill(c.pid, SIGKILL);
  for (auto& c : kids) {
    if (c.status) continue;
    int st = 0;
    while (::waitpid(c.pid, &st, 0) < 0 && errno == EINTR) {
    }
    c.status = st;
  }
}

bool failed(int st) { return !(WIFEXITED(st) && WEXITSTATUS(st) == 0); }

// Which failure to blame when several are seen at once: a signal, then any exit status but 3,
// then 3 (comm-bench's "a peer failed"), each the earliest seen.
int blame_rank(int st) {
  if (WIFSIGNALED(st)) return 0;
  return WIFEXITED(st) && WEXITSTATUS(st) == 3 ? 2 : 1;
}

// The failure that explains the others among those reaped so far: a death by signal before an
// error exit before a peer's "a peer failed" (status 3), then the earliest.
std::optional<size_t> pick_cause(const std::vector<Child>& kids) {
  std::optional<size_t> best;
  for (size_t i = 0; i < kids.size(); ++i) {
    if (!kids[i].status || !failed(*kids[i].status)) continue;
    if (!best) {
      best = i;
      continue;
    }
    const int a = blame_rank(*kids[i].status), b = blame_rank(*kids[*best].status);
    if (a < b || (a == b && kids[i].exited_ns < kids[*best].exited_ns)) best = i;
  }
  return best;
}

std::string who(const LaunchOptions& o, size_t i) {
  return o.noun == "rank" ? "rank " + std::to_string(i) : o.noun;
}

}  // namespace

std::string describe_exit(int st) {
  if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) {
    const int sig = WTERMSIG(st);
    const char* abbrev = sigabbrev_np(sig);
    return "was killed by signal " + std::to_string(sig) +
           (abbrev != nullptr ? std::string(" (SIG") + abbrev + ")" : std::string());
  }
  return "ended with wait status " + std::to_string(st);
}

std::string self_executable() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) throw_system_error("readlink /proc/self/exe");
  return std::string(buf, static_cast<size_t>(n));
}

LaunchResult run_processes(const std::vector<std::vector<std::string>>& argvs,
                           const LaunchOptions& options) {
  HPCLESS_CHECK(!argvs.empty(), "no process to run");
  const uint64_t t0 = now_ns();
  const Deadline watchdog = Deadline::after(options.watchdog);

  // Everything the children need is prepared before the first fork().
  std::vector<std::string> paths;
  std::vector<std::vector<char*>> cargv(argvs.size());
  for (size_t i = 0; i < argvs.size(); ++i) {
    HPCLESS_CHECK(!argvs[i].empty(), "empty command line");
    paths.push_back(resolve_program(argvs[i][0]));
    if (paths.back().empty()) throw ConfigError("cannot find '" + argvs[i][0] + "' (not on PATH)");
    for (const auto& a : argvs[i]) cargv[i].push_back(const_cast<char*>(a.c_str()));
    cargv[i].push_back(nullptr);
  }
  UniqueFd null_fd = open_or_throw("/dev/null", O_RDWR);
  UniqueFd out0 = options.stdout_path.empty()
                      ? UniqueFd()
                      : open_or_throw(options.stdout_path, O_WRONLY | O_CREAT | O_TRUNC);
  UniqueFd out_rest =
      options.others_stdout_path.empty()
          ? UniqueFd()
          : open_or_throw(options.others_stdout_path, O_WRONLY | O_CREAT | O_APPEND);
  UniqueFd err_all = options.stderr_path.empty()
                         ? UniqueFd()
                         : open_or_throw(options.stderr_path, O_WRONLY | O_CREAT | O_APPEND);
  const pid_t parent = ::getpid();

  std::vector<Child> kids;
  kids.reserve(argvs.size());
  for (size_t i = 0; i < argvs.size(); ++i) {
    const int out_fd =
        i == 0 ? (out0 ? out0.get() : -1) : (out_rest ? out_rest.get() : null_fd.get());
    const int err_fd = err_all ? err_all.get() : -1;
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
      stop_all(kids, options.term_timeout);
      throw_system_error("pipe2");
    }
    UniqueFd exec_read(p[0]), exec_write(p[1]);
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int e = errno;
      stop_all(kids, options.term_timeout);
      throw_system_error("fork", e);
    }
    if (pid == 0) {
      // Child: async-signal-safe calls only.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);  // the launcher is already gone
      int err = 0;
      if (out_fd >= 0 && ::dup2(out_fd, STDOUT_FILENO) < 0) err = errno;
      if (err == 0 && err_fd >= 0 && ::dup2(err_fd, STDERR_FILENO) < 0) err = errno;
      if (err == 0 && ::dup2(null_fd.get(), STDIN_FILENO) < 0) err = errno;
      if (err == 0) {
        ::execv(paths[i].c_str(), cargv[i].data());
        err = errno;
      }
      (void)!::write(exec_write.get(), &err, sizeof(err));
      ::_exit(127);
    }
    exec_write.reset();
    Child c;
    c.pid = pid;
    c.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    int exec_err = 0;
    ssize_t n;
    do {
      n = ::read(exec_read.get(), &exec_err, sizeof(exec_err));
    } while (n < 0 && errno == EINTR);
    kids.push_back(std::move(c));
    if (n == static_cast<ssize_t>(sizeof(exec_err))) {
      stop_all(kids, options.term_timeout);
      throw SystemError(
          "cannot start " + who(options, i) + " (" + paths[i] + "): " + std::strerror(exec_err),
          exec_err);
    }
  }

  LaunchResult res;
  std::optional<size_t> first_failure;
  std::optional<Deadline> grace;
  bool watchdog_fired = false;
  while (!all_done(kids)) {
    // Chosen again on every pass: a rank killed by a signal can become reapable after the ranks
    // that saw its links break (its sockets close before it can be reaped), and it is the cause.
    first_failure = pick_cause(kids);
    if (first_failure && !grace) grace = Deadline::after(options.grace);
    if (grace && grace->expired()) break;
    if (watchdog.expired()) {
      watchdog_fired = true;
      break;
    }
    Deadline next = watchdog;
    if (grace && grace->ns() < next.ns()) next = *grace;
    wait_any(kids, next);
  }
  std::vector<size_t> stopped;
  for (size_t i = 0; i < kids.size(); ++i)
    if (!try_reap(kids[i])) stopped.push_back(i);
  // Before stop_all: the ranks it stops are not causes.
  first_failure = pick_cause(kids);
  stop_all(kids, options.term_timeout);

  for (const auto& c : kids)
    res.exit_codes.push_back(WIFEXITED(*c.status) ? WEXITSTATUS(*c.status) : -WTERMSIG(*c.status));
  res.seconds = static_cast<double>(now_ns() - t0) / 1e9;
  auto list = [&](const std::vector<size_t>& idx) {
    std::string s;
    for (size_t k = 0; k < idx.size(); ++k)
      s += (k == 0 ? "" : ", ") + (options.noun == "rank" ? std::to_string(idx[k]) : options.noun);
    return s;
  };
  if (first_failure) {
    const size_t f = *first_failure;
    res.error = who(options, f) + " " + describe_exit(*kids[f].status);
    std::vector<size_t> followed;
    for (size_t i = 0; i < kids.size(); ++i)
      if (i != f && failed(*kids[i].status) &&
          std::find(stopped.begin(), stopped.end(), i) == stopped.end())
        followed.push_back(i);
    if (!followed.empty())
      res.error += "; then " + std::string(options.noun == "rank" ? "ranks " : "") +
                   list(followed) + " failed too";
    if (!stopped.empty())
      res.error += "; " + std::string(options.noun == "rank" ? "ranks " : "") + list(stopped) +
                   " still running after " + std::to_string(options.grace.count()) +
                   " ms were stopped";
  } else if (watchdog_fired) {
    res.error = "watchdog: " + std::string(options.noun == "rank" ? "ranks " : "") + list(stopped) +
                " still running after " + std::to_string(options.watchdog.count() / 1000) +
                " s were stopped";
  } else {
    res.ok = true;
  }
  return res;
}

}  // namespace hpcless::experiments::comm_bench
