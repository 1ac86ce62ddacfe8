#include "manager/store/state_store.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

namespace hpcless::manager {

namespace {

// Version 1. Changing it means a new version and a migration step in StateStore::migrate().
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE nodes(
  name              TEXT PRIMARY KEY,
  reg_seq           INTEGER NOT NULL UNIQUE,
  address           TEXT NOT NULL,
  cores             TEXT NOT NULL,
  memory_mb         INTEGER NOT NULL,
  transports        TEXT NOT NULL,
  walltime_end_ms   INTEGER NOT NULL,
  state             TEXT NOT NULL CHECK(state IN ('alive', 'dead')),
  registered_ms     INTEGER NOT NULL,
  last_heartbeat_ms INTEGER NOT NULL);
CREATE TABLE leases(
  id             TEXT PRIMARY KEY,
  seq            INTEGER NOT NULL UNIQUE,
  state          TEXT NOT NULL CHECK(state IN ('active', 'released', 'expired', 'failed')),
  cores          INTEGER NOT NULL,
  memory_mb      INTEGER NOT NULL,
  transport      TEXT NOT NULL,
  hot_timeout_ms INTEGER NOT NULL,
  policy         TEXT NOT NULL,
  created_ms     INTEGER NOT NULL,
  expires_at_ms  INTEGER NOT NULL,
  ended_ms       INTEGER,
  reason         TEXT,
  allocations    TEXT NOT NULL,
  usage          TEXT NOT NULL);
CREATE INDEX leases_by_state ON leases(state, seq);
CREATE TABLE allocations(
  node     TEXT NOT NULL REFERENCES nodes(name),
  core     INTEGER NOT NULL,
  lease_id TEXT NOT NULL REFERENCES leases(id),
  PRIMARY KEY(node, core)) WITHOUT ROWID;
CREATE INDEX allocations_by_lease ON allocations(lease_id);
CREATE TRIGGER allocations_only_for_active_leases BEFORE INSERT ON allocations
  WHEN (SELECT state FROM leases WHERE id = NEW.lease_id) IS NOT 'active'
  BEGIN SELECT RAISE(ABORT, 'allocation for a lease that is not active'); END;
CREATE TABLE ledger(
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  ts_ms    INTEGER NOT NULL,
  lease_id TEXT,
  node     TEXT,
  kind     TEXT NOT NULL CHECK(kind IN ('grant', 'refuse', 'renew', 'release', 'expire', 'fail',
                                        'usage', 'node_register', 'node_dead')),
  detail   TEXT NOT NULL);
CREATE INDEX ledger_by_lease ON ledger(lease_id) WHERE lease_id IS NOT NULL;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
PRAGMA user_version = 1;
)sql";

// Version 2: on-demand executors and Slurm walltimes (cut leases, nodes leaving). The ledger's kind list is a CHECK constraint, which SQLite
// cannot alter: the table is rebuilt with every row (same seq) and its triggers. DROP TABLE fires
// no triggers, so the append-only guard does not stop the copy.
constexpr const char* kSchemaV1ToV2 = R"sql(
ALTER TABLE leases ADD COLUMN on_demand TEXT;
CREATE TABLE ledger_v2(
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  ts_ms    INTEGER NOT NULL,
  lease_id TEXT,
  node     TEXT,
  kind     TEXT NOT NULL CHECK(kind IN ('grant', 'refuse', 'renew', 'release', 'expire', 'fail',
                                        'usage', 'node_register', 'node_dead',
                                        'on_demand_submit', 'on_demand_start',
                                        'on_demand_cancel', 'cut', 'node_leave',
                                        'node_walltime')),
  detail   TEXT NOT NULL);
INSERT INTO ledger_v2(seq, ts_ms, lease_id, node, kind, detail)
  SELECT seq, ts_ms, lease_id, node, kind, detail FROM ledger ORDER BY seq;
DROP TABLE ledger;
ALTER TABLE ledger_v2 RENAME TO ledger;
CREATE INDEX ledger_by_lease ON ledger(lease_id) WHERE lease_id IS NOT NULL;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
PRAGMA user_version = 2;
)sql";

constexpr const char* kLeaseColumns =
    "id, seq, state, cores, memory_mb, transport, hot_timeout_ms, policy, created_ms, "
    "expires_at_ms, ended_ms, reason, allocations, usage, on_demand";

