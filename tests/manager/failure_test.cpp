// Failure handling: nodes that miss heartbeats are declared dead (their leases fail, their cores
// leave the pool until they register again); failures reported by executors; usage accounting,
// including the executors' final figures after a lease ended.
#include <gtest/gtest.h>

#include <thread>

#include "tests/manager/manager_fixture.hpp"

namespace hpcless::mtest {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

json usage(double busy, int invocations) {
  return {{"allocated_core_s", 2.0}, {"busy_core_s", busy},        {"hot_poll_core_s", 0.25},
          {"idle_core_s", 0.5},      {"invocations", invocations}, {"errors", 1}};
}

TEST(Failure, NodeMissingHeartbeatsIsDeclaredDeadAndItsLeasesFail) {
  TempDir dir;
  auto cfg = test_config(dir);
  cfg.heartbeat_interval_ms = 50;
  cfg.dead_after_ms = 400;
  InProcessManager m(cfg);
  Api api = m.api();
  api.register_node("alive", {0, 1});
  api.register_node("doomed", {0, 1});
  json on_both = api.grant({{"cores", 4}, {"seconds", 60}});
  ASSERT_EQ(on_both["allocations"].size(), 2u);

  // "alive" keeps sending heartbeats, "doomed" goes silent.
  std::atomic<bool> stop{false};
  std::thread beat([&] {
    Api a = m.api();
    while (!stop) {
      a.post("/v1/nodes/alive/heartbeat", json{{"leases", json::array()}});
      std::this_thread::sleep_for(50ms);
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  const bool died = eventually([&] { return api.node("doomed")["state"] == "dead"; }, 5s);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(died);
  EXPECT_GE(took, 300ms);  // not before dead_after_ms (minus the test's own start-up)
  EXPECT_EQ(api.node("alive")["state"], "alive");

  json l = api.lease(on_both["id"]);
  EXPECT_EQ(l["state"], "failed");
  EXPECT_EQ(l["reason"], "node doomed missed heartbeats");
  // Its cores left the pool; the lease's cores on "alive" came back.
  EXPECT_EQ(api.node("doomed")["free_core_list"], json::array());
  EXPECT_EQ(api.node("doomed")["free_cores"], 0);
  EXPECT_EQ(api.node("alive")["free_core_list"], json({0, 1}));
  auto refused = api.post("/v1/leases", json{{"cores", 3}, {"seconds", 10}});
  EXPECT_EQ(refused.status, 409);
  EXPECT_EQ(refused.error_message(), "need 3 cores, 2 free on 1 alive node");
  // A heartbeat from the dead node is answered 404 so that the executor registers again.
  auto hb = api.post("/v1/nodes/doomed/heartbeat", json{{"leases", json::array()}});
  EXPECT_EQ(hb.status, 404);
  EXPECT_NE(hb.error_message().find("register it again"), std::string::npos) << hb.raw;

  api.register_node("doomed", {0, 1});
  EXPECT_EQ(api.node("doomed")["state"], "alive");
  json again = api.grant({{"cores", 3}, {"seconds", 10}});
  EXPECT_EQ(again["allocations"].size(), 2u);
  stop = true;
  beat.join();

  DbView db(dir.file("state.db"));
  EXPECT_EQ(db.count("SELECT count(*) FROM ledger WHERE kind = 'node_dead' AND node = 'doomed'"),
            1);
  EXPECT_EQ(
      db.count(
          "SELECT count(*) FROM ledger WHERE kind = 'fail' AND node = 'doomed' AND lease_id = '" +
          on_both["id"].get<std::string>() + "'"),
      1);
  const auto dead =
      json::parse(db.rows("SELECT detail FROM ledger WHERE kind = 'node_dead'")[0][0]);
  EXPECT_EQ(dead["failed_leases"], json({on_both["id"]}));
  EXPECT_EQ(db.count("SELECT count(*) FROM allocations WHERE lease_id = '" +
                     on_both["id"].get<std::string>() + "'"),
            0);
}

TEST(Failure, ExecutorReportedFailureEndsTheLease) {
  TempDir dir;
  InProcessManager m(test_config(dir));
  Api api = m.api();
  api.register_node("n0", {0, 1, 2});
  json l = api.grant({{"cores", 2}, {"seconds", 60}});
  const std::string id = l["id"];

  // Usage while running is stored on the lease.
  api.heartbeat("n0", json::array({{{"id", id}, {"state", "running"}, {"usage", usage(1.5, 10)}}}));
  EXPECT_EQ(api.lease(id)["usage"]["busy_core_s"], 1.5);
  EXPECT_EQ(api.lease(id)["usage"]["invocations"], 10);

  json hb = api.heartbeat("n0", json::array({{{"id", id},
                                              {"state", "failed"},
                                              {"reason", "worker exited with code 3"},
                                              {"usage", usage(2.5, 12)}}}));
  EXPECT_TRUE(hb["leases"].empty());
  json f = api.lease(id);
  EXPECT_EQ(f["state"], "failed");
  EXPECT_EQ(f["reason"], "node n0: worker exited with code 3");
  EXPECT_EQ(f["usage"]["busy_core_s"], 2.5);
  EXPECT_EQ(f["usage"]["invocations"], 12);
  EXPECT_EQ(api.node("n0")["free_core_list"], json({0, 1, 2}));
  // Reports about unknown leases or other nodes' leases are ignored.
  api.heartbeat("n0", json::array({{{"id", "L424242"}, {"state", "failed"}}}));

  DbView db(dir.file("state.db"));
  const auto rows =
      db.rows("SELECT node, detail FROM ledger WHERE kind = 'fail' AND lease_id = '" + id + "'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "n0");
  EXPECT_EQ(json::parse(rows[0][1])["reason"], "node n0: worker exited with code 3");
  const auto u =
      json::parse(db.rows("SELECT detail FROM ledger WHERE kind = 'usage' AND lease_id = '" + id +
                          "' ORDER BY seq DESC LIMIT 1")[0][0]);
  EXPECT_EQ(u["usage"]["invocations"], 12);
  EXPECT_EQ(u["final"], true);
}

TEST(Failure, FinalUsageArrivesAfterRelease) {
  TempDir dir;
  InProcessManager m(test_config(dir));
  Api api = m.api();
  api.register_node("a", {0});
  api.register_node("b", {0});
  json l = api.grant({{"cores", 2}, {"seconds", 60}});
  const std::string id = l["id"];
  api.heartbeat("a", json::array({{{"id", id}, {"state", "running"}, {"usage", usage(1, 5)}}}));
  ASSERT_EQ(api.del("/v1/leases/" + id).status, 200);
  // The executors stop their workers and report the final figures.
  api.heartbeat("a", json::array({{{"id", id}, {"state", "stopped"}, {"usage", usage(3, 7)}}}));
  api.heartbeat("b", json::array({{{"id", id}, {"state", "stopped"}, {"usage", usage(1, 2)}}}));
  // A repeated report is not counted twice.
  api.heartbeat("b", json::array({{{"id", id}, {"state", "stopped"}, {"usage", usage(9, 9)}}}));
  json r = api.lease(id);
  EXPECT_EQ(r["state"], "released");
  EXPECT_EQ(r["usage"]["busy_core_s"], 4.0);
  EXPECT_EQ(r["usage"]["invocations"], 9);
  EXPECT_EQ(r["usage"]["allocated_core_s"], 4.0);

  DbView db(dir.file("state.db"));
  const auto entries = db.rows("SELECT detail FROM ledger WHERE kind = 'usage' AND lease_id = '" +
                               id + "' ORDER BY seq");
  ASSERT_EQ(entries.size(), 3u);  // at release, then one per executor's final report
  EXPECT_EQ(json::parse(entries[0][0])["final"], false);
  const auto last = json::parse(entries[2][0]);
  EXPECT_EQ(last["final"], true);
  EXPECT_EQ(last["usage"]["invocations"], 9);
  EXPECT_EQ(
      json::parse(db.rows("SELECT usage FROM leases WHERE id = '" + id + "'")[0][0])["invocations"],
      9);
}

TEST(Failure, RegisteringAgainWithoutLeasedCoresFailsThoseLeases) {
  TempDir dir;
  InProcessManager m(test_config(dir));
  Api api = m.api();
  api.register_node("n0", {0, 1, 2, 3});
  json keep = api.grant({{"cores", 2}, {"seconds", 60}});  // cores 0, 1
  json lose = api.grant({{"cores", 2}, {"seconds", 60}});  // cores 2, 3
  api.register_node("n0", {0, 1, 2}, 0, "127.0.0.1:7999");
  EXPECT_EQ(api.lease(keep["id"])["state"], "active");
  EXPECT_EQ(api.lease(keep["id"])["allocations"][0]["address"], "127.0.0.1:7999");
  json lost = api.lease(lose["id"]);
  EXPECT_EQ(lost["state"], "failed");
  EXPECT_EQ(lost["reason"], "node n0 registered again without core(s) 3");
  EXPECT_EQ(api.node("n0")["free_core_list"], json({2}));
  EXPECT_EQ(api.node("n0")["cores"], json({0, 1, 2}));
}

}  // namespace
}  // namespace hpcless::mtest
