// Which cores a managed executor lends: an explicit list ("0-3,6") or "auto", the cores this
// process may run on (its affinity mask). Inside a Slurm job "auto" is the job's cores when the
// cluster's task plugin binds (task/affinity, task/cgroup); with task/none the mask is the whole
// node, so `limit` (SLURM_CPUS_ON_NODE) keeps the first N of them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace hpcless::executor {

// `limit` 0: no limit. Throws ConfigError for a malformed list, a limit above the cores
// available, or an empty affinity mask.
std::vector<int> resolve_node_cores(const std::string& spec, size_t limit);

// The first `limit` cores of `available` (all with 0). Throws ConfigError when fewer exist.
std::vector<int> limit_cores(std::vector<int> available, size_t limit, const std::string& what);

}  // namespace hpcless::executor
