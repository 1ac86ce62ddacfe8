#include "manager/core/model.hpp"

#include <cstdio>

#include "comm/base/json.hpp"

namespace hpcless::manager {

const char* to_string(NodeState s) { return s == NodeState::kAlive ? "alive" : "dead"; }

const char* to_string(LeaseState s) {
  switch (s) {
    case LeaseState::kActive:
      return "active";
    case LeaseState::kReleased:
      return "released";
    case LeaseState::kExpired:
      return "expired";
    case LeaseState::kFailed:
      return "failed";
  }
  return "?";
}

const char* to_string(Policy p) { return p == Policy::kFirstFit ? "first-fit" : "spread"; }

std::optional<NodeState> parse_node_state(std::string_view s) {
  if (s == "alive") return NodeState::kAlive;
  if (s == "dead") return NodeState::kDead;
  return std::nullopt;
}

std::optional<LeaseState> parse_lease_state(std::string_view s) {
  if (s == "active") return LeaseState::kActive;
  if (s == "released") return LeaseState::kReleased;
  if (s == "expired") return LeaseState::kExpired;
  if (s == "failed") return LeaseState::kFailed;
  return std::nullopt;
}

std::optional<Policy> parse_policy(std::string_view s) {
  if (s == "first-fit") return Policy::kFirstFit;
  if (s == "spread") return Policy::kSpread;
  return std::nullopt;
}

Usage& Usage::operator+=(const Usage& o) {
  allocated_core_s += o.allocated_core_s;
  busy_core_s += o.busy_core_s;
  hot_poll_core_s += o.hot_poll_core_s;
  idle_core_s += o.idle_core_s;
  invocations += o.invocations;
  errors += o.errors;
  return *this;
}

Usage Lease::usage() const {
  Usage u;
  for (const auto& a : allocations) u += a.usage;
  return u;
}

const Allocation* Lease::allocation_on(std::string_view node) const {
  for (const auto& a : allocations)
    if (a.node == node) return &a;
  return nullptr;
}

Allocation* Lease::allocation_on(std::string_view node) {
  for (auto& a : allocations)
    if (a.node == node) return &a;
  return nullptr;
}

std::string lease_id_for(int64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "L%06lld", static_cast<long long>(seq));
  return buf;
}

nlohmann::json to_json(const Usage& u) {
  return {{"allocated_core_s", u.allocated_core_s}, {"busy_core_s", u.busy_core_s},
          {"hot_poll_core_s", u.hot_poll_core_s},   {"idle_core_s", u.idle_core_s},
          {"invocations", u.invocations},           {"errors", u.errors}};
}

Usage usage_from_json(const nlohmann::json& j) {
  Usage u;
  u.allocated_core_s = j.value("allocated_core_s", 0.0);
  u.busy_core_s = j.value("busy_core_s", 0.0);
  u.hot_poll_core_s = j.value("hot_poll_core_s", 0.0);
  u.idle_core_s = j.value("idle_core_s", 0.0);
  u.invocations = j.value("invocations", uint64_t{0});
  u.errors = j.value("errors", uint64_t{0});
  return u;
}

nlohmann::json to_json(const OnDemandTiming& t) {
  return {{"job_id", t.job_id},
          {"requested_ms", t.requested_ms},
          {"submitted_ms", t.submitted_ms},
          {"running_ms", t.running_ms},
          {"job_started_ms", t.job_started_ms},
          {"registered_ms", t.registered_ms},
          {"granted_ms", t.granted_ms}};
}

OnDemandTiming on_demand_from_json(const nlohmann::json& j) {
  OnDemandTiming t;
  t.job_id = j.at("job_id").get<std::string>();
  t.requested_ms = j.value("requested_ms", int64_t{0});
  t.submitted_ms = j.value("submitted_ms", int64_t{0});
  t.running_ms = j.value("running_ms", int64_t{0});
  t.job_started_ms = j.value("job_started_ms", int64_t{0});
  t.registered_ms = j.value("registered_ms", int64_t{0});
  t.granted_ms = j.value("granted_ms", int64_t{0});
  return t;
}

namespace {
// The lease's fields every lease has; to_json() adds the optional ones.
nlohmann::json lease_fields(const Lease& l) {
  nlohmann::json allocs = nlohmann::json::array();
  for (const auto& a : l.allocations)
    allocs.push_back({{"node", a.node},
                      {"address", a.address},
                      {"cores", a.cores},
                      {"memory_mb", a.memory_mb},
                      {"token", a.token}});
  nlohmann::json j = {{"id", l.id},
          {"state", to_string(l.state)},
          {"cores", l.cores},
          {"memory_mb", l.memory_mb},
          {"transport", l.transport},
          {"hot_timeout_ms", l.hot_timeout_ms},
          {"policy", to_string(l.policy)},
          {"created_ms", l.created_ms},
          {"expires_at_ms", l.expires_at_ms},
          {"ended_ms", l.ended_ms ? nlohmann::json(*l.ended_ms) : nlohmann::json(nullptr)},
          {"reason", l.reason ? nlohmann::json(*l.reason) : nlohmann::json(nullptr)},
          {"allocations", std::move(allocs)},
          {"usage", to_json(l.usage())}};
  if (!l.warnings.empty()) j["warnings"] = l.warnings;
  return j;
}
}  // namespace

nlohmann::json to_json(const Lease& l) {
  nlohmann::json j = lease_fields(l);
  if (l.on_demand) j["on_demand"] = to_json(*l.on_demand);
  return j;
}

nlohmann::json allocations_to_json(const std::vector<Allocation>& allocs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : allocs)
    out.push_back({{"node", a.node},
                   {"address", a.address},
                   {"cores", a.cores},
                   {"memory_mb", a.memory_mb},
                   {"token", a.token},
                   {"usage", to_json(a.usage)},
                   {"usage_final", a.usage_final}});
  return out;
}

std::vector<Allocation> allocations_from_json(const nlohmann::json& j) {
  std::vector<Allocation> out;
  for (const auto& e : j) {
    Allocation a;
    a.node = e.at("node").get<std::string>();
    a.address = e.at("address").get<std::string>();
    a.cores = e.at("cores").get<std::vector<int>>();
    a.memory_mb = e.at("memory_mb").get<uint64_t>();
    a.token = e.at("token").get<std::string>();
    if (e.contains("usage")) a.usage = usage_from_json(e.at("usage"));
    a.usage_final = e.value("usage_final", false);
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace hpcless::manager
