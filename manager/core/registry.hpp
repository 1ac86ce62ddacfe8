// The registry: nodes, leases and their core allocations. The operations of the REST API and of
// the reaper (expiry, dead nodes) live here.
//
// State: an in-memory index (per-node core owners, active leases) for fast placement, backed by
// the StateStore. Every mutation computes its result first, writes it to the database in one
// transaction (state and ledger entries together) and only then applies it to memory, so a failed
// write leaves both unchanged (the caller gets an error, nothing was granted).
//
// Thread safety: every public member is thread-safe (one mutex; placement and the SQLite commit
// happen under it, which serializes grants: no core can be handed out twice).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "comm/base/json.hpp"
#include "manager/core/metrics.hpp"
#include "manager/core/model.hpp"
#include "manager/store/state_store.hpp"

namespace hpcless::manager {

struct RegistrySettings {
  int64_t heartbeat_interval_ms = 500;
  int64_t dead_after_ms = 3000;
  std::string token_secret;  // at least 16 bytes
  // Ended leases stay in memory this long (to collect the executors' final usage, which arrives
  // with their next heartbeats), then GET reads them from the database and later reports are
  // ignored. Bounded in count too: ~1 KB each.
  int64_t ended_retention_ms = 2 * 60 * 1000;
  size_t ended_retention_max = 4096;
  // A lease on a node whose walltime ends within this long carries a warning (GET, lists).
  int64_t walltime_warning_ms = 120 * 1000;
};

// POST /v1/nodes, validated.
struct NodeRegistration {
  std::string name;
  std::string address;
  std::vector<int> cores;
  uint64_t memory_mb = 0;
  std::vector<std::string> transports{"tcp"};
  int64_t walltime_end_ms = 0;
  // An on-demand executor's batch job started (its script's first clock reading, Unix ms); 0:
  // not reported. Only passed on to the registration listener.
  int64_t job_started_ms = 0;
};

// One entry of a heartbeat, validated.
struct LeaseReport {
  enum class State { kRunning, kFailed, kStopped };
  std::string id;
  State state = State::kRunning;
  std::optional<std::string> reason;
  std::optional<Usage> usage;
};

// POST /v1/leases, validated.
// POST /v1/nodes/NAME/heartbeat, validated.
struct Heartbeat {
  std::vector<LeaseReport> reports;
  // The node's batch job moved its end (Slurm: scontrol update, or known only now); 0: no end.
  std::optional<int64_t> walltime_end_ms;
  // The node is leaving the pool (its batch job was cancelled, preempted or reached its limit):
  // the reason, given to every lease still active on it.
  std::optional<std::string> leaving;
};

struct LeaseRequest {
  int cores = 1;
  uint64_t memory_mb = 0;
  int64_t duration_ms = 0;
  std::string transport = "tcp";
  int32_t hot_timeout_ms = -1;
  Policy policy = Policy::kFirstFit;
};

// How a grant may be made (the on-demand path, manager/ondemand).
struct GrantOptions {
  // false: a refusal throws ApiError 409 without a ledger entry or a refusal count; the caller
  // tries another way (an on-demand executor) and records the final refusal itself.
  bool record_refusal = true;
  // Non-empty: place the lease on this node only (the executor started for it), although the
  // node is reserved.
  std::string only_node;
  std::optional<OnDemandTiming> on_demand;  // kept with the lease; granted_ms is set by grant()
};

struct NodeView {
  Node node;
  std::vector<int> free_cores;  // empty while dead
  uint64_t free_memory_mb = 0;
  std::vector<std::string> leases;  // active leases with an allocation on the node
};

struct RegistryStats {
  size_t nodes_alive = 0;
  size_t nodes_dead = 0;
  size_t cores_free = 0;  // on alive nodes
  size_t cores_leased = 0;
  size_t leases_active = 0;
};

class Registry {
 public:
  // Loads the state from `store` (which must outlive the registry): active leases keep their
  // allocations; leases whose expiry passed while the manager was down are expired (ledger
  // entry); nodes alive at shutdown count as having sent a heartbeat now.
  Registry(StateStore& store, RegistrySettings settings, Metrics& metrics);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // ---- nodes ----
  void register_node(const NodeRegistration& r);
  // The answer's "leases": every lease active on that node. Throws ApiError 404 for a node that
  // is not registered or was declared dead (the executor then registers again). A walltime moved
  // earlier cuts the node's leases to it (ledger "cut"); `leaving` fails the node's leases with
  // that reason and takes the node out of the pool (dead until it registers again).
  nlohmann::json heartbeat(const std::string& node, const Heartbeat& hb);
  std::vector<NodeView> nodes() const;

