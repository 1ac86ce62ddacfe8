#include "executor/daemon/node_cores.hpp"

#include <sched.h>

#include "comm/base/cpu.hpp"
#include "comm/base/error.hpp"

namespace hpcless::executor {

namespace {

std::vector<int> affinity_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) throw_system_error("sched_getaffinity");
  std::vector<int> cores;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cores.push_back(c);
  return cores;
}

}  // namespace

std::vector<int> limit_cores(std::vector<int> available, size_t limit, const std::string& what) {
  if (limit == 0) return available;
  if (limit > available.size())
    throw ConfigError("--cores-limit " + std::to_string(limit) + " is more than the " +
                      std::to_string(available.size()) + " core(s) of " + what);
  available.resize(limit);
  return available;
}

std::vector<int> resolve_node_cores(const std::string& spec, size_t limit) {
  if (spec.empty())
    throw ConfigError("--cores is required in managed mode (the cores this node lends, or auto)");
  if (spec == "auto") {
    std::vector<int> cores = affinity_cores();
    if (cores.empty()) throw ConfigError("--cores auto: the affinity mask is empty");
    return limit_cores(std::move(cores), limit, "this process's affinity mask");
  }
  return limit_cores(parse_core_list(spec), limit, "--cores " + spec);
}

}  // namespace hpcless::executor
