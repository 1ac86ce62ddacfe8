// 50 clients ask for leases at the same moment against 3 nodes with few cores: no core is ever
// granted twice (checked in the answers and in the database), refusals are clean 409s.
#include <gtest/gtest.h>

#include <barrier>
#include <map>
#include <set>
#include <thread>

#include "tests/manager/manager_fixture.hpp"

namespace hpcless::mtest {
namespace {

using nlohmann::json;

TEST(Concurrency, FiftyClientsNeverShareACore) {
  constexpr int kClients = 50;
  constexpr int kRounds = 3;
  TempDir dir;
  InProcessManager m(test_config(dir));
  {
    Api api = m.api();
    api.register_node("n0", {0, 1, 2, 3, 4, 5, 6, 7});
    api.register_node("n1", {0, 1, 2, 3, 4, 5, 6, 7});
    api.register_node("n2", {0, 1, 2, 3, 4, 5, 6, 7});
  }
  struct Outcome {
    int status = 0;
    json body;
  };
  std::vector<Outcome> outcome(kClients);
  std::barrier sync(kClients + 1);
  int total_grants = 0, total_refusals = 0;

  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      Api api = m.api();
      for (int round = 0; round < kRounds; ++round) {
        sync.arrive_and_wait();  // all ask at once
        const json req = {{"cores", 1 + (t + round) % 3},
                          {"seconds", 60},
                          {"policy", t % 2 ? "spread" : "first-fit"}};
        Reply r = api.post("/v1/leases", req);
        outcome[static_cast<size_t>(t)] = {r.status, r.body};
        sync.arrive_and_wait();  // the main thread checks
        sync.arrive_and_wait();
        if (r.status == 201) api.del("/v1/leases/" + r.body["id"].get<std::string>());
      }
    });
  }
  for (int round = 0; round < kRounds; ++round) {
    sync.arrive_and_wait();
    sync.arrive_and_wait();
    std::set<std::pair<std::string, int>> held;
    size_t granted_cores = 0;
    int grants = 0;
    for (const auto& o : outcome) {
      if (o.status == 201) {
        ++grants;
        int cores = 0;
        for (const auto& a : o.body["allocations"])
          for (int c : a["cores"]) {
            EXPECT_TRUE(held.insert({a["node"].get<std::string>(), c}).second)
                << "core " << c << " of " << a["node"] << " granted twice";
            ++cores;
          }
        EXPECT_EQ(cores, o.body["cores"].get<int>());
        granted_cores += static_cast<size_t>(cores);
      } else {
        EXPECT_EQ(o.status, 409) << o.body.dump();
        EXPECT_EQ(o.body["error"].get<std::string>().rfind("need ", 0), 0u) << o.body.dump();
        ++total_refusals;
      }
    }
    total_grants += grants;
    EXPECT_LE(granted_cores, 24u);
    EXPECT_GE(granted_cores, 22u) << "first-fit/spread leave at most 2 cores unused here";
    // The database agrees: exactly these cores are allocated.
    DbView db(dir.file("state.db"));
    std::set<std::pair<std::string, int>> in_db;
    for (const auto& row : db.rows("SELECT node, core FROM allocations"))
      in_db.insert({row[0], std::stoi(row[1])});
    EXPECT_EQ(in_db, held) << "round " << round;
    EXPECT_EQ(db.count("SELECT count(*) FROM allocations"), static_cast<int64_t>(granted_cores));
    sync.arrive_and_wait();
  }
  for (auto& t : threads) t.join();

  m.stop();
  DbView db(dir.file("state.db"));
  EXPECT_EQ(db.count("SELECT count(*) FROM ledger WHERE kind = 'grant'"), total_grants);
  EXPECT_EQ(db.count("SELECT count(*) FROM ledger WHERE kind = 'refuse'"), total_refusals);
  EXPECT_EQ(db.count("SELECT count(*) FROM ledger WHERE kind = 'release'"), total_grants);
  EXPECT_EQ(db.count("SELECT count(*) FROM allocations"), 0);
  EXPECT_EQ(total_grants + total_refusals, kClients * kRounds);
  // Every grant in the ledger lists cores that no other grant held at the same time: replay it.
  std::map<std::pair<std::string, int>, std::string> owner;
  for (const auto& row : db.rows("SELECT kind, lease_id, detail FROM ledger "
                                 "WHERE kind IN ('grant', 'release') ORDER BY seq")) {
    const json d = json::parse(row[2]);
    if (row[0] == "grant") {
      for (const auto& a : d["allocations"])
        for (int c : a["cores"]) {
          auto [it, fresh] = owner.insert({{a["node"].get<std::string>(), c}, row[1]});
          EXPECT_TRUE(fresh) << row[1] << " got core " << c << " of " << a["node"] << " held by "
                             << it->second;
        }
    } else {
      std::erase_if(owner, [&](const auto& kv) { return kv.second == row[1]; });
    }
  }
}

}  // namespace
}  // namespace hpcless::mtest
