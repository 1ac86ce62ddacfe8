#include "manager/http/http_api.hpp"

#include <openssl/crypto.h>

#include "comm/base/json.hpp"
#include "comm/base/log.hpp"
#include "manager/core/api_error.hpp"
#include "manager/http/requests.hpp"

#ifndef HPCLESS_VERSION
#define HPCLESS_VERSION "unknown"
#endif

namespace hpcless::manager {

using nlohmann::json;

namespace {

constexpr const char* kJson = "application/json";

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

std::string default_error(int status, const httplib::Request& req) {
  switch (status) {
    case 400:
      return "bad request: " + req.method + " " + req.path + " could not be parsed";
    case 404:
      return "no route for " + req.method + " " + req.path + "; see docs/manager-api.md";
    case 413:
      return "request body above " + std::to_string(kMaxBodyBytes) + " bytes (1 MiB); send less";
    case 414:
      return "request URI too long";
    default:
      return "HTTP status " + std::to_string(status);
  }
}

json node_json(const NodeView& v) {
  return {{"name", v.node.name},
          {"address", v.node.address},
          {"cores", v.node.cores},
          {"memory_mb", v.node.memory_mb},
          {"transports", v.node.transports},
          {"walltime_end_ms", v.node.walltime_end_ms},
          {"free_cores", v.free_cores.size()},
          {"free_core_list", v.free_cores},
          {"free_memory_mb", v.free_memory_mb},
          {"state", to_string(v.node.state)},
          {"registered_ms", v.node.registered_ms},
          {"last_heartbeat_ms", v.node.last_heartbeat_ms},
          {"leases", v.leases}};
}

// Path captures are URL-decoded by httplib; ids and names are checked before any use.
std::string lease_id_param(const httplib::Request& req) {
  std::string id = req.matches[1];
  if (!valid_name(id)) throw ApiError(404, "lease '" + id.substr(0, 64) + "' not found");
  return id;
}

std::string kv_key(const httplib::Request& req) {
  std::string key = req.matches[1];
  if (key.empty() || key.size() > 1024)
    throw ApiError(400, "key: a rendezvous key must be 1..1024 bytes");
  for (unsigned char c : key)
    if (c < 0x20 || c == 0x7f)
      throw ApiError(400, "key: a rendezvous key must not contain control characters");
  return key;
}

}  // namespace

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

HttpApi::HttpApi(Registry& registry, KvStore& kv, Metrics& metrics, const ManagerConfig& config,
                 std::function<size_t()> http_threads, OnDemand* on_demand)
    : registry_(registry),
      kv_(kv),
      metrics_(metrics),
      config_(config),
      http_threads_(std::move(http_threads)),
      on_demand_(on_demand),
      expected_auth_("Bearer " + config.api_token) {}

bool HttpApi::authorized(const httplib::Request& req) const {
  const std::string got = req.get_header_value("Authorization");
  // Constant time in the token's content (the length is not secret).
  return got.size() == expected_auth_.size() &&
         CRYPTO_memcmp(got.data(), expected_auth_.data(), got.size()) == 0;
}

httplib::Server::Handler HttpApi::wrap(bool needs_auth, Handler h) {
  return [this, needs_auth, h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    try {
      if (needs_auth && !authorized(req)) {
        res.set_header("WWW-Authenticate", "Bearer");
        throw ApiError(401, req.has_header("Authorization")
                                ? "wrong API token; send 'Authorization: Bearer <api token>' with "
                                  "the manager's api_token"
                                : "missing API token; send 'Authorization: Bearer <api token>'");
      }
      h(req, res);
    } catch (const ApiError& e) {
      send_error(res, e.status(), e.what());
    } catch (const std::exception& e) {
      log::error(req.method + " " + req.path + ": " + e.what());
      send_error(res, 500,
                 std::string("internal error: ") + e.what() +
                     "; nothing was changed, retry or check the manager's log");
    }
  };
}

void HttpApi::install(httplib::Server& s) {
  s.set_payload_max_length(kMaxBodyBytes);
  // Runs for every status >= 400; fills in a JSON body where the handler set none (routing
  // misses, oversized bodies).
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) send_error(res, res.status, default_error(res.status, req));
  });
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        send_error(res, 500, "internal error: " + what);
      });
  s.set_logger([this](const httplib::Request&, const httplib::Response& res) {
    metrics_.count_http(res.status);
  });

  using R = httplib::Request;
  using S = httplib::Response;
  s.Get("/v1/health", wrap(false, [this](const R&, S& res) {
          send_json(res, 200,
                    {{"status", "ok"},
                     {"version", HPCLESS_VERSION},
                     {"nodes_alive", registry_.stats().nodes_alive}});
        }));
  s.Get("/metrics", wrap(true, [this](const R&, S& res) {
          res.set_content(metrics_text(), "text/plain; version=0.0.4");
        }));
  s.Post("/v1/nodes", wrap(true, [this](const R& q, S& r) { post_node(q, r); }));
  s.Get("/v1/nodes", wrap(true, [this](const R& q, S& r) { get_nodes(q, r); }));
  s.Delete(R"(/v1/nodes/([^/]+))", wrap(true, [this](const R& q, S& r) { delete_node(q, r); }));
  s.Post(R"(/v1/nodes/([^/]+)/heartbeat)",
         wrap(true, [this](const R& q, S& r) { heartbeat(q, r); }));
  s.Post("/v1/leases", wrap(true, [this](const R& q, S& r) { post_lease(q, r); }));
  s.Get("/v1/leases", wrap(true, [this](const R& q, S& r) { list_leases(q, r); }));
  s.Get(R"(/v1/leases/([^/]+))", wrap(true, [this](const R& q, S& r) { get_lease(q, r); }));
  s.Post(R"(/v1/leases/([^/]+)/renew)",
         wrap(true, [this](const R& q, S& r) { renew_lease(q, r); }));
  s.Delete(R"(/v1/leases/([^/]+))", wrap(true, [this](const R& q, S& r) { delete_lease(q, r); }));
  s.Put(R"(/v1/kv/(.+))", wrap(true, [this](const R& q, S& r) { kv_put(q, r); }));
  s.Get(R"(/v1/kv/(.+))", wrap(true, [this](const R& q, S& r) { kv_get(q, r); }));
  s.Delete(R"(/v1/kv/(.+))", wrap(true, [this](const R& q, S& r) { kv_delete(q, r); }));
}

