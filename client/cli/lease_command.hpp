// `hpcless lease acquire|renew|release|show|list`: leases from the manager's REST API.
#pragma once

#include <cxxopts.hpp>

#include "client/lib/lease_client.hpp"

namespace hpcless::cli {

// `hpcless lease ...`; argv[0] is "lease". Returns the process exit code: 0 success, 1 the
// manager refused or could not be reached, 2 bad options.
int lease_main(int argc, char** argv);

// The options every command that talks to the manager takes: --manager URL, --token-file F,
// --manager-timeout-ms. `manager_options` resolves them with $HPCLESS_MANAGER and
// $HPCLESS_API_TOKEN (ConfigError when no URL is given either way).
void add_manager_options(cxxopts::Options& opts);
client::ManagerOptions manager_options(const cxxopts::ParseResult& args);

}  // namespace hpcless::cli
