// hpcless-manager in a library: the state database, the registry, the rendezvous store, the
// REST API on an HTTP server and the reaper thread (lease expiry, dead nodes).
//
//   Manager m;
//   uint16_t port = m.start(config);   // serving once it returns (port 0: a free port)
//   ...
//   m.stop();                          // also done by the destructor
//
// Thread safety: start() and stop() from one owner thread; the server and the reaper run on their
// own threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "manager/config/manager_config.hpp"
#include "manager/core/metrics.hpp"

namespace hpcless::manager {

class StateStore;
class Checkpointer;
class Registry;
class KvStore;
class HttpApi;
class ElasticPool;
class HttpServer;
class OnDemand;

class Manager {
 public:
  Manager();
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Validates the config (api_token / token_secret may come from the environment), opens the
  // database, loads the state, binds and starts serving. Returns the bound port. Throws
  // ConfigError for bad settings, a locked database or an address that cannot be bound.
  uint16_t start(ManagerConfig config);
  // Stops the reaper, wakes long-polling readers, stops the server and closes the database.
  // Idempotent.
  void stop();

  bool running() const noexcept { return running_; }
  uint16_t port() const noexcept { return port_; }
  const ManagerConfig& config() const noexcept { return config_; }

 private:
  void reaper_loop();

  ManagerConfig config_;
  Metrics metrics_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<Checkpointer> checkpointer_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<KvStore> kv_;
  std::unique_ptr<OnDemand> on_demand_;  // only with config.on_demand.enabled
  std::unique_ptr<HttpApi> api_;
  std::unique_ptr<HttpServer> server_;
  std::atomic<ElasticPool*> pool_{nullptr};  // owned by the server while it listens
  std::thread listen_thread_;
  std::atomic<bool> listen_done_{false};
  std::thread reaper_thread_;
  std::mutex reaper_mu_;
  std::condition_variable reaper_cv_;
  bool stopping_ = false;
  bool running_ = false;
  uint16_t port_ = 0;
};

}  // namespace hpcless::manager
