// Storage for a local cluster (`hpcless cluster up --storage`): a redis-server and an
// S3-compatible server (s3rver, the test-only server that scripts/install-deps.sh installs with
// npm) on free ports of the cluster's host address, and the storage config that points at them.
// The config is written to DIR/storage.json in the format of config/local.json; executors get it
// with --storage-config so that functions (and `hpcless bench`) use these servers.
// Thread safety: functions only.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "client/cli/cluster_processes.hpp"
#include "comm/base/clock.hpp"

namespace hpcless::cli {

struct StorageServers {
  DaemonSpec redis;
  DaemonSpec s3;
  int redis_port = 0;
  int s3_port = 0;
  std::string host;
  std::string config_path;  // DIR/storage.json
};

// Finds redis-server, node and s3rver (HPCLESS_S3RVER, else tests/s3/node_modules of the source
// tree this binary was built from), picks free ports on `host` and writes DIR/storage.json.
// Throws ConfigError naming what is missing and how to install it.
StorageServers plan_storage(const std::filesystem::path& dir, const std::string& host,
                            const std::string& bucket);

// Waits until HOST:PORT accepts TCP connections or the process has exited. Throws TimeoutError
// at the deadline and Error when the process exited (naming its log).
void wait_listening(const std::string& what, const DaemonId& id, const std::string& host,
                    int port, const std::string& log, Deadline deadline);

}  // namespace hpcless::cli
