// The manager's durable state in one SQLite file: nodes, leases, active core allocations and the
// append-only ledger. The database is the truth; the Registry keeps an index in memory and writes
// every change here first, one transaction per mutation (state and ledger together).
//
// Durability: WAL journal with synchronous=NORMAL. A committed transaction survives the process
// being killed (SIGKILL); on power loss the last transactions before the crash may be lost, but
// the file stays consistent. See docs/manager.md.
//
// Invariants the schema itself enforces:
//   - allocations has PRIMARY KEY(node, core): a core cannot be granted twice;
//   - a trigger refuses allocation rows for a lease that is not active;
//   - ledger rows cannot be updated or deleted (triggers).
//
// Thread safety: none; the Registry calls it under its mutex. One StateStore per file: the
// constructor takes an exclusive flock() on the database file, so a second manager on the same
// file fails at start instead of corrupting the state.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comm/base/fd.hpp"
#include "comm/base/json.hpp"
#include "manager/core/model.hpp"
#include "manager/store/sqlite.hpp"

namespace hpcless::manager {

enum class LedgerKind {
  kGrant,
  kRefuse,
  kRenew,
  kRelease,
  kExpire,
  kFail,
  kUsage,
  kNodeRegister,
  kNodeDead,
  kCut,        // a lease's expiry moved earlier: its node's batch job ends sooner
  kNodeLeave,  // a node left the pool (batch job cancelled, preempted, or ended)
  kNodeWalltime,
  // On-demand executors (schema version 2): job submitted, seen running, cancelled.
  kOnDemandSubmit,
  kOnDemandStart,
  kOnDemandCancel,
};
const char* to_string(LedgerKind k);

struct CoreOwner {
  std::string node;
  int core = 0;
  std::string lease_id;
};

class StateStore {
 public:
  static constexpr int kSchemaVersion = 2;

  // Opens or creates the file and brings its schema to kSchemaVersion. Throws ConfigError when
  // the file is locked by another manager or has a newer schema, DatabaseError otherwise.
  explicit StateStore(const std::string& path);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  sqlite::Database& db() noexcept { return *db_; }

  // ---- loading at start-up ----
  std::vector<Node> load_nodes();  // in registration order
  std::vector<Lease> load_leases(LeaseState state);
  std::vector<CoreOwner> load_allocations();
  int64_t max_lease_seq();
  int64_t max_node_reg_seq();

  // ---- writes (call inside a sqlite::Transaction on db()) ----
  void upsert_node(const Node& n);
  void set_node_state(std::string_view name, NodeState state);
  void insert_lease(const Lease& l);  // with its on_demand timing, which never changes after
  void update_lease(const Lease& l);  // state, expiry, end, reason, allocations, usage
  void allocate(const std::string& lease_id, const std::string& node,
                const std::vector<int>& cores);
  void free_allocations(const std::string& lease_id);
  void append_ledger(int64_t ts_ms, LedgerKind kind, const std::optional<std::string>& lease_id,
                     const std::optional<std::string>& node, const nlohmann::json& detail);

  // ---- reads ----
  std::optional<Lease> find_lease(const std::string& id);
  // Newest first; state std::nullopt: every state.
  std::vector<Lease> list_leases(std::optional<LeaseState> state, size_t limit);

 private:
  void migrate();
  Lease read_lease(sqlite::Statement& s);

  UniqueFd lock_fd_;  // flock()ed for the store's lifetime; closed after the connection
  std::unique_ptr<sqlite::Database> db_;
  struct Statements;
  std::unique_ptr<Statements> st_;
};

}  // namespace hpcless::manager
