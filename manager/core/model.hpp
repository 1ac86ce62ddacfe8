// The manager's data model: nodes, leases, allocations and usage, with their JSON forms
// (docs/manager-api.md). Plain values; no locking (the Registry owns the live copies).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hpcless::manager {

enum class NodeState { kAlive, kDead };
enum class LeaseState { kActive, kReleased, kExpired, kFailed };
enum class Policy { kFirstFit, kSpread };

const char* to_string(NodeState s);
const char* to_string(LeaseState s);
const char* to_string(Policy p);
std::optional<NodeState> parse_node_state(std::string_view s);
std::optional<LeaseState> parse_lease_state(std::string_view s);
std::optional<Policy> parse_policy(std::string_view s);

// Cumulative figures of one allocation (or, summed, of a lease) as reported by executors.
struct Usage {
  double allocated_core_s = 0;
  double busy_core_s = 0;
  double hot_poll_core_s = 0;
  double idle_core_s = 0;
  uint64_t invocations = 0;
  uint64_t errors = 0;

  Usage& operator+=(const Usage& o);
  bool operator==(const Usage&) const = default;
};

// One node's part of a lease: one worker endpoint and one token.
struct Allocation {
  std::string node;
  std::string address;
  std::vector<int> cores;
  uint64_t memory_mb = 0;
  std::string token;
  Usage usage;
  // The executor has reported the worker stopped or failed: `usage` holds its final figures.
  bool usage_final = false;
};

// How an on-demand lease came about (manager/ondemand, docs/manager.md): Unix ms of each step.
struct OnDemandTiming {
  std::string job_id;         // the Slurm job of the executor that serves the lease
  int64_t requested_ms = 0;   // the request arrived and no node could meet it
  int64_t submitted_ms = 0;   // sbatch answered with the job id
  int64_t running_ms = 0;     // squeue first showed the job RUNNING (polled)
  int64_t job_started_ms = 0; // the job's script started (reported by its executor; 0: not)
  int64_t registered_ms = 0;  // the job's executor registered
  int64_t granted_ms = 0;     // the lease was granted on it

  bool operator==(const OnDemandTiming&) const = default;
};

struct Lease {
  std::string id;  // "L000042"
  int64_t seq = 0;
  LeaseState state = LeaseState::kActive;
  int cores = 0;
  uint64_t memory_mb = 0;
  std::string transport = "tcp";
  int32_t hot_timeout_ms = -1;
  Policy policy = Policy::kFirstFit;
  int64_t created_ms = 0;
  int64_t expires_at_ms = 0;
  std::optional<int64_t> ended_ms;
  std::optional<std::string> reason;
  std::vector<Allocation> allocations;
  // Not stored: the registry fills them in for active leases (walltime near, lease cut short).
  std::vector<std::string> warnings;
  std::optional<OnDemandTiming> on_demand;  // set when an on-demand executor was started for it

  Usage usage() const;  // the sum over the allocations
  const Allocation* allocation_on(std::string_view node) const;
  Allocation* allocation_on(std::string_view node);
};

std::string lease_id_for(int64_t seq);  // 42 -> "L000042"

// What a node registered with, plus what the manager knows about it.
struct Node {
  std::string name;
  int64_t reg_seq = 0;  // registration order (kept when the node registers again)
  std::string address;
  std::vector<int> cores;
  uint64_t memory_mb = 0;  // 0: unknown, no memory limit on this node
  std::vector<std::string> transports;
  int64_t walltime_end_ms = 0;  // 0: no end
  NodeState state = NodeState::kAlive;
  int64_t registered_ms = 0;
  int64_t last_heartbeat_ms = 0;
};

// ---- JSON ------------------------------------------------------------------------------------
nlohmann::json to_json(const Usage& u);
Usage usage_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception on bad types
nlohmann::json to_json(const OnDemandTiming& t);
OnDemandTiming on_demand_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception
// The lease as the API returns it.
nlohmann::json to_json(const Lease& l);
// Allocations as stored in the database (with per-allocation usage and the final flag).
nlohmann::json allocations_to_json(const std::vector<Allocation>& a);
std::vector<Allocation> allocations_from_json(const nlohmann::json& j);

}  // namespace hpcless::manager
