#include "client/lib/lease_client.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>

namespace hpcless::client {

using nlohmann::json;

namespace {

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// "http://h:p", "h:p" -> "http://h:p". Anything else (https, paths, no port) is refused: the
// manager speaks plain HTTP on a cluster-internal address.
std::string normalize_url(std::string url) {
  url = trim(std::move(url));
  if (url.empty())
    throw ConfigError("no manager URL: give --manager http://HOST:PORT or set HPCLESS_MANAGER");
  constexpr std::string_view kScheme = "http://";
  std::string rest = url;
  if (url.rfind(kScheme, 0) == 0) {
    rest = url.substr(kScheme.size());
  } else if (url.find("://") != std::string::npos) {
    throw ConfigError("manager URL '" + url + "': only http://HOST:PORT is supported");
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto colon = rest.rfind(':');
  if (rest.empty() || rest.find('/') != std::string::npos || colon == std::string::npos ||
      colon == 0 || colon + 1 == rest.size() ||
      rest.find_first_not_of("0123456789", colon + 1) != std::string::npos)
    throw ConfigError("manager URL '" + url + "' is not http://HOST:PORT");
  return std::string(kScheme) + rest;
}

// The {"error": "..."} text of an error answer, or the raw body (shortened) when it is not JSON.
std::string error_text(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string())
    return j["error"].get<std::string>();
  std::string b = trim(body);
  if (b.size() > 200) b = b.substr(0, 200) + "...";
  return b.empty() ? "(no message)" : b;
}

template <class T>
T field(const json& j, const char* name, const char* what) {
  auto it = j.find(name);
  if (it == j.end())
    throw ProtocolError(std::string("manager answer: ") + what + " has no '" + name + "'");
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw ProtocolError(std::string("manager answer: ") + what + " field '" + name +
                        "' has the wrong type");
  }
}

template <class T>
T field_or(const json& j, const char* name, T fallback, const char* what) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return fallback;
  return field<T>(j, name, what);
}

std::string method_path(std::string_view method, const std::string& path) {
  return std::string(method) + " " + path;
}

}  // namespace

ManagerOptions ManagerOptions::resolve(const std::optional<std::string>& url_flag,
                                       const std::optional<std::string>& token_file) {
  ManagerOptions o;
  if (url_flag) {
    o.url = *url_flag;
  } else if (const char* env = std::getenv("HPCLESS_MANAGER"); env != nullptr && *env != 0) {
    o.url = env;
  } else {
    throw ConfigError("no manager URL: give --manager http://HOST:PORT or set HPCLESS_MANAGER");
  }
  if (token_file) {
    std::ifstream in(*token_file);
    if (!in) throw ConfigError("cannot read token file '" + *token_file + "'");
    std::string line;
    std::getline(in, line);
    o.api_token = trim(line);
    if (o.api_token.empty()) throw ConfigError("token file '" + *token_file + "' is empty");
  } else if (const char* env = std::getenv("HPCLESS_API_TOKEN"); env != nullptr) {
    o.api_token = trim(env);
  }
  return o;
}

json LeaseInfo::redacted() const {
  json j = raw;
  if (j.contains("allocations") && j["allocations"].is_array())
    for (auto& a : j["allocations"])
      if (a.is_object() && a.contains("token")) a["token"] = "(redacted)";
  return j;
}

json LeaseRequest::to_json() const {
  json j;
  j["cores"] = cores;
  j["memory_mb"] = memory_mb;
  // Whole seconds go out as integers: a strict server may accept only those.
  if (std::isfinite(seconds) && seconds == std::floor(seconds) && std::fabs(seconds) < 1e15)
    j["seconds"] = static_cast<int64_t>(seconds);
  else
    j["seconds"] = seconds;
  j["transport"] = transport;
  if (hot_timeout_ms) j["hot_timeout_ms"] = *hot_timeout_ms;
  if (!policy.empty()) j["policy"] = policy;
  return j;
}

