#include "client/cli/cluster_processes.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "comm/base/error.hpp"
#include "comm/base/fd.hpp"

extern char** environ;

namespace hpcless::cli {

namespace {

// Fields of /proc/PID/stat after the command name (which may hold spaces and parentheses).
bool read_stat(pid_t pid, char& state, uint64_t& start_time) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return false;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  // Field 3 is the state; field 22 the start time; after ')' the first token is field 3.
  for (int f = 3; f <= 22; ++f) {
    if (!(rest >> field)) return false;
    if (f == 3) state = field.empty() ? '?' : field[0];
    if (f == 22) start_time = std::strtoull(field.c_str(), nullptr, 10);
  }
  return true;
}

// The environment for execve: ours, with `extra` added or replacing same-named entries.
std::vector<std::string> merged_env(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& x : extra)
      if (x.compare(0, name.size() + 1, std::string(name) + "=") == 0) replaced = true;
    if (!replaced) env.emplace_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Waits until `id` is gone or the deadline passes.
bool wait_gone(const DaemonId& id, Deadline deadline) {
  while (daemon_alive(id)) {
    if (deadline.expired()) return false;
    // Our own child (a daemon that failed to start): reap it so it does not linger as a zombie.
    (void)::waitpid(id.pid, nullptr, WNOHANG);
    sleep_ms(20);
  }
  return true;
}

}  // namespace

std::string self_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  const auto slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  dirs += ":/usr/sbin:/sbin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t colon = dirs.find(':', pos);
    if (colon == std::string::npos) colon = dirs.size();
    std::string candidate = dirs.substr(pos, colon - pos);
    if (!candidate.empty()) {
      candidate += '/';
      candidate += name;
      struct stat st {};
      if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          ::access(candidate.c_str(), X_OK) == 0)
        return candidate;
    }
    pos = colon + 1;
  }
  return {};
}

DaemonId spawn_daemon(const DaemonSpec& spec) {
  if (spec.argv.empty()) throw ConfigError("spawn_daemon: empty argv");
  // Everything the child needs is prepared before fork(): it only makes async-signal-safe calls.
  std::vector<std::string> args = spec.argv;
  std::vector<std::string> env = merged_env(spec.env);
  std::vector<char*> argv_c = c_strings(args);
  std::vector<char*> env_c = c_strings(env);
  UniqueFd log(::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log) throw_system_error("cannot open log file '" + spec.log_path + "'");
  UniqueFd null_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null_in) throw_system_error("cannot open /dev/null");
  UniqueFd ns;
  if (!spec.netns.empty()) {
    const std::string ns_path = "/var/run/netns/" + spec.netns;
    ns.reset(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) throw_system_error("cannot open network namespace " + ns_path);
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw_system_error("pipe2");
  UniqueFd err_read(p[0]), err_write(p[1]);

  const pid_t pid = ::fork();
  if (pid < 0) throw_system_error("fork");
  if (pid == 0) {
    int stage = 0;  // which step failed, for the message
    int err = 0;
    if (::setsid() < 0) {
      stage = 1;
      err = errno;
    } else if (ns && ::setns(ns.get(), CLONE_NEWNET) != 0) {
      stage = 2;
      err = errno;
    } else if (::dup2(null_in.get(), 0) < 0 || ::dup2(log.get(), 1) < 0 ||
               ::dup2(log.get(), 2) < 0) {
      stage = 3;
      err = errno;
    } else {
      ::signal(SIGPIPE, SIG_DFL);
      ::execve(argv_c[0], argv_c.data(), env_c.data());
      stage = 4;
      err = errno;
    }
    const int msg[2] = {stage, err};
    (void)!::write(err_write.get(), msg, sizeof(msg));
    ::_exit(127);
  }
  err_write.reset();
  DaemonId id;
  id.pid = pid;
  char state = '?';
  read_stat(pid, state, id.start_time);  // set at fork, unchanged by exec
  int msg[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(err_read.get(), msg, sizeof(msg));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(msg))) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string what = "start";
    if (msg[0] == 1) what = "create a session";
    if (msg[0] == 2) what = "enter network namespace " + spec.netns;
    if (msg[0] == 3) what = "redirect output to " + spec.log_path;
    if (msg[0] == 4) what = "execute";
    throw SystemError("cannot " + what + " for " + spec.argv[0] + ": " + std::strerror(msg[1]),
                      msg[1]);
  }
  return id;
}

bool daemon_alive(const DaemonId& id) {
  if (id.pid <= 0) return false;
  char state = '?';
  uint64_t start = 0;
  if (!read_stat(id.pid, state, start)) return false;
  if (state == 'Z' || state == 'X') return false;
  return id.start_time == 0 || start == id.start_time;
}

bool stop_daemon(const DaemonId& id, std::chrono::milliseconds grace) {
  if (!daemon_alive(id)) {
    (void)::waitpid(id.pid, nullptr, WNOHANG);
    return true;
  }
  ::kill(id.pid, SIGTERM);
  if (wait_gone(id, Deadline::after(grace))) return true;
  if (daemon_alive(id)) ::kill(id.pid, SIGKILL);
  return wait_gone(id, Deadline::after(std::chrono::seconds(5)));
}

CommandResult run_command(const std::vector<std::string>& argv, Deadline deadline) {
  if (argv.empty()) throw ConfigError("run_command: empty argv");
  std::vector<std::string> args = argv;
  std::vector<char*> argv_c = c_strings(args);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw_system_error("pipe2");
  UniqueFd out_read(p[0]), out_write(p[1]);
  UniqueFd null_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null_in) throw_system_error("cannot open /dev/null");
  const pid_t pid = ::fork();
  if (pid < 0) throw_system_error("fork");
  if (pid == 0) {
    if (::dup2(null_in.get(), 0) < 0 || ::dup2(out_write.get(), 1) < 0 ||
        ::dup2(out_write.get(), 2) < 0)
      ::_exit(126);
    ::execv(argv_c[0], argv_c.data());
    const char msg[] = "exec failed\n";
    (void)!::write(2, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  out_write.reset();
  CommandResult r;
  bool killed = false;
  char buf[4096];
  while (true) {
    pollfd pfd{out_read.get(), POLLIN, 0};
    const int left = deadline.remaining_ms();
    const int rc = ::poll(&pfd, 1, left < 0 ? 1000 : std::min(left, 1000));
    if (rc < 0 && errno != EINTR) break;
    if (rc > 0) {
      const ssize_t n = ::read(out_read.get(), buf, sizeof(buf));
      if (n == 0) break;  // every writer closed: the command ended (or daemonized its output)
      if (n > 0 && r.output.size() < 65536) r.output.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (deadline.expired()) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
  }
  int status = 0;
  // After EOF the command is about to exit; bound the wait all the same.
  const Deadline reap = Deadline::after(std::chrono::seconds(5));
  while (true) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (reap.expired()) {
      ::kill(pid, SIGKILL);
      killed = true;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    sleep_ms(2);
  }
  if (!killed && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  return r;
}

}  // namespace hpcless::cli
