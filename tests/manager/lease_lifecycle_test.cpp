// The lease lifecycle over the REST API of an in-process manager: grant, get, renew (new expiry,
// new valid tokens), release (idempotent), listing, the heartbeat answer, and expiry.
#include <gtest/gtest.h>

#include <thread>

#include "comm/auth/lease_token.hpp"
#include "tests/manager/manager_fixture.hpp"

namespace hpcless::mtest {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::vector<std::string> ids(const json& leases) {
  std::vector<std::string> out;
  for (const auto& l : leases) out.push_back(l["id"].get<std::string>());
  return out;
}

TEST(LeaseLifecycle, GrantGetRenewReleaseList) {
  TempDir dir;
  InProcessManager m(test_config(dir));
  Api api = m.api();
  api.register_node("n0", {0, 1, 2, 3}, 4096, "127.0.0.1:7101");

  const int64_t before = auth::unix_now_ms();
  json l = api.grant({{"cores", 2}, {"memory_mb", 1024}, {"seconds", 30}, {"hot_timeout_ms", 5}});
  ASSERT_EQ(l["id"], "L000001");
  EXPECT_EQ(l["state"], "active");
  EXPECT_EQ(l["cores"], 2);
  EXPECT_EQ(l["memory_mb"], 1024);
  EXPECT_EQ(l["transport"], "tcp");
  EXPECT_EQ(l["hot_timeout_ms"], 5);
  EXPECT_TRUE(l["ended_ms"].is_null());
  EXPECT_TRUE(l["reason"].is_null());
  EXPECT_GE(l["created_ms"].get<int64_t>(), before);
  EXPECT_EQ(l["expires_at_ms"].get<int64_t>(), l["created_ms"].get<int64_t>() + 30000);
  ASSERT_EQ(l["allocations"].size(), 1u);
  const json& a = l["allocations"][0];
  EXPECT_EQ(a["node"], "n0");
  EXPECT_EQ(a["address"], "127.0.0.1:7101");
  EXPECT_EQ(a["cores"], json({0, 1}));
  EXPECT_EQ(a["memory_mb"], 1024);
  for (const char* k : {"allocated_core_s", "busy_core_s", "hot_poll_core_s", "idle_core_s",
                        "invocations", "errors"})
    EXPECT_EQ(l["usage"][k], 0) << k;

  TokenClaims c = verify(a["token"].get<std::string>());
  EXPECT_EQ(c.lease, "L000001");
  EXPECT_EQ(c.node, "n0");
  EXPECT_EQ(c.cores, (std::vector<int>{0, 1}));
  EXPECT_EQ(c.memory_mb, 1024u);
  EXPECT_EQ(c.expires_at_ms, l["expires_at_ms"].get<int64_t>());
  EXPECT_EQ(c.transport, "tcp");
  EXPECT_EQ(c.hot_timeout_ms, 5);
  // A token signed with another secret is refused.
  EXPECT_EQ(auth::verify_lease_token(a["token"].get<std::string>(), "another-secret-0123456789",
                                     auth::unix_now_ms())
                .result,
            auth::TokenCheck::kBadSignature);

  EXPECT_EQ(api.lease("L000001"), l);
  EXPECT_EQ(api.node("n0")["free_core_list"], json({2, 3}));
  EXPECT_EQ(api.node("n0")["free_cores"], 2);  // the count (free_core_list says which)
  EXPECT_EQ(api.node("n0")["state"], "alive");

  // The node's heartbeat answer lists the lease with its part of it.
  json hb = api.heartbeat("n0");
  ASSERT_EQ(hb["leases"].size(), 1u);
  EXPECT_EQ(hb["leases"][0]["id"], "L000001");
  EXPECT_EQ(hb["leases"][0]["cores"], json({0, 1}));
  EXPECT_EQ(hb["leases"][0]["memory_mb"], 1024);
  EXPECT_EQ(hb["leases"][0]["expires_at_ms"], l["expires_at_ms"]);
  EXPECT_EQ(hb["leases"][0]["hot_timeout_ms"], 5);
  EXPECT_EQ(hb["leases"][0]["transport"], "tcp");

  // Renew: a later expiry and a new token that carries it.
  std::this_thread::sleep_for(5ms);
  auto r = api.post("/v1/leases/L000001/renew", json{{"seconds", 120}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["state"], "active");
  const int64_t new_exp = r.body["expires_at_ms"].get<int64_t>();
  EXPECT_GT(new_exp, l["expires_at_ms"].get<int64_t>() + 80000);
  const std::string new_token = r.body["allocations"][0]["token"].get<std::string>();
  EXPECT_NE(new_token, a["token"].get<std::string>());
  EXPECT_EQ(verify(new_token).expires_at_ms, new_exp);
  EXPECT_EQ(api.lease("L000001")["expires_at_ms"], new_exp);
  EXPECT_EQ(api.heartbeat("n0")["leases"][0]["expires_at_ms"], new_exp);

  json l2 = api.grant({{"cores", 1}, {"seconds", 10}});
  EXPECT_EQ(l2["id"], "L000002");
  EXPECT_EQ(l2["allocations"][0]["cores"], json({2}));
  EXPECT_EQ(l2["memory_mb"], 0);

  auto active = api.get("/v1/leases?state=active");
  ASSERT_EQ(active.status, 200);
  EXPECT_EQ(ids(active.body["leases"]), (std::vector<std::string>{"L000002", "L000001"}));

  // Release: state released, cores back, the heartbeat answer no longer lists it.
  auto rel = api.del("/v1/leases/L000001");
  ASSERT_EQ(rel.status, 200) << rel.raw;
  EXPECT_EQ(rel.body["state"], "released");
  EXPECT_TRUE(rel.body["ended_ms"].is_number());
  EXPECT_EQ(api.node("n0")["free_core_list"], json({0, 1, 3}));
  EXPECT_EQ(ids(api.heartbeat("n0")["leases"]), (std::vector<std::string>{"L000002"}));
  // Releasing again is a no-op answering the same lease.
  auto again = api.del("/v1/leases/L000001");
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.body, rel.body);
  // An ended lease cannot be renewed.
  auto renew_ended = api.post("/v1/leases/L000001/renew", json{{"seconds", 10}});
  EXPECT_EQ(renew_ended.status, 409);
  EXPECT_NE(renew_ended.error_message().find("released"), std::string::npos) << renew_ended.raw;

  EXPECT_EQ(ids(api.get("/v1/leases?state=released").body["leases"]),
            (std::vector<std::string>{"L000001"}));
  EXPECT_EQ(ids(api.get("/v1/leases").body["leases"]),
            (std::vector<std::string>{"L000002", "L000001"}));
  EXPECT_EQ(ids(api.get("/v1/leases?state=active").body["leases"]),
            (std::vector<std::string>{"L000002"}));

  EXPECT_EQ(api.get("/v1/leases/L999999").status, 404);
  EXPECT_EQ(api.del("/v1/leases/L999999").status, 404);
  EXPECT_EQ(api.post("/v1/leases/L999999/renew", json{{"seconds", 1}}).status, 404);

  // The ledger holds every step, in order.
  m.stop();
  DbView db(dir.file("state.db"));
  EXPECT_EQ(db.rows("SELECT kind, ifnull(lease_id, ''), ifnull(node, '') FROM ledger ORDER BY seq"),
            (std::vector<std::vector<std::string>>{{"node_register", "", "n0"},
                                                   {"grant", "L000001", ""},
                                                   {"renew", "L000001", ""},
                                                   {"grant", "L000002", ""},
                                                   {"release", "L000001", ""},
                                                   {"usage", "L000001", ""}}));
  EXPECT_EQ(db.count("SELECT count(*) FROM allocations WHERE lease_id = 'L000002'"), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM allocations WHERE lease_id = 'L000001'"), 0);
}

TEST(LeaseLifecycle, ExpiryFreesTheCores) {
  TempDir dir;
  InProcessManager m(test_config(dir));
  Api api = m.api();
  api.register_node("n0", {0, 1});
  json l = api.grant({{"cores", 2}, {"seconds", 1}});
  const std::string id = l["id"];
  EXPECT_EQ(api.post("/v1/leases", json{{"cores", 1}, {"seconds", 1}}).status, 409);
  const int64_t expires = l["expires_at_ms"];

  ASSERT_TRUE(eventually([&] { return api.lease(id)["state"] == "expired"; }, 5s));
  const json ended = api.lease(id);
  // The reaper runs at the deadline (and at least every 100 ms).
  EXPECT_GE(ended["ended_ms"].get<int64_t>(), expires);
  EXPECT_LT(ended["ended_ms"].get<int64_t>(), expires + 1000);
  EXPECT_EQ(api.node("n0")["free_core_list"], json({0, 1}));
  EXPECT_TRUE(api.heartbeat("n0")["leases"].empty());
  json l2 = api.grant({{"cores", 2}, {"seconds", 30}});
  EXPECT_EQ(l2["allocations"][0]["cores"], json({0, 1}));
  EXPECT_EQ(api.post("/v1/leases/" + id + "/renew", json{{"seconds", 5}}).status, 409);

  DbView db(dir.file("state.db"));
  EXPECT_EQ(
      db.count("SELECT count(*) FROM ledger WHERE kind = 'expire' AND lease_id = '" + id + "'"), 1);
  EXPECT_EQ(db.rows("SELECT state FROM leases WHERE id = '" + id + "'")[0][0], "expired");
}

TEST(LeaseLifecycle, FractionalSecondsAndDefaultsFromTheConfig) {
  TempDir dir;
  auto cfg = test_config(dir);
  cfg.default_hot_timeout_ms = 250;
  cfg.default_policy = manager::Policy::kSpread;
  InProcessManager m(cfg);
  Api api = m.api();
  api.register_node("a", {0, 1});
  api.register_node("b", {0, 1});
  json l = api.grant({{"cores", 2}, {"seconds", 0.5}});
  EXPECT_EQ(l["expires_at_ms"].get<int64_t>() - l["created_ms"].get<int64_t>(), 500);
  EXPECT_EQ(l["hot_timeout_ms"], 250);
  EXPECT_EQ(l["policy"], "spread");
  EXPECT_EQ(l["allocations"].size(), 2u);
}

}  // namespace
}  // namespace hpcless::mtest
