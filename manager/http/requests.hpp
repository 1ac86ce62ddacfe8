// Parsing and validation of request bodies. Every problem is an ApiError 400 whose message names
// the field, what it must be and what was sent. Unknown fields are ignored (newer clients may
// send more). Stateless: thread-safe.
#pragma once

#include <string>
#include <vector>

#include "comm/base/json.hpp"
#include "manager/config/manager_config.hpp"
#include "manager/core/registry.hpp"

namespace hpcless::manager {

inline constexpr int kMaxLeaseCores = 1024;

nlohmann::json parse_json_object(const std::string& body);
LeaseRequest parse_lease_request(const nlohmann::json& j, const ManagerConfig& c);
int64_t parse_renew_ms(const nlohmann::json& j, const ManagerConfig& c);  // the new duration
NodeRegistration parse_node_registration(const nlohmann::json& j);
Heartbeat parse_heartbeat(const nlohmann::json& j);

// Names in URLs and bodies: 1..64 of [A-Za-z0-9._-].
bool valid_name(const std::string& s);

}  // namespace hpcless::manager
