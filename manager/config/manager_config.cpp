#include "manager/config/manager_config.hpp"

#include <cstdlib>
#include <fstream>

#include "comm/auth/lease_token.hpp"
#include "comm/base/error.hpp"
#include "comm/base/json.hpp"

namespace hpcless::manager {

HostPort parse_host_port(const std::string& text, const std::string& what) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw ConfigError(what + ": '" + text + "' is not HOST:PORT (e.g. 127.0.0.1:7000)");
  HostPort hp;
  hp.host = text.substr(0, colon);
  if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']')
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  const std::string port = text.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    throw ConfigError(what + ": port '" + port + "' in '" + text + "' is not a number 0..65535");
  hp.port = static_cast<uint16_t>(std::stoul(port));
  return hp;
}

ManagerConfig load_manager_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file '" + path + "'");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError("config file '" + path + "' is not valid JSON: " + e.what());
  }
  return manager_config_from_json(j, "config file '" + path + "'");
}

ManagerConfig manager_config_from_json(const nlohmann::json& j, const std::string& origin) {
  if (!j.is_object()) throw ConfigError(origin + " must hold a JSON object");
  ManagerConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    try {
      if (key == "listen")
        c.listen = v.get<std::string>();
      else if (key == "db")
        c.db = v.get<std::string>();
      else if (key == "api_token")
        c.api_token = v.get<std::string>();
      else if (key == "token_secret")
        c.token_secret = v.get<std::string>();
      else if (key == "heartbeat_interval_ms")
        c.heartbeat_interval_ms = v.get<int64_t>();
      else if (key == "dead_after_ms")
        c.dead_after_ms = v.get<int64_t>();
      else if (key == "max_lease_seconds")
        c.max_lease_seconds = v.get<int64_t>();
      else if (key == "default_policy") {
        auto p = parse_policy(v.get<std::string>());
        if (!p) throw ConfigError("default_policy must be \"first-fit\" or \"spread\"");
        c.default_policy = *p;
      } else if (key == "default_hot_timeout_ms")
        c.default_hot_timeout_ms = v.get<int32_t>();
      else if (key == "http_threads")
        c.http_threads = v.get<size_t>();
      else if (key == "http_max_threads")
        c.http_max_threads = v.get<size_t>();
      else if (key == "kv_max_bytes")
        c.kv_max_bytes = v.get<size_t>();
      else if (key == "on_demand") {
        c.on_demand = on_demand_config_from_json(v, origin);
        continue;
      } else if (key == "comment")
        continue;
      else
        throw ConfigError("unknown key '" + key +
                          "' (known: listen, db, api_token, token_secret, heartbeat_interval_ms, "
                          "dead_after_ms, max_lease_seconds, default_policy, "
                          "default_hot_timeout_ms, http_threads, http_max_threads, kv_max_bytes, "
                          "on_demand)");
      if (v.is_number_float() || (v.is_number() && key != "default_hot_timeout_ms" &&
                                  v.is_number_integer() && v.get<int64_t>() < 0))
        throw ConfigError("key '" + key + "' must be a non-negative integer");
    } catch (const nlohmann::json::exception&) {
      throw ConfigError(origin + ": key '" + key + "' has the wrong type (" + v.type_name() + ")");
    } catch (const ConfigError& e) {
      if (key == "on_demand") throw;  // already names the file and the key
      throw ConfigError(origin + ": " + e.what());
    }
  }
  return c;
}

void finalize_manager_config(ManagerConfig& c) {
  if (c.api_token.empty())
    if (const char* env = std::getenv("HPCLESS_API_TOKEN")) c.api_token = env;
  if (c.token_secret.empty())
    if (const char* env = std::getenv("HPCLESS_TOKEN_SECRET")) c.token_secret = env;
  if (c.api_token.empty())
    throw ConfigError(
        "api_token is not set: put \"api_token\" in the config or set "
        "HPCLESS_API_TOKEN (clients send it as 'Authorization: Bearer <token>')");
  if (c.api_token.find_first_of(" \t\r\n") != std::string::npos)
    throw ConfigError("api_token must not contain white space");
  try {
    auth::check_token_secret(c.token_secret);
  } catch (const ConfigError& e) {
    throw ConfigError(std::string("token_secret (or HPCLESS_TOKEN_SECRET): ") + e.what());
  }
  parse_host_port(c.listen, "listen");
  if (c.db.empty()) throw ConfigError("db: the state database path is empty");
  if (c.heartbeat_interval_ms < 10 || c.heartbeat_interval_ms > 3'600'000)
    throw ConfigError("heartbeat_interval_ms must be 10..3600000");
  if (c.dead_after_ms <= c.heartbeat_interval_ms || c.dead_after_ms > 86'400'000)
    throw ConfigError("dead_after_ms must be above heartbeat_interval_ms (" +
                      std::to_string(c.heartbeat_interval_ms) + ") and at most 86400000");
  if (c.max_lease_seconds < 1 || c.max_lease_seconds > 10LL * 365 * 86400)
    throw ConfigError("max_lease_seconds must be 1..315360000");
  if (c.default_hot_timeout_ms < -1) throw ConfigError("default_hot_timeout_ms must be >= -1");
  if (c.http_threads < 1 || c.http_threads > 4096)
    throw ConfigError("http_threads must be 1..4096");
  if (c.http_max_threads < c.http_threads || c.http_max_threads > 4096)
    throw ConfigError("http_max_threads must be http_threads (" + std::to_string(c.http_threads) +
                      ")..4096");
  if (c.kv_max_bytes < (1u << 20)) throw ConfigError("kv_max_bytes must be at least 1048576");
  check_on_demand_config(c.on_demand);
}

}  // namespace hpcless::manager
