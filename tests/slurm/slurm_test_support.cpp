#include "tests/slurm/slurm_test_support.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string_view>
#include <sstream>
#include <thread>

#include "comm/base/clock.hpp"

namespace hpcless::stest {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, false);
}

bool exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

bool wait_file(const std::string& path, std::chrono::milliseconds timeout) {
  const Deadline d = Deadline::after(timeout);
  while (!d.expired()) {
    if (exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return exists(path);
}

std::string job_processes(const std::string& slurm_conf) {
  const std::string want = "SLURM_CONF=" + slurm_conf;
  std::string out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return "cannot read /proc";
  while (dirent* e = readdir(proc)) {
    const std::string pid = e->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid == std::to_string(getpid()))
      continue;
    std::ifstream env("/proc/" + pid + "/environ");
    std::string var;
    bool match = false;
    while (std::getline(env, var, '\0'))
      if (var == want) match = true;
    if (!match) continue;
    // Children of this test (a manager it started, its shells) inherit SLURM_CONF too.
    std::ifstream status("/proc/" + pid + "/status");
    std::string line;
    bool mine = false;
    while (std::getline(status, line))
      if (line.rfind("PPid:", 0) == 0) mine = std::stol(line.substr(5)) == getpid();
    if (mine) continue;
    std::ifstream cmdf("/proc/" + pid + "/cmdline");
    std::string cmd, arg;
    while (std::getline(cmdf, arg, '\0')) cmd += arg + " ";
    // The cluster's own daemons (started by local-cluster.sh with SLURM_CONF) are not jobs.
    if (cmd.rfind("slurmd ", 0) == 0 || cmd.rfind("slurmctld", 0) == 0 ||
        cmd.rfind(": slurmscriptd", 0) == 0)
      continue;
    out += pid + " " + cmd + "\n";
  }
  closedir(proc);
  return out;
}

std::string processes_matching(const std::string& pattern) {
  // An extended regex matching `pattern` literally; its first character in brackets ('[x]yz'),
  // so that this shell's own command line does not match.
  std::string re;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\'') return "bad pattern (quote): " + pattern;
    if (i == 0)
      re += std::string("[") + (c == ']' || c == '^' || c == '\\' ? "\\" : "") + c + "]";
    else if (std::string_view(".[]()*+?{}^$|\\").find(c) != std::string_view::npos)
      re += std::string("\\") + c;
    else
      re += c;
  }
  return test::shell("pgrep -af '" + re + "' || true", std::chrono::seconds(10)).output;
}

}  // namespace hpcless::stest
