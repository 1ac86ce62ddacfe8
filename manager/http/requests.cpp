#include "manager/http/requests.hpp"

#include <cmath>
#include <optional>
#include <set>

#include "manager/core/api_error.hpp"

namespace hpcless::manager {

using nlohmann::json;

namespace {

constexpr int64_t kMaxMemoryMb = int64_t{1} << 40;

[[noreturn]] void bad(const std::string& msg) { throw ApiError(400, msg); }

// A short rendering of what the client sent, for error messages.
std::string shown(const json& v) {
  std::string s = v.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

const json* field(const json& o, const char* name) {
  auto it = o.find(name);
  if (it == o.end() || it->is_null()) return nullptr;
  return &*it;
}

// `prefix` locates nested fields in messages ("leases[].").
const json& required(const json& o, const char* name, const char* what, const char* prefix = "") {
  const json* v = field(o, name);
  if (!v) bad(std::string("field '") + prefix + name + "' is missing: it must be " + what);
  return *v;
}

int64_t integer(const json& v, const char* name, int64_t lo, int64_t hi) {
  const std::string range = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (!v.is_number_integer())
    bad(std::string("field '") + name + "' must be " + range + " (got " + shown(v) + ")");
  const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(hi) &&
                                                     static_cast<int64_t>(v.get<uint64_t>()) >= lo
                                               : v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
  if (!in_range)
    bad(std::string("field '") + name + "' must be " + range + " (got " + shown(v) + ")");
  return v.get<int64_t>();
}

std::optional<int64_t> opt_integer(const json& o, const char* name, int64_t lo, int64_t hi) {
  const json* v = field(o, name);
  if (!v) return std::nullopt;
  return integer(*v, name, lo, hi);
}

std::string string_field(const json& v, const char* name, size_t max_len) {
  if (!v.is_string())
    bad(std::string("field '") + name + "' must be a string (got " + shown(v) + ")");
  std::string s = v.get<std::string>();
  if (s.empty() || s.size() > max_len)
    bad(std::string("field '") + name + "' must be 1.." + std::to_string(max_len) + " characters");
  return s;
}

bool valid_transport(const std::string& t) {
  if (t.empty() || t.size() > 16) return false;
  for (char c : t)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

// Seconds as a number (fractions allowed) -> milliseconds, 1 ms .. max_lease_seconds.
int64_t seconds_ms(const json& o, const ManagerConfig& c) {
  const std::string what = "a number of seconds above 0 and at most " +
                           std::to_string(c.max_lease_seconds) + " (max_lease_seconds)";
  const json& v = required(o, "seconds", what.c_str());
  if (!v.is_number()) bad("field 'seconds' must be " + what + " (got " + shown(v) + ")");
  const double s = v.get<double>();
  if (!std::isfinite(s) || s <= 0 || s > static_cast<double>(c.max_lease_seconds))
    bad("field 'seconds' must be " + what + " (got " + shown(v) + ")");
  const auto ms = static_cast<int64_t>(std::llround(s * 1000.0));
  if (ms < 1) bad("field 'seconds' must be at least 0.001 (got " + shown(v) + ")");
  return ms;
}

double non_negative(const json& u, const char* name) {
  const json* v = field(u, name);
  if (!v) return 0;
  if (!v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() < 0)
    bad(std::string("field 'usage.") + name + "' must be a non-negative number (got " + shown(*v) +
        ")");
  return v->get<double>();
}

}  // namespace

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  return true;
}

json parse_json_object(const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1, column 12: ...".
    std::string why = e.what();
    if (auto p = why.find("] "); p != std::string::npos) why = why.substr(p + 2);
    bad("the body is not valid JSON (" + why.substr(0, 200) +
        "); send a JSON object with Content-Type: application/json");
  }
  if (!j.is_object())
    bad("the body must be a JSON object (got " + std::string(j.type_name()) + ")");
  return j;
}

LeaseRequest parse_lease_request(const json& j, const ManagerConfig& c) {
  LeaseRequest r;
  const std::string cores_what = "an integer from 1 to " + std::to_string(kMaxLeaseCores);
  r.cores = static_cast<int>(
      integer(required(j, "cores", cores_what.c_str()), "cores", 1, kMaxLeaseCores));
  r.duration_ms = seconds_ms(j, c);
  r.memory_mb = static_cast<uint64_t>(opt_integer(j, "memory_mb", 0, kMaxMemoryMb).value_or(0));
  if (const json* t = field(j, "transport")) {
    r.transport = string_field(*t, "transport", 16);
    if (!valid_transport(r.transport))
      bad("field 'transport' must be a transport name such as \"tcp\" or \"rdma\" (got " +
          shown(*t) + ")");
  }
  r.hot_timeout_ms = static_cast<int32_t>(
      opt_integer(j, "hot_timeout_ms", -1, INT32_MAX).value_or(c.default_hot_timeout_ms));
  r.policy = c.default_policy;
  if (const json* p = field(j, "policy")) {
    auto parsed = p->is_string() ? parse_policy(p->get<std::string>()) : std::nullopt;
    if (!parsed) bad("field 'policy' must be \"first-fit\" or \"spread\" (got " + shown(*p) + ")");
    r.policy = *parsed;
  }
  return r;
}

int64_t parse_renew_ms(const json& j, const ManagerConfig& c) { return seconds_ms(j, c); }

NodeRegistration parse_node_registration(const json& j) {
  NodeRegistration r;
  r.name = string_field(required(j, "name", "a node name"), "name", 64);
  if (!valid_name(r.name))
    bad("field 'name' must be 1..64 characters of A-Z a-z 0-9 . _ - (got " + shown(j.at("name")) +
        ")");
  r.address = string_field(required(j, "address", "\"host:port\" of the executor"), "address", 256);
  const auto colon = r.address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == r.address.size() ||
      r.address.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
      r.address.size() - colon - 1 > 5 || std::stoul(r.address.substr(colon + 1)) > 65535 ||
      std::stoul(r.address.substr(colon + 1)) == 0)
    bad("field 'address' must be \"host:port\" with a port 1..65535 (got " +
        shown(j.at("address")) + ")");