  // ---- leases ----
  Lease grant(const LeaseRequest& req,
              const GrantOptions& opts = {});  // ApiError 409 (whole refusal) with the reason
  Lease get(const std::string& id) const;  // ApiError 404
  Lease renew(const std::string& id, int64_t duration_ms);  // ApiError 404, 409
  Lease release(const std::string& id);                     // ApiError 404; idempotent
  // Newest first; std::nullopt: every state. Active leases come from memory, others from the
  // database.
  std::vector<Lease> leases(std::optional<LeaseState> state, size_t limit) const;

  // ---- on-demand executors (manager/ondemand) ----
  // A refusal decided outside grant(): ledger `refuse` and the refusal count.
  void record_refusal(const LeaseRequest& req, const std::string& reason);
  // Ordinary placement skips a reserved node (an on-demand executor started for one request) until
  // it is unreserved; grant() with GrantOptions::only_node may use it.
  void reserve_node(const std::string& name);
  void unreserve_node(const std::string& name);
  // DELETE /v1/nodes/{name}: an executor leaves (idle on-demand executors do). The node is marked
  // dead (ledger node_dead, "deregistered") and its cores leave the pool. ApiError 404 for an
  // unknown node; 409 while it holds active leases or (unless `even_if_reserved`: the on-demand
  // request that reserved it cancelled its job) is reserved; the executor then stays.
  void deregister_node(const std::string& name, bool even_if_reserved = false);
  // Called with every registration after it is applied, outside the registry's lock. Set once,
  // before the API serves.
  void set_registration_listener(std::function<void(const NodeRegistration&)> listener);
  // One ledger entry in its own transaction.
  void append_ledger(LedgerKind kind, const std::optional<std::string>& lease_id,
                     const std::optional<std::string>& node, const nlohmann::json& detail);

  // ---- time ----
  // Expires leases at their expiry and declares nodes dead after dead_after_ms without a
  // heartbeat. Returns the milliseconds until the next such deadline (capped at `max_wait_ms`).
  int64_t reap(int64_t max_wait_ms);

  RegistryStats stats() const;
  const RegistrySettings& settings() const noexcept { return settings_; }

 private:
  struct NodeEntry;
  struct Ended {
    Lease lease;
    int64_t ended_ms;
  };

  NodeEntry* find_node(const std::string& name) const;
  const Lease* find_in_memory(const std::string& id) const;
  void sign_tokens(Lease& l) const;
  // Warnings for an active lease (walltime of its nodes near, lease cut short).
  void add_warnings(Lease& l, int64_t now_ms) const;
  void cut_to_walltime(NodeEntry& n, int64_t walltime_end_ms, int64_t now_ms);
  void node_leaves(NodeEntry& n, const std::string& reason, int64_t now_ms);
  // Lease ends are built, persisted (inside the caller's transaction), then applied after commit.
  Lease ended_copy(const Lease& l, LeaseState state, int64_t now_ms,
                   std::optional<std::string> reason) const;
  void persist_end(const Lease& ended, LedgerKind kind, const std::optional<std::string>& node,
                   nlohmann::json detail);
  void apply_end(Lease ended);
  void persist_usage_entry(const Lease& l, int64_t now_ms);
  void prune_ended(int64_t now_ms);
  [[noreturn]] void fail_inconsistent(const std::string& what) const;
  void persist_refusal(const LeaseRequest& req, const std::string& reason, int64_t now_ms);

  StateStore& store_;
  RegistrySettings settings_;
  Metrics& metrics_;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<NodeEntry>> nodes_;  // registration order
  std::unordered_map<std::string, NodeEntry*> by_name_;
  std::map<int64_t, Lease> active_;                      // by seq
  std::unordered_map<std::string, int64_t> active_ids_;  // id -> seq
  std::unordered_map<std::string, Ended> ended_;
  std::unordered_map<std::string, std::string> cut_notes_;  // active lease id -> why it was cut
  std::deque<std::string> ended_order_;
  int64_t last_lease_seq_ = 0;
  int64_t last_node_seq_ = 0;
  std::set<std::string> reserved_;  // nodes of on-demand requests still being granted
  std::function<void(const NodeRegistration&)> on_register_;
};

}  // namespace hpcless::manager
