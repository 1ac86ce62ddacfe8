// The executor daemon without a manager: accepts client connections and hands them to one worker
// process that runs the functions. When the worker process dies (a function crashed it), the
// daemon tells each affected client which request was running, closes that worker's connections,
// and starts a fresh worker; it keeps accepting clients throughout.
//
// Thread safety: single-threaded; run() owns everything until it returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "comm/base/fd.hpp"
#include "comm/transport/tcp/endpoint.hpp"
#include "executor/daemon/worker_process.hpp"

namespace hpcless::executor {

struct StandaloneConfig {
  tcp::Endpoint listen{"127.0.0.1", 0};
  std::string package_path;
  uint32_t workers = 1;
  std::string cores;  // one core per worker, e.g. "1" or "0-3"; empty: no pinning
  uint32_t max_payload = 64u << 20;
  uint32_t max_inflight = 256;
  std::string node_name;  // empty: the host name (filled in by hpcless-executor)
  std::string worker_binary;  // empty: hpcless-worker next to this executable
  std::string ready_file;     // written with the bound HOST:PORT once serving
  std::chrono::milliseconds worker_start_timeout{15000};
  std::vector<std::string> worker_args;  // extra hpcless-worker arguments (e.g. --config FILE)
};

class StandaloneExecutor {
 public:
  explicit StandaloneExecutor(StandaloneConfig config);
  // Serves until SIGINT or SIGTERM. Throws ConfigError when the worker cannot start.
  int run();

 private:
  void spawn_worker();
  void on_worker_exit();
  void accept_clients();

  StandaloneConfig config_;
  std::optional<tcp::Listener> listener_;
  std::unique_ptr<WorkerProcess> worker_;
  UniqueFd epoll_;
  uint64_t next_conn_id_ = 1;
  uint64_t worker_starts_ = 0;
};

}  // namespace hpcless::executor