void HttpApi::post_node(const httplib::Request& req, httplib::Response& res) {
  const NodeRegistration r = parse_node_registration(parse_json_object(req.body));
  registry_.register_node(r);
  send_json(res, 200,
            {{"name", r.name},
             {"heartbeat_interval_ms", registry_.settings().heartbeat_interval_ms},
             {"dead_after_ms", registry_.settings().dead_after_ms}});
}

void HttpApi::heartbeat(const httplib::Request& req, httplib::Response& res) {
  const std::string name = req.matches[1];
  if (!valid_name(name))
    throw ApiError(404, "node '" + name.substr(0, 64) +
                            "' is not registered; register it with POST /v1/nodes");
  const Heartbeat hb =
      parse_heartbeat(req.body.empty() ? json::object() : parse_json_object(req.body));
  send_json(res, 200, registry_.heartbeat(name, hb));
}

void HttpApi::get_nodes(const httplib::Request&, httplib::Response& res) {
  json nodes = json::array();
  for (const auto& v : registry_.nodes()) nodes.push_back(node_json(v));
  send_json(res, 200, {{"nodes", std::move(nodes)}});
}

void HttpApi::delete_node(const httplib::Request& req, httplib::Response& res) {
  const std::string name = req.matches[1];
  if (!valid_name(name)) throw ApiError(404, "node '" + name.substr(0, 64) + "' is not registered");
  registry_.deregister_node(name);
  send_json(res, 200, {{"name", name}, {"state", "dead"}});
}

void HttpApi::post_lease(const httplib::Request& req, httplib::Response& res) {
  const LeaseRequest r = parse_lease_request(parse_json_object(req.body), config_);
  if (on_demand_ == nullptr) {
    send_json(res, 201, to_json(registry_.grant(r)));
    return;
  }
  // Bad input was refused above (400); a 409 from placement means the pool lacks capacity, which
  // an on-demand executor may add.
  std::string refusal;
  try {
    GrantOptions o;
    o.record_refusal = false;
    send_json(res, 201, to_json(registry_.grant(r, o)));
    return;
  } catch (const ApiError& e) {
    if (e.status() != 409) throw;
    refusal = e.what();
  }
  send_json(res, 201, to_json(on_demand_->grant(r, refusal)));
}

void HttpApi::list_leases(const httplib::Request& req, httplib::Response& res) {
  std::optional<LeaseState> state;
  if (req.has_param("state")) {
    const std::string s = req.get_param_value("state");
    state = parse_lease_state(s);
    if (!state)
      throw ApiError(400, "parameter 'state' must be active, released, expired or failed (got '" +
                              s.substr(0, 32) + "')");
  }
  size_t limit = 1000;
  if (req.has_param("limit")) {
    const std::string s = req.get_param_value("limit");
    if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(s) < 1 || std::stoul(s) > 10000)
      throw ApiError(400, "parameter 'limit' must be an integer from 1 to 10000");
    limit = std::stoul(s);
  }
  json leases = json::array();
  for (const auto& l : registry_.leases(state, limit)) leases.push_back(to_json(l));
  send_json(res, 200, {{"leases", std::move(leases)}});
}

void HttpApi::get_lease(const httplib::Request& req, httplib::Response& res) {
  send_json(res, 200, to_json(registry_.get(lease_id_param(req))));
}

void HttpApi::renew_lease(const httplib::Request& req, httplib::Response& res) {
  const std::string id = lease_id_param(req);
  const int64_t ms = parse_renew_ms(parse_json_object(req.body), config_);
  send_json(res, 200, to_json(registry_.renew(id, ms)));
}