std::string lease_select(const char* where_and_order) {
  return std::string("SELECT ") + kLeaseColumns + " FROM leases " + where_and_order;
}

}  // namespace

const char* to_string(LedgerKind k) {
  switch (k) {
    case LedgerKind::kGrant:
      return "grant";
    case LedgerKind::kRefuse:
      return "refuse";
    case LedgerKind::kRenew:
      return "renew";
    case LedgerKind::kRelease:
      return "release";
    case LedgerKind::kExpire:
      return "expire";
    case LedgerKind::kFail:
      return "fail";
    case LedgerKind::kUsage:
      return "usage";
    case LedgerKind::kNodeRegister:
      return "node_register";
    case LedgerKind::kNodeDead:
      return "node_dead";
    case LedgerKind::kCut:
      return "cut";
    case LedgerKind::kNodeLeave:
      return "node_leave";
    case LedgerKind::kNodeWalltime:
      return "node_walltime";
    case LedgerKind::kOnDemandSubmit:
      return "on_demand_submit";
    case LedgerKind::kOnDemandStart:
      return "on_demand_start";
    case LedgerKind::kOnDemandCancel:
      return "on_demand_cancel";
  }
  return "?";
}

// Prepared once, reused for every call (SQLITE_PREPARE_PERSISTENT).
struct StateStore::Statements {
  explicit Statements(sqlite::Database& db)
      : upsert_node(db,
                    "INSERT INTO nodes(name, reg_seq, address, cores, memory_mb, transports, "
                    "walltime_end_ms, state, registered_ms, last_heartbeat_ms) "
                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                    "ON CONFLICT(name) DO UPDATE SET address = ?3, cores = ?4, memory_mb = ?5, "
                    "transports = ?6, walltime_end_ms = ?7, state = ?8, registered_ms = ?9, "
                    "last_heartbeat_ms = ?10"),
        set_node_state(db, "UPDATE nodes SET state = ?2 WHERE name = ?1"),
        insert_lease(db,
                     "INSERT INTO leases(id, seq, state, cores, memory_mb, transport, "
                     "hot_timeout_ms, policy, created_ms, expires_at_ms, ended_ms, reason, "
                     "allocations, usage, on_demand) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                     "?10, ?11, ?12, ?13, ?14, ?15)"),
        update_lease(db,
                     "UPDATE leases SET state = ?2, expires_at_ms = ?3, ended_ms = ?4, "
                     "reason = ?5, allocations = ?6, usage = ?7 WHERE id = ?1"),
        allocate(db, "INSERT INTO allocations(node, core, lease_id) VALUES(?1, ?2, ?3)"),
        free_allocations(db, "DELETE FROM allocations WHERE lease_id = ?1"),
        append_ledger(db,
                      "INSERT INTO ledger(ts_ms, lease_id, node, kind, detail) "
                      "VALUES(?1, ?2, ?3, ?4, ?5)"),
        find_lease(db, lease_select("WHERE id = ?1").c_str()),
        list_leases(db, lease_select("ORDER BY seq DESC LIMIT ?1").c_str()),
        list_leases_in_state(db,
                             lease_select("WHERE state = ?1 ORDER BY seq DESC LIMIT ?2").c_str()) {}

  sqlite::Statement upsert_node, set_node_state, insert_lease, update_lease, allocate,
      free_allocations, append_ledger, find_lease, list_leases, list_leases_in_state;
};

StateStore::StateStore(const std::string& path) {
  if (path.empty())
    throw ConfigError("db: the state database path is empty; set \"db\" in the config or --db");
  lock_fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (!lock_fd_)
    throw ConfigError("db: cannot open state database '" + path + "': " + std::strerror(errno) +
                      " (check that the directory exists and is writable)");
  if (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      throw ConfigError("db: state database '" + path +
                        "' is in use by another hpcless-manager; stop it or choose another file");
    throw_system_error("flock " + path);
  }
  db_ = std::make_unique<sqlite::Database>(path);
  db_->exec("PRAGMA busy_timeout = 5000");
  {
    sqlite::Statement wal(*db_, "PRAGMA journal_mode = WAL");
    if (!wal.step() || wal.column_text(0) != "wal")
      throw ConfigError("db: state database '" + path +
                        "' cannot use WAL journaling (is it on a network file system?)");
  }
  // The Checkpointer copies the WAL back in the background, so that after a quiet moment the WAL
  // starts over without a commit paying for it. SQLite's automatic checkpoint (1000 pages, run
  // inside the commit that crosses it, with fsyncs) stays as the backstop: under sustained load
  // the background copy never catches up with the writers, and only a checkpoint between two
  // commits lets the WAL restart.
  db_->exec(
      "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; "
      "PRAGMA journal_size_limit = 16777216");
  migrate();
  st_ = std::make_unique<Statements>(*db_);
}

