#include "executor/daemon/standalone_config.hpp"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "comm/base/error.hpp"
#include "comm/base/json.hpp"
#include "comm/storage/storage_config.hpp"

namespace hpcless::executor {

StandaloneConfig load_standalone_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file '" + path + "'");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError("config file '" + path + "' is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw ConfigError("config file '" + path + "' must hold a JSON object");
  StandaloneConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    try {
      if (key == "listen") c.listen = tcp::parse_endpoint(v.get<std::string>());
      else if (key == "package") c.package_path = v.get<std::string>();
      else if (key == "workers") c.workers = v.get<uint32_t>();
      else if (key == "cores") c.cores = v.get<std::string>();
      else if (key == "max_payload") c.max_payload = v.get<uint32_t>();
      else if (key == "max_inflight") c.max_inflight = v.get<uint32_t>();
      else if (key == "node_name") c.node_name = v.get<std::string>();
      else if (key == "worker_binary") c.worker_binary = v.get<std::string>();
      else if (key == "ready_file") c.ready_file = v.get<std::string>();
      else if (key == "comment") continue;
      else if (key == "storage") {
        // Functions' storage. Checked here so that a typo fails at start-up; the worker process
        // reads the section itself from this file, named in its environment (it inherits ours).
        storage::parse_storage_config(v);
        std::error_code ec;
        const auto abs = std::filesystem::absolute(path, ec);
        if (setenv("HPCLESS_STORAGE_CONFIG", (ec ? path : abs.string()).c_str(), 1) != 0)
          throw_system_error("setenv(HPCLESS_STORAGE_CONFIG)");
      }
      else
        throw ConfigError("unknown key '" + key + "' (known: listen, package, workers, cores, " +
                          "max_payload, max_inflight, node_name, worker_binary, ready_file, storage)");
    } catch (const nlohmann::json::exception&) {
      throw ConfigError("config file '" + path + "': key '" + key + "' has the wrong type (" +
                        v.type_name() + ")");
    } catch (const ConfigError& e) {
      throw ConfigError("config file '" + path + "': " + e.what());
    }
  }
  return c;
}

}  // namespace hpcless::executor
