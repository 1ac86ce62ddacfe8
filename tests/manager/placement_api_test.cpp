// Placement through the API: first-fit vs spread across three nodes, multi-node leases (one
// allocation and one token per node, memory split), whole refusals with a reason.
#include <gtest/gtest.h>

#include "comm/auth/lease_token.hpp"
#include "tests/manager/manager_fixture.hpp"

namespace hpcless::mtest {
namespace {

using nlohmann::json;

// node -> cores of the lease's allocation there.
std::map<std::string, json> by_node(const json& lease) {
  std::map<std::string, json> out;
  for (const auto& a : lease["allocations"]) out[a["node"]] = a["cores"];
  return out;
}

class PlacementApi : public ::testing::Test {
 protected:
  void SetUp() override {
    m_ = std::make_unique<InProcessManager>(test_config(dir_));
    api_ = std::make_unique<Api>(m_->api());
    // Registration order n0, n1, n2 (first-fit order); n1 has the most cores.
    api_->register_node("n0", {0, 1}, 0, "127.0.0.1:7100");
    api_->register_node("n1", {0, 1, 2, 3}, 0, "127.0.0.1:7101");
    api_->register_node("n2", {4, 5, 6}, 0, "127.0.0.1:7102");
  }
  TempDir dir_;
  std::unique_ptr<InProcessManager> m_;
  std::unique_ptr<Api> api_;
};

TEST_F(PlacementApi, FirstFitFillsNodesInRegistrationOrder) {
  json a = api_->grant({{"cores", 3}, {"seconds", 60}, {"policy", "first-fit"}});
  EXPECT_EQ(by_node(a), (std::map<std::string, json>{{"n0", {0, 1}}, {"n1", {0}}}));
  json b = api_->grant({{"cores", 1}, {"seconds", 60}});  // first-fit is the default
  EXPECT_EQ(by_node(b), (std::map<std::string, json>{{"n1", {1}}}));
}

TEST_F(PlacementApi, SpreadTakesFromTheNodeWithTheMostFreeCores) {
  json a = api_->grant({{"cores", 1}, {"seconds", 60}, {"policy", "spread"}});
  EXPECT_EQ(by_node(a), (std::map<std::string, json>{{"n1", {0}}}));
  // Free now: n0 2, n1 3, n2 3 -> n1, n2, then (n0 2, n1 2, n2 2) -> n0, n1, n2.
  json b = api_->grant({{"cores", 5}, {"seconds", 60}, {"policy", "spread"}});
  EXPECT_EQ(by_node(b), (std::map<std::string, json>{{"n0", {0}}, {"n1", {1, 2}}, {"n2", {4, 5}}}));
}

TEST_F(PlacementApi, MultiNodeLeaseHasOneAllocationAndTokenPerNode) {
  json l = api_->grant({{"cores", 9}, {"memory_mb", 900}, {"seconds", 60}, {"transport", "tcp"}});
  ASSERT_EQ(l["allocations"].size(), 3u);
  uint64_t mem = 0;
  std::set<std::string> tokens;
  for (const auto& a : l["allocations"]) {
    const TokenClaims c = verify(a["token"]);
    EXPECT_EQ(c.lease, l["id"]);
    EXPECT_EQ(c.node, a["node"]);
    EXPECT_EQ(json(c.cores), a["cores"]);
    EXPECT_EQ(c.memory_mb, a["memory_mb"].get<uint64_t>());
    // Memory in proportion to the cores: 100 MB per core here.
    EXPECT_EQ(a["memory_mb"].get<uint64_t>(), 100 * a["cores"].size());
    mem += a["memory_mb"].get<uint64_t>();
    tokens.insert(a["token"].get<std::string>());
  }
  EXPECT_EQ(mem, 900u);
  EXPECT_EQ(tokens.size(), 3u);
  EXPECT_EQ(l["allocations"][0]["address"], "127.0.0.1:7100");
  EXPECT_EQ(l["allocations"][2]["address"], "127.0.0.1:7102");
  // Each node's heartbeat answer lists only its own part.
  for (const char* n : {"n0", "n1", "n2"}) {
    json hb = api_->heartbeat(n);
    ASSERT_EQ(hb["leases"].size(), 1u) << n;
    EXPECT_EQ(hb["leases"][0]["cores"], by_node(l)[n]);
  }
}

TEST_F(PlacementApi, OverCapacityIsRefusedWholeWithTheReason) {
  json a = api_->grant({{"cores", 6}, {"seconds", 60}});
  auto r = api_->post("/v1/leases", json{{"cores", 4}, {"seconds", 60}});
  EXPECT_EQ(r.status, 409) << r.raw;
  EXPECT_EQ(r.error_message(), "need 4 cores, 3 free on 3 alive nodes");
  // Nothing partial: the three free cores are still free and no lease was created.
  EXPECT_EQ(api_->node("n1")["free_core_list"], json::array());
  EXPECT_EQ(api_->node("n2")["free_core_list"], json({4, 5, 6}));
  EXPECT_EQ(api_->get("/v1/leases").body["leases"].size(), 1u);
  auto no_rdma =
      api_->post("/v1/leases", json{{"cores", 1}, {"seconds", 60}, {"transport", "rdma"}});
  EXPECT_EQ(no_rdma.status, 409);
  EXPECT_NE(no_rdma.error_message().find("do not offer transport 'rdma'"), std::string::npos)
      << no_rdma.raw;
  json b = api_->grant({{"cores", 3}, {"seconds", 60}});
  EXPECT_EQ(by_node(b), (std::map<std::string, json>{{"n2", {4, 5, 6}}}));

  DbView db(dir_.file("state.db"));
  EXPECT_EQ(db.count("SELECT count(*) FROM ledger WHERE kind = 'refuse'"), 2);
  EXPECT_EQ(db.count("SELECT count(*) FROM allocations"), 9);
  const auto detail =
      json::parse(db.rows("SELECT detail FROM ledger WHERE kind = 'refuse' ORDER BY seq")[0][0]);
  EXPECT_EQ(detail["reason"], "need 4 cores, 3 free on 3 alive nodes");
  EXPECT_EQ(detail["request"]["cores"], 4);
}

TEST_F(PlacementApi, NodeMemoryAndWalltimeLimitPlacement) {
  // n3: big memory but its allocation ends in 10 s.
  const int64_t soon = auth::unix_now_ms() + 10000;
  auto r = api_->post("/v1/nodes", json{{"name", "n3"},
                                        {"address", "127.0.0.1:7103"},
                                        {"cores", {0, 1, 2, 3, 4, 5, 6, 7}},
                                        {"walltime_end_ms", soon}});
  ASSERT_EQ(r.status, 200) << r.raw;
  auto refused = api_->post("/v1/leases", json{{"cores", 10}, {"seconds", 60}});
  EXPECT_EQ(refused.status, 409);
  EXPECT_NE(refused.error_message().find("walltime"), std::string::npos) << refused.raw;
  json fits = api_->grant({{"cores", 10}, {"seconds", 5}});
  EXPECT_EQ(fits["allocations"].size(), 4u);
  // Renewing past the walltime of a node of the lease is refused.
  auto renew =
      api_->post("/v1/leases/" + fits["id"].get<std::string>() + "/renew", json{{"seconds", 60}});
  EXPECT_EQ(renew.status, 409);
  EXPECT_NE(renew.error_message().find("walltime"), std::string::npos) << renew.raw;
}

}  // namespace
}  // namespace hpcless::mtest
