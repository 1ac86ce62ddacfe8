// HTTP client of the manager's REST API (docs/manager-api.md): leases, nodes, health.
//
// Every call is one HTTP request on its own TCP connection with a connect timeout and a
// read/write timeout (ManagerOptions). No state is shared between calls, so one LeaseClient may
// be used from several threads at once.
//
// Errors (all derive from hpcless::Error; what() is one actionable line):
//   ManagerError   the manager answered with 4xx/5xx: status() is the HTTP code; what() carries
//                  the manager's reason (409: "need 8 cores, 3 free on 1 alive node"; 401:
//                  "... check HPCLESS_API_TOKEN").
//   IoError        the manager cannot be reached (connection refused, reset); names its URL.
//   TimeoutError   no answer within the timeouts.
//   ProtocolError  the answer is not the JSON the API promises.
//   ConfigError    a bad URL, token file or request field (checked before sending).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/base/json.hpp"

namespace hpcless::client {

class ManagerError : public Error {
 public:
  ManagerError(int http_status, const std::string& what) : Error(what), status_(http_status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

struct ManagerOptions {
  std::string url;        // "http://HOST:PORT" (a bare "HOST:PORT" means http)
  std::string api_token;  // sent as "Authorization: Bearer <token>"
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{10000};  // each of send and receive
  // Receiving the answer to POST /v1/leases: a manager with on-demand executors answers once the
  // executor it started through Slurm has registered (its on_demand.start_deadline_s, 60 s by
  // default), so this is longer. The larger of the two applies.
  std::chrono::milliseconds acquire_timeout{300000};

  // The manager URL from `url_flag`, else $HPCLESS_MANAGER; the token from `token_file` (first
  // line, surrounding whitespace dropped), else $HPCLESS_API_TOKEN. Throws ConfigError naming
  // what is missing (no URL) or unreadable (token file). A missing token is allowed here: the
  // manager then answers 401 with a hint.
  static ManagerOptions resolve(const std::optional<std::string>& url_flag,
                                const std::optional<std::string>& token_file);
};

// Cumulative accounting of a lease (summed over its allocations by the manager).
struct LeaseUsage {
  double allocated_core_s = 0;
  double busy_core_s = 0;
  double hot_poll_core_s = 0;
  double idle_core_s = 0;
  uint64_t invocations = 0;
  uint64_t errors = 0;
};

// One node's part of a lease: the worker endpoint and the token it accepts.
struct LeaseAllocation {
  std::string node;
  std::string address;  // "HOST:PORT" of the executor serving this lease on that node
  std::vector<int> cores;
  uint64_t memory_mb = 0;
  std::string token;
};

struct LeaseInfo {
  std::string id;
  std::string state;  // "active", "released", "expired" or "failed"
  int cores = 0;
  uint64_t memory_mb = 0;
  std::string transport = "tcp";
  int32_t hot_timeout_ms = -1;
  int64_t created_ms = 0;
  int64_t expires_at_ms = 0;  // Unix epoch ms
  std::optional<int64_t> ended_ms;
  std::optional<std::string> reason;
  // Active leases: what the holder should know now (a node's batch job ends soon, the lease was
  // cut short because it ends sooner than planned).
  std::vector<std::string> warnings;
  std::vector<LeaseAllocation> allocations;
  LeaseUsage usage;
  nlohmann::json raw;  // the manager's answer as received (tokens included)

  bool active() const noexcept { return state == "active"; }
  // The answer without tokens, for printing and results files.
  nlohmann::json redacted() const;
};

struct LeaseRequest {
  int cores = 1;
  uint64_t memory_mb = 0;  // total over the allocations; 0: no limit
  double seconds = 60;     // sent as an integer when it is one
  std::string transport = "tcp";
  std::optional<int32_t> hot_timeout_ms;  // -1, 0 or N ms; unset: the manager's default
  std::string policy;                     // "first-fit" or "spread"; empty: the manager's default

  nlohmann::json to_json() const;
};

struct NodeInfo {
  std::string name;
  std::string address;
  std::vector<int> cores;
  uint64_t memory_mb = 0;
  int free_cores = 0;
  std::string state;  // "alive" or "dead"
  int64_t last_heartbeat_ms = 0;
  std::vector<std::string> transports{"tcp"};  // "rdma" when the node has an RDMA device
};

struct HealthInfo {
  std::string status;
  std::string version;
  int nodes_alive = 0;
};

// Parsers of the API's JSON (exposed for tests and the CLI). Throw ProtocolError naming the
// field that is missing or has the wrong type.
LeaseInfo lease_from_json(const nlohmann::json& j);
NodeInfo node_from_json(const nlohmann::json& j);

class LeaseClient {
 public:
  // Throws ConfigError for a URL that is not http://HOST:PORT.
  explicit LeaseClient(ManagerOptions options);

  const std::string& url() const noexcept { return url_; }
  const ManagerOptions& options() const noexcept { return opts_; }

  LeaseInfo acquire(const LeaseRequest& request) const;          // POST /v1/leases (201)
  LeaseInfo get(const std::string& id) const;                    // GET /v1/leases/{id}
  LeaseInfo renew(const std::string& id, double seconds) const;  // POST /v1/leases/{id}/renew
  LeaseInfo release(const std::string& id) const;                // DELETE /v1/leases/{id}
  // GET /v1/leases[?state=S]; an empty state lists every lease.
  std::vector<LeaseInfo> list(const std::string& state = "") const;
  std::vector<NodeInfo> nodes() const;  // GET /v1/nodes
  HealthInfo health() const;            // GET /v1/health (no token needed)

  // One request with the token; returns the parsed JSON body of a 2xx answer whose code is
  // `expect` (0: any 2xx). Throws as described at the top of this file.
  // `read_timeout` 0: ManagerOptions::request_timeout.
  nlohmann::json request(std::string_view method, const std::string& path,
                         const nlohmann::json* body, int expect = 0,
                         std::chrono::milliseconds read_timeout = {}) const;

 private:
  ManagerOptions opts_;
  std::string url_;  // normalized: "http://host:port"
};

// Lease ids travel in URL paths: letters, digits, '-', '_' and '.' only (ConfigError otherwise).
void check_lease_id(std::string_view id);

}  // namespace hpcless::client
