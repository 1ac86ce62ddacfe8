// Reads a standalone executor's configuration from a JSON file (see config/standalone.json).
#pragma once

#include <string>

#include "executor/daemon/standalone_executor.hpp"

namespace hpcless::executor {

// Throws ConfigError naming the file and the offending key (unknown keys are errors too, so that
// a typo is not silently ignored).
StandaloneConfig load_standalone_config(const std::string& path);

}  // namespace hpcless::executor