void HttpApi::delete_lease(const httplib::Request& req, httplib::Response& res) {
  send_json(res, 200, to_json(registry_.release(lease_id_param(req))));
}

void HttpApi::kv_put(const httplib::Request& req, httplib::Response& res) {
  kv_.put(kv_key(req), req.body);
  res.status = 204;
}

void HttpApi::kv_get(const httplib::Request& req, httplib::Response& res) {
  const std::string key = kv_key(req);
  int64_t wait_ms = 0;
  if (req.has_param("wait_ms")) {
    const std::string s = req.get_param_value("wait_ms");
    if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos ||
        std::stol(s) > kMaxKvWaitMs)
      throw ApiError(400, "parameter 'wait_ms' must be an integer from 0 to " +
                              std::to_string(kMaxKvWaitMs) + " (got '" + s.substr(0, 16) + "')");
    wait_ms = std::stol(s);
  }
  auto value = kv_.get(key, std::chrono::milliseconds(wait_ms));
  if (!value)
    throw ApiError(404, "key '" + key.substr(0, 128) + "' not found" +
                            (wait_ms > 0 ? " within " + std::to_string(wait_ms) + " ms" : ""));
  res.status = 200;
  res.set_content(std::move(*value), "application/octet-stream");
}

void HttpApi::kv_delete(const httplib::Request& req, httplib::Response& res) {
  const std::string key = kv_key(req);
  const bool prefix = req.has_param("prefix") && req.get_param_value("prefix") != "0";
  const size_t n = prefix ? kv_.erase_prefix(key) : kv_.erase(key);
  send_json(res, 200, {{"deleted", n}});
}

std::string HttpApi::metrics_text() const {
  const RegistryStats s = registry_.stats();
  const KvStats kv = kv_.stats();
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto sample = [&](const std::string& name, uint64_t v) {
    out += name + " " + std::to_string(v) + "\n";
  };
  family("hpcless_nodes", "gauge", "Registered nodes by state.");
  sample("hpcless_nodes{state=\"alive\"}", s.nodes_alive);
  sample("hpcless_nodes{state=\"dead\"}", s.nodes_dead);
  family("hpcless_cores", "gauge",
         "Cores by state: free on alive nodes, or held by active leases.");
  sample("hpcless_cores{state=\"free\"}", s.cores_free);
  sample("hpcless_cores{state=\"leased\"}", s.cores_leased);
  family("hpcless_leases_active", "gauge", "Active leases.");
  sample("hpcless_leases_active", s.leases_active);
  family("hpcless_lease_grants_total", "counter", "Leases granted by this process.");
  sample("hpcless_lease_grants_total", metrics_.grants.load());
  family("hpcless_lease_refusals_total", "counter", "Lease requests refused (409).");
  sample("hpcless_lease_refusals_total", metrics_.refusals.load());
  family("hpcless_lease_expiries_total", "counter", "Leases that reached their expiry.");
  sample("hpcless_lease_expiries_total", metrics_.expiries.load());
  family("hpcless_lease_failures_total", "counter",
         "Leases failed (dead node or executor report).");
  sample("hpcless_lease_failures_total", metrics_.failures.load());
  family("hpcless_lease_releases_total", "counter", "Leases released by their clients.");
  sample("hpcless_lease_releases_total", metrics_.releases.load());
  family("hpcless_on_demand_submits_total", "counter",
         "On-demand executor jobs submitted to Slurm.");
  sample("hpcless_on_demand_submits_total", metrics_.on_demand_submits.load());
  family("hpcless_on_demand_grants_total", "counter",
         "Leases granted on an on-demand executor started for them.");
  sample("hpcless_on_demand_grants_total", metrics_.on_demand_grants.load());
  family("hpcless_on_demand_failures_total", "counter",
         "On-demand attempts that ended in a refusal (sbatch failed, deadline, job ended).");
  sample("hpcless_on_demand_failures_total", metrics_.on_demand_failures.load());
  family("hpcless_on_demand_waiting", "gauge",
         "Lease requests waiting for their on-demand executor.");
  sample("hpcless_on_demand_waiting", metrics_.on_demand_waiting.load());
  family("hpcless_http_requests_total", "counter", "HTTP requests answered, by status code.");
  for (size_t code = 100; code < metrics_.http_by_code.size(); ++code)
    if (const uint64_t n = metrics_.http_by_code[code].load())
      sample("hpcless_http_requests_total{code=\"" + std::to_string(code) + "\"}", n);
  family("hpcless_kv_keys", "gauge", "Keys in the rendezvous store.");
  sample("hpcless_kv_keys", kv.keys);
  family("hpcless_kv_bytes", "gauge", "Bytes of keys and values in the rendezvous store.");
  sample("hpcless_kv_bytes", kv.bytes);
  family("hpcless_kv_waiters", "gauge", "Rendezvous reads waiting for their key.");
  sample("hpcless_kv_waiters", kv.waiters);
  family("hpcless_http_threads", "gauge", "Threads serving HTTP connections.");
  sample("hpcless_http_threads", http_threads_ ? http_threads_() : 0);
  return out;
}

}  // namespace hpcless::manager
