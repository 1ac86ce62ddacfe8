// Durability: the real hpcless-manager binary is killed with SIGKILL and started again on the same
// database. Active leases stay active with the same tokens, the ledger keeps every row, leases
// that expired while it was down are expired, nodes are given time to heartbeat again.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <thread>

#include "comm/auth/lease_token.hpp"
#include "manager/store/state_store.hpp"
#include "tests/manager/manager_fixture.hpp"

namespace hpcless::mtest {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string write_config(const TempDir& dir) {
  const std::string path = dir.file("manager.json");
  write_file(path, json{{"api_token", kApiToken},
                        {"token_secret", kTokenSecret},
                        {"heartbeat_interval_ms", 100},
                        {"dead_after_ms", 1500},
                        {"max_lease_seconds", 3600}}
                       .dump());
  return path;
}

TEST(Restart, SigkillLosesNothingCommitted) {
  TempDir dir;
  const std::string config = write_config(dir);
  const std::string db = dir.file("state.db");
  auto first = std::make_unique<ManagerChild>(config, "127.0.0.1:0", db, dir.path());
  const std::string address = first->address();
  Api api = first->api();
  api.register_node("n0", {0, 1, 2, 3}, 1000);
  api.register_node("n1", {0, 1});
  const json kept = api.grant({{"cores", 3}, {"memory_mb", 300}, {"seconds", 600}});
  const json short_lived = api.grant({{"cores", 1}, {"seconds", 2}});
  const json released = api.grant({{"cores", 1}, {"seconds", 600}});
  ASSERT_EQ(api.del("/v1/leases/" + released["id"].get<std::string>()).status, 200);
  api.heartbeat("n0", json::array({{{"id", kept["id"]},
                                    {"state", "running"},
                                    {"usage", {{"busy_core_s", 0.5}, {"invocations", 4}}}}}));

  std::vector<std::vector<std::string>> ledger_before;
  {
    DbView view(db);  // read while the manager runs (WAL readers do not block it)
    ledger_before = view.rows(
        "SELECT seq, ts_ms, ifnull(lease_id, ''), ifnull(node, ''), kind, detail "
        "FROM ledger ORDER BY seq");
  }
  // 2 node_register, 3 grant, release, usage (the short lease has not expired yet).
  ASSERT_EQ(ledger_before.size(), 7u);

  first->kill9();
  first.reset();
  // Let the short lease expire while the manager is down.
  const int64_t wait_ms = short_lived["expires_at_ms"].get<int64_t>() - auth::unix_now_ms() + 50;
  if (wait_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));

  ManagerChild second(config, address, db, dir.path());  // same port, as clients expect
  EXPECT_EQ(second.address(), address);
  Api api2 = second.api();
  const json k = api2.lease(kept["id"]);
  EXPECT_EQ(k["state"], "active");
  EXPECT_EQ(k["expires_at_ms"], kept["expires_at_ms"]);
  EXPECT_EQ(k["allocations"], kept["allocations"]);  // same cores, same tokens
  EXPECT_EQ(k["usage"]["invocations"], 4);
  for (const auto& a : k["allocations"]) EXPECT_TRUE(verify(a["token"]).ok);
  const json s = api2.lease(short_lived["id"]);
  EXPECT_EQ(s["state"], "expired");
  EXPECT_EQ(api2.lease(released["id"])["state"], "released");

  // The kept lease still holds its cores; the others' are free.
  EXPECT_EQ(api2.node("n0")["free_core_list"], json({3}));
  EXPECT_EQ(api2.node("n1")["free_core_list"], json({0, 1}));
  EXPECT_EQ(api2.node("n0")["free_memory_mb"], 700);
  // Nodes are alive and their heartbeats are accepted; the answer lists the kept lease.
  json hb = api2.heartbeat("n0");
  ASSERT_EQ(hb["leases"].size(), 1u);
  EXPECT_EQ(hb["leases"][0]["id"], kept["id"]);
  // Lease ids continue after the last one.
  json next = api2.grant({{"cores", 1}, {"seconds", 60}});
  EXPECT_EQ(next["id"], "L000004");

  // n1 sends no heartbeat after the restart: dead after dead_after_ms; registering brings it back.
  // n0 keeps heartbeating meanwhile, so only n1 dies and the kept lease keeps its cores.
  ASSERT_TRUE(eventually(
      [&] {
        api2.heartbeat("n0");
        return api2.node("n1")["state"] == "dead";
      },
      10s));
  EXPECT_EQ(api2.post("/v1/nodes/n1/heartbeat", json{{"leases", json::array()}}).status, 404);
  api2.register_node("n1", {0, 1});
  EXPECT_EQ(api2.node("n1")["state"], "alive");

  EXPECT_EQ(second.terminate(10s), 0) << "SIGTERM must end the manager with exit code 0";

  DbView view(db);
  const auto after = view.rows(
      "SELECT seq, ts_ms, ifnull(lease_id, ''), ifnull(node, ''), kind, detail "
      "FROM ledger ORDER BY seq");
  ASSERT_GT(after.size(), ledger_before.size());
  for (size_t i = 0; i < ledger_before.size(); ++i) EXPECT_EQ(after[i], ledger_before[i]) << i;
  const auto expire = view.rows("SELECT detail FROM ledger WHERE kind = 'expire' AND lease_id = '" +
                                short_lived["id"].get<std::string>() + "'");
  ASSERT_EQ(expire.size(), 1u);
  EXPECT_EQ(json::parse(expire[0][0])["while_manager_down"], true);
  EXPECT_EQ(view.count("PRAGMA user_version"), manager::StateStore::kSchemaVersion);
  EXPECT_EQ(view.count("SELECT count(*) FROM allocations WHERE lease_id = '" +
                       kept["id"].get<std::string>() + "'"),
            3);
}

TEST(Restart, BinaryRejectsBadConfigAndWritesReadyFile) {
  TempDir dir;
  write_file(dir.file("bad.json"), "{\"dead_after_ms\": \"soon\"}");
  try {
    ManagerChild c(dir.file("bad.json"), "127.0.0.1:0", dir.file("s.db"), dir.path());
    ADD_FAILURE() << "started with a bad config";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("dead_after_ms"), std::string::npos) << e.what();
  }
  ManagerChild ok(write_config(dir), "127.0.0.1:0", dir.file("s.db"), dir.path());
  EXPECT_EQ(read_file(dir.file("ready")), ok.address() + "\n");
  EXPECT_EQ(ok.api().get("/v1/health").status, 200);
}

}  // namespace
}  // namespace hpcless::mtest