StateStore::~StateStore() = default;

void StateStore::migrate() {
  const int64_t version = db_->query_int("PRAGMA user_version");
  if (version == kSchemaVersion) return;
  if (version > kSchemaVersion)
    throw ConfigError("db: state database '" + db_->path() + "' has schema version " +
                      std::to_string(version) + ", newer than this manager's (" +
                      std::to_string(kSchemaVersion) + "); use a newer hpcless-manager");
  if (version == 0 && db_->query_int("SELECT count(*) FROM sqlite_schema") != 0)
    throw ConfigError("db: '" + db_->path() +
                      "' is an SQLite database that hpcless-manager did not create; "
                      "choose another file");
  // A new file goes through every step, so there is one schema however a file was created.
  sqlite::Transaction tx(*db_);
  if (version < 1) db_->exec(kSchemaV1);
  if (version < 2) db_->exec(kSchemaV1ToV2);
  tx.commit();
}

std::vector<Node> StateStore::load_nodes() {
  sqlite::Statement s(*db_,
                      "SELECT name, reg_seq, address, cores, memory_mb, transports, "
                      "walltime_end_ms, state, registered_ms, last_heartbeat_ms FROM nodes "
                      "ORDER BY reg_seq");
  std::vector<Node> out;
  while (s.step()) {
    Node n;
    n.name = s.column_text(0);
    n.reg_seq = s.column_int(1);
    n.address = s.column_text(2);
    n.cores = nlohmann::json::parse(s.column_text(3)).get<std::vector<int>>();
    n.memory_mb = static_cast<uint64_t>(s.column_int(4));
    n.transports = nlohmann::json::parse(s.column_text(5)).get<std::vector<std::string>>();
    n.walltime_end_ms = s.column_int(6);
    n.state = parse_node_state(s.column_text(7)).value_or(NodeState::kDead);
    n.registered_ms = s.column_int(8);
    n.last_heartbeat_ms = s.column_int(9);
    out.push_back(std::move(n));
  }
  return out;
}

Lease StateStore::read_lease(sqlite::Statement& s) {
  Lease l;
  l.id = s.column_text(0);
  l.seq = s.column_int(1);
  l.state = parse_lease_state(s.column_text(2)).value_or(LeaseState::kFailed);
  l.cores = static_cast<int>(s.column_int(3));
  l.memory_mb = static_cast<uint64_t>(s.column_int(4));
  l.transport = s.column_text(5);
  l.hot_timeout_ms = static_cast<int32_t>(s.column_int(6));
  l.policy = parse_policy(s.column_text(7)).value_or(Policy::kFirstFit);
  l.created_ms = s.column_int(8);
  l.expires_at_ms = s.column_int(9);
  l.ended_ms = s.column_opt_int(10);
  l.reason = s.column_opt_text(11);
  try {
    l.allocations = allocations_from_json(nlohmann::json::parse(s.column_text(12)));
  } catch (const nlohmann::json::exception& e) {
    throw Error("state database '" + db_->path() + "': lease " + l.id +
                " has unreadable allocations: " + e.what());
  }
  if (auto od = s.column_opt_text(14)) {
    try {
      l.on_demand = on_demand_from_json(nlohmann::json::parse(*od));
    } catch (const nlohmann::json::exception& e) {
      throw Error("state database '" + db_->path() + "': lease " + l.id +
                  " has an unreadable on_demand record: " + e.what());
    }
  }
  return l;
}

std::vector<Lease> StateStore::load_leases(LeaseState state) {
  return list_leases(state, static_cast<size_t>(INT64_MAX));
}

std::vector<CoreOwner> StateStore::load_allocations() {
  sqlite::Statement s(*db_, "SELECT node, core, lease_id FROM allocations ORDER BY node, core");
  std::vector<CoreOwner> out;
  while (s.step())
    out.push_back({s.column_text(0), static_cast<int>(s.column_int(1)), s.column_text(2)});
  return out;
}

int64_t StateStore::max_lease_seq() { return db_->query_int("SELECT max(seq) FROM leases"); }
int64_t StateStore::max_node_reg_seq() { return db_->query_int("SELECT max(reg_seq) FROM nodes"); }