LeaseInfo lease_from_json(const json& j) {
  if (!j.is_object()) throw ProtocolError("manager answer: a lease is not a JSON object");
  const char* what = "lease";
  LeaseInfo l;
  l.id = field<std::string>(j, "id", what);
  l.state = field<std::string>(j, "state", what);
  l.cores = field<int>(j, "cores", what);
  l.memory_mb = field_or<uint64_t>(j, "memory_mb", 0, what);
  l.transport = field_or<std::string>(j, "transport", "tcp", what);
  l.hot_timeout_ms = field_or<int32_t>(j, "hot_timeout_ms", -1, what);
  l.created_ms = field_or<int64_t>(j, "created_ms", 0, what);
  l.expires_at_ms = field<int64_t>(j, "expires_at_ms", what);
  if (j.contains("ended_ms") && !j["ended_ms"].is_null())
    l.ended_ms = field<int64_t>(j, "ended_ms", what);
  if (j.contains("reason") && !j["reason"].is_null())
    l.reason = field<std::string>(j, "reason", what);
  if (j.contains("warnings")) l.warnings = field<std::vector<std::string>>(j, "warnings", what);
  const json allocs = field_or<json>(j, "allocations", json::array(), what);
  if (!allocs.is_array()) throw ProtocolError("manager answer: lease allocations is not a list");
  for (const auto& a : allocs) {
    const char* awhat = "lease allocation";
    if (!a.is_object()) throw ProtocolError("manager answer: an allocation is not an object");
    LeaseAllocation la;
    la.node = field<std::string>(a, "node", awhat);
    la.address = field<std::string>(a, "address", awhat);
    la.cores = field_or<std::vector<int>>(a, "cores", {}, awhat);
    la.memory_mb = field_or<uint64_t>(a, "memory_mb", 0, awhat);
    la.token = field_or<std::string>(a, "token", "", awhat);
    l.allocations.push_back(std::move(la));
  }
  if (j.contains("usage") && j["usage"].is_object()) {
    const json& u = j["usage"];
    const char* uwhat = "lease usage";
    l.usage.allocated_core_s = field_or<double>(u, "allocated_core_s", 0, uwhat);
    l.usage.busy_core_s = field_or<double>(u, "busy_core_s", 0, uwhat);
    l.usage.hot_poll_core_s = field_or<double>(u, "hot_poll_core_s", 0, uwhat);
    l.usage.idle_core_s = field_or<double>(u, "idle_core_s", 0, uwhat);
    l.usage.invocations = field_or<uint64_t>(u, "invocations", 0, uwhat);
    l.usage.errors = field_or<uint64_t>(u, "errors", 0, uwhat);
  }
  l.raw = j;
  return l;
}

NodeInfo node_from_json(const json& j) {
  if (!j.is_object()) throw ProtocolError("manager answer: a node is not a JSON object");
  const char* what = "node";
  NodeInfo n;
  n.name = field<std::string>(j, "name", what);
  n.address = field_or<std::string>(j, "address", "", what);
  n.cores = field_or<std::vector<int>>(j, "cores", {}, what);
  n.memory_mb = field_or<uint64_t>(j, "memory_mb", 0, what);
  n.free_cores = field_or<int>(j, "free_cores", 0, what);
  n.state = field_or<std::string>(j, "state", "", what);
  n.last_heartbeat_ms = field_or<int64_t>(j, "last_heartbeat_ms", 0, what);
  n.transports = field_or<std::vector<std::string>>(j, "transports", {"tcp"}, what);
  return n;
}

void check_lease_id(std::string_view id) {
  const bool ok =
      !id.empty() && id.size() <= 128 && id.front() != '-' &&
      std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
  if (!ok)
    throw ConfigError("invalid lease id '" + std::string(id) +
                      "': expected letters, digits, '-', '_' or '.' such as L000042");
}

LeaseClient::LeaseClient(ManagerOptions options)
    : opts_(std::move(options)), url_(normalize_url(opts_.url)) {
  if (opts_.connect_timeout.count() <= 0 || opts_.request_timeout.count() <= 0)
    throw ConfigError("manager timeouts must be positive");
}

