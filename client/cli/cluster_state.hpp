// DIR/cluster.json: what `hpcless cluster up` started, so that `cluster down` (a later process)
// can stop exactly that. Written after every step of `up` (a half-started cluster can be taken
// down too) and removed by `down` once everything is gone.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "client/cli/cluster_processes.hpp"

namespace hpcless::cli {

struct ClusterProcess {
  std::string role;  // "manager" or "executor"
  std::string name;  // "manager", "n1", ...
  DaemonId id;
  std::string log;
  std::string netns;    // empty: the host's network
  std::string address;  // HOST:PORT once known
};

struct ClusterState {
  std::filesystem::path dir;
  std::string manager_url;
  std::string api_token_file;
  std::string token_secret_file;
  std::string env_file;
  int nodes = 0;
  int cores_per_node = 0;
  bool netns = false;
  int net_id = 0;  // meaningful with netns
  std::string created_utc;
  std::vector<ClusterProcess> processes;
};

std::filesystem::path state_path(const std::filesystem::path& dir);

// Written via a temporary file and rename (never half a file).
void save_state(const ClusterState& s);
// nullopt when DIR holds no cluster.json; ConfigError when it is unreadable or malformed.
std::optional<ClusterState> load_state(const std::filesystem::path& dir);

// Writes `content` to `path` with mode 0600 (secrets), atomically.
void write_private_file(const std::filesystem::path& path, const std::string& content);

}  // namespace hpcless::cli