void StateStore::upsert_node(const Node& n) {
  auto& s = st_->upsert_node;
  s.bind(1, std::string_view(n.name))
      .bind(2, n.reg_seq)
      .bind(3, std::string_view(n.address))
      .bind(4, std::string_view(nlohmann::json(n.cores).dump()))
      .bind(5, static_cast<int64_t>(n.memory_mb))
      .bind(6, std::string_view(nlohmann::json(n.transports).dump()))
      .bind(7, n.walltime_end_ms)
      .bind(8, std::string_view(to_string(n.state)))
      .bind(9, n.registered_ms)
      .bind(10, n.last_heartbeat_ms);
  s.run();
}

void StateStore::set_node_state(std::string_view name, NodeState state) {
  auto& s = st_->set_node_state;
  s.bind(1, name).bind(2, std::string_view(to_string(state)));
  s.run();
}

void StateStore::insert_lease(const Lease& l) {
  auto& s = st_->insert_lease;
  s.bind(1, std::string_view(l.id))
      .bind(2, l.seq)
      .bind(3, std::string_view(to_string(l.state)))
      .bind(4, static_cast<int64_t>(l.cores))
      .bind(5, static_cast<int64_t>(l.memory_mb))
      .bind(6, std::string_view(l.transport))
      .bind(7, static_cast<int64_t>(l.hot_timeout_ms))
      .bind(8, std::string_view(to_string(l.policy)))
      .bind(9, l.created_ms)
      .bind(10, l.expires_at_ms)
      .bind(11, l.ended_ms)
      .bind(12, l.reason)
      .bind(13, std::string_view(allocations_to_json(l.allocations).dump()))
      .bind(14, std::string_view(to_json(l.usage()).dump()))
      .bind(15, l.on_demand ? std::optional<std::string>(to_json(*l.on_demand).dump())
                            : std::optional<std::string>());
  s.run();
}

void StateStore::update_lease(const Lease& l) {
  auto& s = st_->update_lease;
  s.bind(1, std::string_view(l.id))
      .bind(2, std::string_view(to_string(l.state)))
      .bind(3, l.expires_at_ms)
      .bind(4, l.ended_ms)
      .bind(5, l.reason)
      .bind(6, std::string_view(allocations_to_json(l.allocations).dump()))
      .bind(7, std::string_view(to_json(l.usage()).dump()));
  s.run();
  if (sqlite3_changes(db_->handle()) != 1)
    throw Error("state database '" + db_->path() + "': lease " + l.id + " is missing");
}

void StateStore::allocate(const std::string& lease_id, const std::string& node,
                          const std::vector<int>& cores) {
  auto& s = st_->allocate;
  for (int core : cores) {
    s.bind(1, std::string_view(node))
        .bind(2, static_cast<int64_t>(core))
        .bind(3, std::string_view(lease_id));
    s.run();
  }
}

void StateStore::free_allocations(const std::string& lease_id) {
  auto& s = st_->free_allocations;
  s.bind(1, std::string_view(lease_id));
  s.run();
}

void StateStore::append_ledger(int64_t ts_ms, LedgerKind kind,
                               const std::optional<std::string>& lease_id,
                               const std::optional<std::string>& node,
                               const nlohmann::json& detail) {
  auto& s = st_->append_ledger;
  s.bind(1, ts_ms)
      .bind(2, lease_id)
      .bind(3, node)
      .bind(4, std::string_view(to_string(kind)))
      .bind(5, std::string_view(detail.dump()));
  s.run();
}

std::optional<Lease> StateStore::find_lease(const std::string& id) {
  auto& s = st_->find_lease;
  sqlite::ResetGuard g(s);
  s.bind(1, std::string_view(id));
  if (!s.step()) return std::nullopt;
  return read_lease(s);
}

std::vector<Lease> StateStore::list_leases(std::optional<LeaseState> state, size_t limit) {
  const auto lim = static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX));
  auto& s = state ? st_->list_leases_in_state : st_->list_leases;
  sqlite::ResetGuard g(s);
  if (state)
    s.bind(1, std::string_view(to_string(*state))).bind(2, lim);
  else
    s.bind(1, lim);
  std::vector<Lease> out;
  while (s.step()) out.push_back(read_lease(s));
  return out;
}

}  // namespace hpcless::manager