json LeaseClient::request(std::string_view method, const std::string& path, const json* body,
                          int expect, std::chrono::milliseconds read_timeout) const {
  httplib::Client http(url_);
  const auto ct = opts_.connect_timeout;
  const auto rt = read_timeout.count() > 0 ? read_timeout : opts_.request_timeout;
  http.set_connection_timeout(ct.count() / 1000, (ct.count() % 1000) * 1000);
  http.set_read_timeout(rt.count() / 1000, (rt.count() % 1000) * 1000);
  http.set_write_timeout(rt.count() / 1000, (rt.count() % 1000) * 1000);
  http.set_keep_alive(false);
  httplib::Headers headers;
  if (!opts_.api_token.empty()) headers.emplace("Authorization", "Bearer " + opts_.api_token);
  const std::string payload = body != nullptr ? body->dump() : std::string();

  httplib::Result res{nullptr, httplib::Error::Unknown};
  if (method == "GET") {
    res = http.Get(path, headers);
  } else if (method == "POST") {
    res = http.Post(path, headers, payload, "application/json");
  } else if (method == "DELETE") {
    res = http.Delete(path, headers);
  } else if (method == "PUT") {
    res = http.Put(path, headers, payload, "application/json");
  } else {
    throw ConfigError("unsupported HTTP method " + std::string(method));
  }

  const std::string where = method_path(method, path) + " to the manager at " + url_;
  if (!res) {
    switch (res.error()) {
      case httplib::Error::Connection:
        throw IoError("cannot connect to the manager at " + url_ +
                      " (connection refused or unreachable): is hpcless-manager running there? "
                      "check --manager or HPCLESS_MANAGER");
      case httplib::Error::ConnectionTimeout:
        throw TimeoutError("connecting to the manager at " + url_ + " timed out after " +
                           std::to_string(ct.count()) + " ms");
      case httplib::Error::Read:
        throw TimeoutError(where + ": no complete answer within " + std::to_string(rt.count()) +
                           " ms (or the manager closed the connection)");
      default:
        throw IoError(where + " failed: " + httplib::to_string(res.error()));
    }
  }
  const int code = res->status;
  if (code == 401)
    throw ManagerError(code, "the manager at " + url_ +
                                 " refused the API token (401: " + error_text(res->body) +
                                 "): check HPCLESS_API_TOKEN or --token-file");
  if (code < 200 || code >= 300) {
    const std::string text = error_text(res->body);
    if (code == 409) throw ManagerError(code, text);  // the refusal, as the manager words it
    throw ManagerError(code, method_path(method, path) + ": " + std::to_string(code) + " " + text);
  }
  if (expect != 0 && code != expect)
    throw ProtocolError(where + ": expected HTTP " + std::to_string(expect) + ", got " +
                        std::to_string(code));
  if (res->body.empty()) return json(nullptr);
  json j = json::parse(res->body, nullptr, false);
  if (j.is_discarded())
    throw ProtocolError(where + ": the answer is not JSON (" + error_text(res->body) + ")");
  return j;
}

LeaseInfo LeaseClient::acquire(const LeaseRequest& r) const {
  if (r.cores < 1) throw ConfigError("a lease needs at least 1 core");
  if (!(r.seconds > 0) || !std::isfinite(r.seconds))
    throw ConfigError("a lease needs a positive number of seconds");
  if (r.hot_timeout_ms && *r.hot_timeout_ms < -1)
    throw ConfigError("hot timeout must be -1, 0 or a positive ms count");
  const json body = r.to_json();
  return lease_from_json(request("POST", "/v1/leases", &body, 201,
                                 std::max(opts_.request_timeout, opts_.acquire_timeout)));
}

LeaseInfo LeaseClient::get(const std::string& id) const {
  check_lease_id(id);
  return lease_from_json(request("GET", "/v1/leases/" + id, nullptr));
}

LeaseInfo LeaseClient::renew(const std::string& id, double seconds) const {
  check_lease_id(id);
  if (!(seconds > 0) || !std::isfinite(seconds))
    throw ConfigError("renewing needs a positive number of seconds");
  LeaseRequest tmp;
  tmp.seconds = seconds;
  json body;
  body["seconds"] = tmp.to_json()["seconds"];
  return lease_from_json(request("POST", "/v1/leases/" + id + "/renew", &body));
}

LeaseInfo LeaseClient::release(const std::string& id) const {
  check_lease_id(id);
  return lease_from_json(request("DELETE", "/v1/leases/" + id, nullptr));
}

std::vector<LeaseInfo> LeaseClient::list(const std::string& state) const {
  std::string path = "/v1/leases";
  if (!state.empty()) {
    if (state != "active" && state != "released" && state != "expired" && state != "failed")
      throw ConfigError("unknown lease state '" + state +
                        "': use active, released, expired or failed");
    path += "?state=" + state;
  }
  const json j = request("GET", path, nullptr);
  if (!j.is_object() || !j.contains("leases") || !j["leases"].is_array())
    throw ProtocolError("manager answer to GET " + path + " has no 'leases' list");
  std::vector<LeaseInfo> out;
  for (const auto& l : j["leases"]) out.push_back(lease_from_json(l));
  return out;
}

std::vector<NodeInfo> LeaseClient::nodes() const {
  const json j = request("GET", "/v1/nodes", nullptr);
  if (!j.is_object() || !j.contains("nodes") || !j["nodes"].is_array())
    throw ProtocolError("manager answer to GET /v1/nodes has no 'nodes' list");
  std::vector<NodeInfo> out;
  for (const auto& n : j["nodes"]) out.push_back(node_from_json(n));
  return out;
}

HealthInfo LeaseClient::health() const {
  const json j = request("GET", "/v1/health", nullptr);
  if (!j.is_object()) throw ProtocolError("manager answer to GET /v1/health is not an object");
  HealthInfo h;
  h.status = field_or<std::string>(j, "status", "", "health");
  h.version = field_or<std::string>(j, "version", "", "health");
  h.nodes_alive = field_or<int>(j, "nodes_alive", 0, "health");
  return h;
}

}  // namespace hpcless::client