  const json& cores = required(j, "cores", "a list of core numbers");
  if (!cores.is_array() || cores.empty() || cores.size() > 4096)
    bad("field 'cores' must be a list of 1..4096 core numbers (got " + shown(cores) + ")");
  std::set<int64_t> seen;
  for (const auto& c : cores) {
    const int64_t v = integer(c, "cores[]", 0, 1 << 20);
    if (!seen.insert(v).second) bad("field 'cores' lists core " + std::to_string(v) + " twice");
    r.cores.push_back(static_cast<int>(v));
  }
  r.memory_mb = static_cast<uint64_t>(opt_integer(j, "memory_mb", 0, kMaxMemoryMb).value_or(0));
  if (const json* t = field(j, "transports")) {
    if (!t->is_array() || t->empty() || t->size() > 8)
      bad("field 'transports' must be a list of 1..8 transport names such as [\"tcp\"] (got " +
          shown(*t) + ")");
    r.transports.clear();
    for (const auto& e : *t) {
      if (!e.is_string() || !valid_transport(e.get<std::string>()))
        bad("field 'transports' must hold transport names such as \"tcp\" (got " + shown(e) + ")");
      r.transports.push_back(e.get<std::string>());
    }
  }
  r.walltime_end_ms = opt_integer(j, "walltime_end_ms", 0, INT64_MAX).value_or(0);
  r.job_started_ms = opt_integer(j, "job_started_ms", 0, INT64_MAX).value_or(0);
  return r;
}

Heartbeat parse_heartbeat(const json& j) {
  Heartbeat hb;
  hb.walltime_end_ms = opt_integer(j, "walltime_end_ms", 0, INT64_MAX);
  if (const json* leaving = field(j, "leaving")) {
    if (!leaving->is_string() || leaving->get<std::string>().empty())
      bad("field 'leaving' must be a non-empty string (why the node leaves)");
    hb.leaving = leaving->get<std::string>().substr(0, 1024);
  }
  std::vector<LeaseReport>& out = hb.reports;
  const json* leases = field(j, "leases");
  if (!leases) return hb;
  if (!leases->is_array() || leases->size() > 100000)
    bad("field 'leases' must be a list of {\"id\", \"state\", \"reason\"?, \"usage\"?}");
  for (const auto& e : *leases) {
    if (!e.is_object()) bad("field 'leases[]' entries must be objects (got " + shown(e) + ")");
    LeaseReport r;
    r.id = string_field(required(e, "id", "a lease id", "leases[]."), "leases[].id", 64);
    const json& st = required(e, "state", "\"running\", \"failed\" or \"stopped\"", "leases[].");
    const std::string s = st.is_string() ? st.get<std::string>() : "";
    if (s == "running")
      r.state = LeaseReport::State::kRunning;
    else if (s == "failed")
      r.state = LeaseReport::State::kFailed;
    else if (s == "stopped")
      r.state = LeaseReport::State::kStopped;
    else
      bad("field 'leases[].state' must be \"running\", \"failed\" or \"stopped\" (got " +
          shown(st) + ")");
    if (const json* reason = field(e, "reason")) {
      if (!reason->is_string()) bad("field 'leases[].reason' must be a string");
      r.reason = reason->get<std::string>().substr(0, 1024);
    }
    if (const json* u = field(e, "usage")) {
      if (!u->is_object()) bad("field 'leases[].usage' must be an object");
      Usage usage;
      usage.allocated_core_s = non_negative(*u, "allocated_core_s");
      usage.busy_core_s = non_negative(*u, "busy_core_s");
      usage.hot_poll_core_s = non_negative(*u, "hot_poll_core_s");
      usage.idle_core_s = non_negative(*u, "idle_core_s");
      usage.invocations =
          static_cast<uint64_t>(opt_integer(*u, "invocations", 0, INT64_MAX).value_or(0));
      usage.errors = static_cast<uint64_t>(opt_integer(*u, "errors", 0, INT64_MAX).value_or(0));
      r.usage = usage;
    }
    out.push_back(std::move(r));
  }
  return hb;
}

}  // namespace hpcless::manager
