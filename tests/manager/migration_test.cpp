// Schema migration: a state file written by an older manager is brought to the current schema at
// start-up with every row kept (tests/manager, label integration).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "comm/base/json.hpp"
#include "manager/store/state_store.hpp"
#include "tests/manager/manager_fixture.hpp"

namespace hpcless::mtest {
namespace {

using nlohmann::json;

// Version 1 exactly as hpcless-manager wrote it (manager/store/state_store.cpp before on-demand
// executors).
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


void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error("sql: " + msg);
  }
}

TEST(Migration, Version1FileKeepsEveryRowAndGainsTheOnDemandKinds) {
  TempDir dir;
  auto cfg = test_config(dir);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(cfg.db.c_str(), &db), SQLITE_OK);
    exec(db, kSchemaV1);
    exec(db,
         "INSERT INTO nodes VALUES('n0', 1, '127.0.0.1:7101', '[0,1]', 0, '[\"tcp\"]', 0, "
         "'alive', 1000, 1000);"
         "INSERT INTO ledger(ts_ms, lease_id, node, kind, detail) VALUES"
         "(1000, NULL, 'n0', 'node_register', '{}'),"
         "(1001, NULL, NULL, 'refuse', '{\"reason\":\"old\"}');");
    sqlite3_close(db);
  }
  {
    InProcessManager m(cfg);
    Api api = m.api();
    api.register_node("n0", {0, 1});
    const json lease = api.grant({{"cores", 1}, {"seconds", 60}});
    EXPECT_FALSE(lease.contains("on_demand")) << "an ordinary lease has no on_demand record";
    EXPECT_EQ(api.lease(lease["id"])["id"], lease["id"]);
  }
  DbView view(cfg.db);
  EXPECT_EQ(view.count("PRAGMA user_version"), manager::StateStore::kSchemaVersion);
  const auto rows = view.rows("SELECT seq, ts_ms, kind FROM ledger ORDER BY seq");
  ASSERT_GE(rows.size(), 4u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"1", "1000", "node_register"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"2", "1001", "refuse"}));
  EXPECT_EQ(rows[2][0], "3") << "sequence numbers continue after the copied rows";
  EXPECT_EQ(view.count("SELECT count(*) FROM leases WHERE on_demand IS NULL"), 1);

  // The rebuilt ledger is still append-only and takes the new kinds.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(cfg.db.c_str(), &db), SQLITE_OK);
  EXPECT_THROW(exec(db, "UPDATE ledger SET kind = 'grant' WHERE seq = 1"), std::runtime_error);
  EXPECT_THROW(exec(db, "DELETE FROM ledger WHERE seq = 1"), std::runtime_error);
  EXPECT_NO_THROW(exec(db,
                       "INSERT INTO ledger(ts_ms, kind, detail) VALUES(1, 'on_demand_submit', "
                       "'{}'), (2, 'on_demand_start', '{}'), (3, 'on_demand_cancel', '{}'), "
                       "(4, 'cut', '{}'), (5, 'node_leave', '{}'), (6, 'node_walltime', '{}')"));
  EXPECT_THROW(exec(db, "INSERT INTO ledger(ts_ms, kind, detail) VALUES(1, 'bogus', '{}')"),
               std::runtime_error);
  sqlite3_close(db);
}

}  // namespace
}  // namespace hpcless::mtest
