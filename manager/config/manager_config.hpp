// The manager's settings (config/manager.json; docs/manager.md lists every key).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "manager/config/on_demand_config.hpp"
#include "manager/core/model.hpp"

namespace hpcless::manager {

struct ManagerConfig {
  std::string listen = "127.0.0.1:7000";  // HOST:PORT; port 0 picks a free port
  std::string db = "hpcless-manager.db";  // SQLite file (created if missing)
  // Empty: taken from HPCLESS_API_TOKEN / HPCLESS_TOKEN_SECRET at start.
  std::string api_token;
  std::string token_secret;
  int64_t heartbeat_interval_ms = 500;
  int64_t dead_after_ms = 3000;
  int64_t max_lease_seconds = 86400;
  Policy default_policy = Policy::kFirstFit;
  int32_t default_hot_timeout_ms = -1;
  // HTTP connections are served by a pool that grows from http_threads to http_max_threads
  // (a keep-alive connection or a long-polling rendezvous read holds one thread).
  size_t http_threads = 4;
  size_t http_max_threads = 256;
  size_t kv_max_bytes = 64u << 20;
  OnDemandConfig on_demand;  // growing the pool through Slurm (off by default)
};

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// "127.0.0.1:7000", "0.0.0.0:0", "[::1]:7000". Throws ConfigError naming `what`.
HostPort parse_host_port(const std::string& text, const std::string& what);

// Reads a JSON object of the keys above; unknown keys and wrong types are ConfigErrors naming
// the file and the key ("comment" is ignored).
ManagerConfig load_manager_config(const std::string& path);
ManagerConfig manager_config_from_json(const nlohmann::json& j, const std::string& origin);

// Fills api_token / token_secret from the environment when empty, then checks every value.
// Throws ConfigError saying which key is wrong and what to do.
void finalize_manager_config(ManagerConfig& c);

}  // namespace hpcless::manager
