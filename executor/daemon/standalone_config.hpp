// Reads a standalone executor's configuration from a JSON file (see config/standalone.json).
#pragma once

#include <string>

#include "executor/daemon/standalone_executor.hpp"

namespace hpcless::executor {

// A "storage" section (comm/storage/storage_config.hpp) is validated and passed to the worker
// process by setting HPCLESS_STORAGE_CONFIG to this file in our environment, which it inherits.
// Throws ConfigError naming the file and the offending key (unknown keys are errors too, so that
// a typo is not silently ignored).
StandaloneConfig load_standalone_config(const std::string& path);

}  // namespace hpcless::executor
