#include "tests/services/slurm_cluster.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/base/fd.hpp"

namespace hpcless::test {

namespace {

std::string script() { return std::string(HPCLESS_SOURCE_DIR) + "/slurm/local-cluster.sh"; }

}  // namespace

ShellResult shell(const std::string& command, std::chrono::milliseconds timeout) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw_system_error("pipe2");
  UniqueFd rd(p[0]), wr(p[1]);
  const pid_t pid = fork();
  if (pid < 0) throw_system_error("fork");
  if (pid == 0) {
    setpgid(0, 0);
    dup2(wr.get(), 1);
    dup2(wr.get(), 2);
    execl("/bin/bash", "bash", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  wr.reset();
  const Deadline deadline = Deadline::after(timeout);
  ShellResult r;
  char buf[4096];
  bool timed_out = false;
  while (true) {
    const int left = deadline.remaining_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{rd.get(), POLLIN, 0};
    const int n = poll(&pfd, 1, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    const ssize_t got = read(rd.get(), buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (r.output.size() < (1u << 20)) r.output.append(buf, static_cast<size_t>(got));
  }
  if (timed_out) kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!timed_out && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  return r;
}

SlurmCluster::SlurmCluster() : dir_("hpcless-slurm") {
  for (const char* b : {"slurmctld", "slurmd", "munged", "sbatch"})
    if (shell(std::string("PATH=$PATH:/usr/sbin command -v ") + b, std::chrono::seconds(5))
            .exit_code != 0)
      throw ConfigError(std::string(b) +
                        " not found: install slurm-wlm and munge (scripts/install-deps.sh)");
  // local-cluster.sh gives up within 75 s (controller 30 s, node 45 s with one slurmd restart).
  const ShellResult up = shell(script() + " up " + dir_.path(), std::chrono::seconds(90));
  if (up.exit_code != 0) {
    shell(script() + " down " + dir_.path(), std::chrono::seconds(30));
    throw Error("local Slurm cluster did not start: " + up.output);
  }
  setenv("SLURM_CONF", conf().c_str(), 1);
}

SlurmCluster::~SlurmCluster() {
  shell(script() + " down " + dir_.path(), std::chrono::seconds(60));
  unsetenv("SLURM_CONF");
}

std::string SlurmCluster::submit(const std::string& args) const {
  const ShellResult r = shell("sbatch --parsable " + args, std::chrono::seconds(30));
  std::string id = r.output.substr(0, r.output.find_first_of(";\n"));
  if (r.exit_code != 0 || id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    throw Error("sbatch " + args + " failed: " + r.output);
  return id;
}

std::string SlurmCluster::state(const std::string& job) const {
  const ShellResult r = shell("squeue -h -j " + job + " -o %T 2>/dev/null", std::chrono::seconds(15));
  std::string s = r.output;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return r.exit_code == 0 ? s : "";
}

bool SlurmCluster::wait_gone(const std::string& job, std::chrono::milliseconds timeout) const {
  const Deadline d = Deadline::after(timeout);
  while (!d.expired()) {
    if (state(job).empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

bool SlurmCluster::wait_running(const std::string& job, std::chrono::milliseconds timeout) const {
  const Deadline d = Deadline::after(timeout);
  while (!d.expired()) {
    if (state(job) == "RUNNING") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace hpcless::test
