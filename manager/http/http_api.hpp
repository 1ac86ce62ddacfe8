// The REST API of docs/manager-api.md on a cpp-httplib server: routes, bearer-token check,
// JSON errors, Prometheus metrics. Handlers call into the Registry and the KvStore.
//
// Thread safety: install() once before the server starts; handlers run on the server's threads
// concurrently (everything they touch is thread-safe).
#pragma once

#include <httplib.h>

#include <functional>
#include <string>

#include "manager/config/manager_config.hpp"
#include "manager/core/metrics.hpp"
#include "manager/core/registry.hpp"
#include "manager/kv/kv_store.hpp"
#include "manager/ondemand/on_demand.hpp"

namespace hpcless::manager {

inline constexpr size_t kMaxBodyBytes = 1u << 20;
inline constexpr int64_t kMaxKvWaitMs = 60000;

class HttpApi {
 public:
  // All references must outlive the server the API is installed on. `http_threads` reports the
  // server pool's size in /metrics.
  // `on_demand` (may be null) meets leases the pool cannot, through Slurm.
  HttpApi(Registry& registry, KvStore& kv, Metrics& metrics, const ManagerConfig& config,
          std::function<size_t()> http_threads, OnDemand* on_demand = nullptr);

  void install(httplib::Server& server);

  // The Prometheus text exposition (also used by tests).
  std::string metrics_text() const;

 private:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  httplib::Server::Handler wrap(bool needs_auth, Handler h);
  bool authorized(const httplib::Request& req) const;

  void post_node(const httplib::Request& req, httplib::Response& res);
  void heartbeat(const httplib::Request& req, httplib::Response& res);
  void get_nodes(const httplib::Request& req, httplib::Response& res);
  void delete_node(const httplib::Request& req, httplib::Response& res);
  void post_lease(const httplib::Request& req, httplib::Response& res);
  void list_leases(const httplib::Request& req, httplib::Response& res);
  void get_lease(const httplib::Request& req, httplib::Response& res);
  void renew_lease(const httplib::Request& req, httplib::Response& res);
  void delete_lease(const httplib::Request& req, httplib::Response& res);
  void kv_put(const httplib::Request& req, httplib::Response& res);
  void kv_get(const httplib::Request& req, httplib::Response& res);
  void kv_delete(const httplib::Request& req, httplib::Response& res);

  Registry& registry_;
  KvStore& kv_;
  Metrics& metrics_;
  const ManagerConfig& config_;
  std::function<size_t()> http_threads_;
  OnDemand* on_demand_;
  std::string expected_auth_;  // "Bearer <api token>"
};

// {"error": message} with the status code.
void send_error(httplib::Response& res, int status, const std::string& message);

}  // namespace hpcless::manager
