// The state database's schema moves forward in place: a version-1 file (managers before the
// Slurm ledger kinds) keeps its ledger and accepts the new kinds after opening.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "manager/store/state_store.hpp"

namespace hpcless::manager {
namespace {

TEST(SchemaMigration, VersionOneLedgerIsKeptAndTakesTheNewKinds) {
  char tmpl[] = "/tmp/hpcless-schema-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/state.db";
  {
    StateStore fresh(path);  // today's schema, then turned back into version 1's ledger
    auto& db = fresh.db();
    db.exec(R"sql(
      DROP TRIGGER ledger_no_update; DROP TRIGGER ledger_no_delete; DROP INDEX ledger_by_lease;
      DROP TABLE ledger;
      CREATE TABLE ledger(seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL,
        lease_id TEXT, node TEXT,
        kind TEXT NOT NULL CHECK(kind IN ('grant', 'refuse', 'renew', 'release', 'expire', 'fail',
                                          'usage', 'node_register', 'node_dead')),
        detail TEXT NOT NULL);
      CREATE INDEX ledger_by_lease ON ledger(lease_id) WHERE lease_id IS NOT NULL;
      CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
      CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
      INSERT INTO ledger(ts_ms, lease_id, node, kind, detail) VALUES (7, 'L000001', NULL, 'grant', '{}');
      PRAGMA user_version = 1;)sql");
  }
  StateStore migrated(path);
  auto& db = migrated.db();
  EXPECT_EQ(db.query_int("PRAGMA user_version"), StateStore::kSchemaVersion);
  EXPECT_EQ(db.query_int("SELECT count(*) FROM ledger WHERE kind = 'grant' AND ts_ms = 7"), 1);
  {
    sqlite::Transaction tx(db);
    migrated.append_ledger(8, LedgerKind::kCut, std::string("L000001"), std::string("n1"), {});
    migrated.append_ledger(9, LedgerKind::kNodeLeave, std::nullopt, std::string("n1"), {});
    tx.commit();
  }
  EXPECT_EQ(db.query_int("SELECT max(seq) FROM ledger"), 3);
  // Still append-only.
  EXPECT_THROW(db.exec("DELETE FROM ledger"), sqlite::DatabaseError);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace hpcless::manager
