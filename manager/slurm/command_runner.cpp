#include "manager/slurm/command_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "comm/base/error.hpp"
#include "comm/base/fd.hpp"

extern char** environ;

namespace hpcless::manager::slurm {

namespace {

// The child and its process group (a wrapper script's children too) are killed and reaped when
// this goes out of scope before the child was waited for: nothing is left behind on an error.
class SpawnedChild {
 public:
  explicit SpawnedChild(pid_t pid) : pid_(pid) {}
  SpawnedChild(const SpawnedChild&) = delete;
  SpawnedChild& operator=(const SpawnedChild&) = delete;
  ~SpawnedChild() {
    if (status_) return;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }

  // The wait status once the child exited (reaps it).
  std::optional<int> try_wait() {
    if (status_) return status_;
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) status_ = st;
    return status_;
  }

  // SIGTERM to the group, SIGKILL after `grace`; returns once reaped (bounded by the SIGKILL).
  void kill_group(int grace_ms) {
    ::kill(-pid_, SIGTERM);
    const Deadline d = Deadline::after(std::chrono::milliseconds(grace_ms));
    while (!try_wait() && !d.expired()) ::usleep(10'000);
    if (!status_) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      int st = 0;
      while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
      status_ = st;
    }
  }

 private:
  pid_t pid_;
  std::optional<int> status_;
};

// posix_spawn's attribute and file-action objects must be destroyed on every path.
struct SpawnAttrs {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnAttrs() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnAttrs() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnAttrs(const SpawnAttrs&) = delete;
  SpawnAttrs& operator=(const SpawnAttrs&) = delete;
};

std::string path_variable(const std::vector<std::string>& env) {
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) return e.substr(5);
  const char* p = std::getenv("PATH");
  return p ? p : "/usr/local/bin:/usr/bin:/bin";
}

std::string resolve(const std::string& program, const std::vector<std::string>& env) {
  if (program.empty()) throw ConfigError("empty command name");
  if (program.find('/') != std::string::npos) {
    if (::access(program.c_str(), X_OK) != 0)
      throw ConfigError("cannot run '" + program + "': " + std::strerror(errno));
    return program;
  }
  const std::string path = path_variable(env);
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  throw ConfigError("'" + program + "' not found in PATH (" + path +
                    "); install it or configure its full path");
}

void make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_system_error("pipe2");
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
}

// Appends what is readable; false at end of file.
bool drain(int fd, std::string& into) {
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      const size_t room = kMaxCapture > into.size() ? kMaxCapture - into.size() : 0;
      into.append(buf, std::min(room, static_cast<size_t>(n)));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

std::string one_line(const std::string& text) {
  std::string s;
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      if (!s.empty() && s.back() != ' ') s += "; ";
    } else {
      s += c;
    }
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == ';')) s.pop_back();
  return s;
}

}  // namespace

std::string CommandResult::describe() const {
  if (timed_out) return "did not finish within the deadline (killed)";
  std::string s = exit_code >= 0 ? "exited with code " + std::to_string(exit_code)
                                 : std::string("was killed by a signal");
  const std::string e = one_line(err.empty() ? out : err);
  if (!e.empty()) s += ": " + e;
  return s;
}

std::vector<std::string> current_environment(const std::vector<std::string>& drop) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string v = *e;
    const std::string name = v.substr(0, v.find('='));
    bool keep = true;
    for (const auto& d : drop) keep = keep && d != name;
    if (keep) out.push_back(v);
  }
  return out;
}

CommandResult run_command(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          Deadline deadline) {
  HPCLESS_CHECK(!argv.empty(), "run_command needs a program");
  const std::string program = resolve(argv[0], env);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  UniqueFd out_r, out_w, err_r, err_w;
  make_pipe(out_r, out_w);
  make_pipe(err_r, err_w);
  SpawnAttrs sa;
  posix_spawn_file_actions_addopen(&sa.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&sa.actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&sa.actions, err_w.get(), 2);
  // The manager blocks SIGTERM/SIGINT in every thread and ignores SIGPIPE; the child must not
  // inherit that, or the deadline's SIGTERM would not stop it. Its own process group lets the
  // deadline reach whatever it started.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&sa.attr, &none);
  posix_spawnattr_setsigdefault(&sa.attr, &defaults);
  posix_spawnattr_setpgroup(&sa.attr, 0);
  posix_spawnattr_setflags(&sa.attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  const int rc =
      ::posix_spawn(&pid, program.c_str(), &sa.actions, &sa.attr, args.data(), envp.data());
  if (rc != 0) throw ConfigError("cannot run '" + program + "': " + std::strerror(rc));
  SpawnedChild child(pid);
  out_w.reset();
  err_w.reset();
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_r.get(), F_SETFL, O_NONBLOCK);

  CommandResult r;
  bool out_open = true, err_open = true;
  std::optional<int> status;
  while (out_open || err_open || !status) {
    if (deadline.expired()) {
      child.kill_group(1000);
      r.timed_out = true;
      return r;
    }
    if (!out_open && !err_open) {
      // Both pipes closed: only the exit is missing (a few milliseconds at most).
      status = child.try_wait();
      if (!status) ::usleep(2000);
      continue;
    }
    pollfd p[2];
    nfds_t n = 0;
    if (out_open) p[n++] = {out_r.get(), POLLIN, 0};
    if (err_open) p[n++] = {err_r.get(), POLLIN, 0};
    const int ms = deadline.remaining_ms();
    if (::poll(p, n, ms < 0 || ms > 100 ? 100 : ms) < 0 && errno != EINTR)
      throw_system_error("poll");
    if (out_open) out_open = drain(out_r.get(), r.out);
    if (err_open) err_open = drain(err_r.get(), r.err);
    if (!out_open && !err_open) status = child.try_wait();
  }
  r.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  return r;
}

}  // namespace hpcless::manager::slurm
