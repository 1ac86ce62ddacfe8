// Shared by the Slurm tests: paths of the build, reading a job's files, and checking that a job
// left no process behind.
#pragma once

#include <chrono>
#include <string>

#include "comm/base/json.hpp"
#include "tests/services/slurm_cluster.hpp"

namespace hpcless::stest {

inline std::string cli() { return HPCLESS_CLI_BIN; }
inline std::string build_dir() { return HPCLESS_BUILD_DIR; }
inline std::string source_dir() { return HPCLESS_SOURCE_DIR; }
inline std::string cluster_script() { return source_dir() + "/slurm/hpcless-cluster.sbatch"; }

// Parses a JSON file; null when it does not exist (yet) or does not parse.
nlohmann::json read_json(const std::string& path);
bool exists(const std::string& path);
// Polls until `path` exists.
bool wait_file(const std::string& path, std::chrono::milliseconds timeout);
// "pid command line" of every live process (not this one, nor its children) whose environment has
// SLURM_CONF=`slurm_conf`: what Slurm started for the cluster (daemons excluded), and what those
// started. Empty when a cluster's jobs left nothing behind.
std::string job_processes(const std::string& slurm_conf);
// Lines of `pgrep -af PATTERN` (empty: nothing matches), without the pgrep itself.
std::string processes_matching(const std::string& pattern);

}  // namespace hpcless::stest
