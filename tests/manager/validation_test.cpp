// Bad input to the REST API: every error is a JSON {"error"} with the right status, naming the
// field and what to do, and nothing is granted or changed.
#include <gtest/gtest.h>

#include "comm/base/error.hpp"
#include "tests/manager/manager_fixture.hpp"

namespace hpcless::mtest {
namespace {

using nlohmann::json;

class Validation : public ::testing::Test {
 protected:
  void SetUp() override {
    m_ = std::make_unique<InProcessManager>(test_config(dir_));
    api_ = std::make_unique<Api>(m_->api());
    api_->register_node("n0", {0, 1, 2, 3});
  }
  // Expects `status` with an error message containing every one of `words`.
  void expect_error(const Reply& r, int status, std::vector<const char*> words) {
    EXPECT_EQ(r.status, status) << r.raw;
    ASSERT_TRUE(r.body.is_object()) << "error answers are JSON: " << r.raw;
    const std::string msg = r.error_message();
    EXPECT_FALSE(msg.empty()) << r.raw;
    for (const char* w : words)
      EXPECT_NE(msg.find(w), std::string::npos) << "'" << w << "' in: " << msg;
  }
  void expect_nothing_granted() {
    EXPECT_EQ(api_->node("n0")["free_core_list"], json({0, 1, 2, 3}));
    EXPECT_TRUE(api_->get("/v1/leases").body["leases"].empty());
  }

  TempDir dir_;
  std::unique_ptr<InProcessManager> m_;
  std::unique_ptr<Api> api_;
};

TEST_F(Validation, ApiTokenIsRequiredExceptForHealth) {
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/v1/nodes"},
                                                        {"POST", "/v1/leases"},
                                                        {"GET", "/v1/leases"},
                                                        {"GET", "/v1/leases/L000001"},
                                                        {"DELETE", "/v1/leases/L000001"},
                                                        {"POST", "/v1/nodes/n0/heartbeat"},
                                                        {"GET", "/metrics"},
                                                        {"PUT", "/v1/kv/k"},
                                                        {"GET", "/v1/kv/k"}}) {
    expect_error(api_->raw(method, path, "{}", std::nullopt), 401, {"Authorization"});
    expect_error(api_->raw(method, path, "{}", std::string("Bearer wrong")), 401,
                 {"wrong API token"});
    expect_error(api_->raw(method, path, "{}", std::string("Bearer ") + kApiToken + "x"), 401, {});
    expect_error(api_->raw(method, path, "{}", std::string(kApiToken)), 401, {});
  }
  auto h = api_->raw("GET", "/v1/health", "", std::nullopt);
  ASSERT_EQ(h.status, 200);
  EXPECT_EQ(h.body["status"], "ok");
  EXPECT_EQ(h.body["nodes_alive"], 1);
  EXPECT_TRUE(h.body["version"].is_string());
  expect_nothing_granted();
}

TEST_F(Validation, LeaseRequestFields) {
  struct Case {
    std::string body;
    std::vector<const char*> words;
  };
  const std::vector<Case> cases = {
      {"{\"cores\": 1, ", {"not valid JSON"}},
      {"", {"not valid JSON"}},
      {"[1, 2]", {"JSON object"}},
      {"{\"seconds\": 10}", {"'cores'", "missing"}},
      {"{\"cores\": 1}", {"'seconds'", "missing"}},
      {"{\"cores\": 0, \"seconds\": 10}", {"'cores'", "1 to 1024"}},
      {"{\"cores\": -3, \"seconds\": 10}", {"'cores'"}},
      {"{\"cores\": 1e9, \"seconds\": 10}", {"'cores'", "1 to 1024"}},
      {"{\"cores\": 1000000000, \"seconds\": 10}", {"'cores'"}},
      {"{\"cores\": 18446744073709551615, \"seconds\": 10}", {"'cores'"}},
      {"{\"cores\": 1.5, \"seconds\": 10}", {"'cores'", "integer"}},
      {"{\"cores\": \"2\", \"seconds\": 10}", {"'cores'"}},
      {"{\"cores\": 1, \"seconds\": -1}", {"'seconds'", "above 0"}},
      {"{\"cores\": 1, \"seconds\": 0}", {"'seconds'"}},
      {"{\"cores\": 1, \"seconds\": 3601}", {"'seconds'", "3600", "max_lease_seconds"}},
      {"{\"cores\": 1, \"seconds\": 1e300}", {"'seconds'"}},
      {"{\"cores\": 1, \"seconds\": \"10\"}", {"'seconds'"}},
      {"{\"cores\": 1, \"seconds\": 0.0001}", {"'seconds'"}},
      {"{\"cores\": 1, \"seconds\": 10, \"memory_mb\": -1}", {"'memory_mb'"}},
      {"{\"cores\": 1, \"seconds\": 10, \"memory_mb\": 1e20}", {"'memory_mb'"}},
      {"{\"cores\": 1, \"seconds\": 10, \"hot_timeout_ms\": -2}", {"'hot_timeout_ms'", "-1"}},
      {"{\"cores\": 1, \"seconds\": 10, \"policy\": \"best\"}", {"'policy'", "spread"}},
      {"{\"cores\": 1, \"seconds\": 10, \"transport\": \"TCP!\"}", {"'transport'"}},
      {"{\"cores\": 1, \"seconds\": 10, \"transport\": 7}", {"'transport'"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    expect_error(api_->post("/v1/leases", c.body), 400, c.words);
  }
  expect_nothing_granted();
  // Unknown fields are ignored; nulls mean "not given".
  auto ok = api_->post("/v1/leases",
                       json{{"cores", 1}, {"seconds", 5}, {"memory_mb", nullptr}, {"label", "x"}});
  EXPECT_EQ(ok.status, 201) << ok.raw;
}

TEST_F(Validation, RenewNodeAndHeartbeatBodies) {
  json l = api_->grant({{"cores", 1}, {"seconds", 10}});
  const std::string renew = "/v1/leases/" + l["id"].get<std::string>() + "/renew";
  expect_error(api_->post(renew, "{}"), 400, {"'seconds'", "missing"});
  expect_error(api_->post(renew, json{{"seconds", -5}}), 400, {"'seconds'"});
  expect_error(api_->post(renew, json{{"seconds", 100000}}), 400,
               {"'seconds'", "max_lease_seconds"});
  expect_error(api_->post(renew, "nope"), 400, {"not valid JSON"});
  EXPECT_EQ(api_->lease(l["id"])["expires_at_ms"], l["expires_at_ms"]);

  const std::vector<std::pair<json, std::vector<const char*>>> nodes = {
      {{{"address", "h:1"}, {"cores", {0}}}, {"'name'", "missing"}},
      {{{"name", "bad name"}, {"address", "h:1"}, {"cores", {0}}}, {"'name'"}},
      {{{"name", "x"}, {"cores", {0}}}, {"'address'", "missing"}},
      {{{"name", "x"}, {"address", "nohost"}, {"cores", {0}}}, {"'address'", "host:port"}},
      {{{"name", "x"}, {"address", "h:99999"}, {"cores", {0}}}, {"'address'"}},
      {{{"name", "x"}, {"address", "h:1"}}, {"'cores'", "missing"}},
      {{{"name", "x"}, {"address", "h:1"}, {"cores", json::array()}}, {"'cores'"}},
      {{{"name", "x"}, {"address", "h:1"}, {"cores", {1, 1}}}, {"'cores'", "twice"}},
      {{{"name", "x"}, {"address", "h:1"}, {"cores", {-1}}}, {"cores[]"}},
      {{{"name", "x"}, {"address", "h:1"}, {"cores", {0}}, {"memory_mb", -4}}, {"'memory_mb'"}},
      {{{"name", "x"}, {"address", "h:1"}, {"cores", {0}}, {"transports", {1}}}, {"'transports'"}},
      {{{"name", "x"}, {"address", "h:1"}, {"cores", {0}}, {"walltime_end_ms", -1}},
       {"'walltime_end_ms'"}},
  };
  for (const auto& [body, words] : nodes) {
    SCOPED_TRACE(body.dump());
    expect_error(api_->post("/v1/nodes", body), 400, words);
  }
  EXPECT_TRUE(api_->node("x").is_null());

  const std::string hb = "/v1/nodes/n0/heartbeat";
  expect_error(api_->post(hb, json{{"leases", 3}}), 400, {"'leases'"});
  expect_error(api_->post(hb, json{{"leases", {{{"state", "running"}}}}}), 400, {"'leases[].id'"});
  expect_error(api_->post(hb, json{{"leases", {{{"id", "L1"}, {"state", "zombie"}}}}}), 400,
               {"'leases[].state'", "running"});
  expect_error(
      api_->post(hb,
                 json{{"leases",
                       {{{"id", "L1"}, {"state", "running"}, {"usage", {{"busy_core_s", -1}}}}}}}),
      400, {"usage.busy_core_s"});
  expect_error(api_->post("/v1/nodes/ghost/heartbeat", json{{"leases", json::array()}}), 404,
               {"not registered", "POST /v1/nodes"});
  EXPECT_EQ(api_->post(hb, "").status, 200);  // an empty body is an empty report
}

TEST_F(Validation, OversizedBodiesUnknownRoutesAndParameters) {
  const std::string big(2 << 20, 'x');
  expect_error(api_->post("/v1/leases", big), 413, {"1 MiB"});
  expect_error(api_->put("/v1/kv/big", big), 413, {"1 MiB"});
  expect_error(api_->get("/v1/nothing"), 404, {"no route"});
  expect_error(api_->get("/v1/leases?state=sleeping"), 400, {"'state'"});
  expect_error(api_->get("/v1/leases?limit=0"), 400, {"'limit'"});
  expect_error(api_->get("/v1/kv/k?wait_ms=60001"), 400, {"'wait_ms'", "60000"});
  expect_error(api_->get("/v1/kv/k?wait_ms=-1"), 400, {"'wait_ms'"});
  // The server still answers normally afterwards.
  EXPECT_EQ(api_->get("/v1/nodes").status, 200);
  expect_nothing_granted();
}

TEST(ManagerConfig, BadSettingsAreConfigErrorsNamingTheKey) {
  using manager::manager_config_from_json;
  auto throws_with = [](const json& j, const char* word) {
    try {
      auto c = manager_config_from_json(j, "test");
      manager::finalize_manager_config(c);
      ADD_FAILURE() << "accepted " << j.dump();
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
    }
  };
  const json ok = {{"api_token", "t"}, {"token_secret", "0123456789abcdef"}};
  auto with = [&](const char* k, json v) {
    json j = ok;
    j[k] = std::move(v);
    return j;
  };
  throws_with(with("bogus", 1), "unknown key 'bogus'");
  throws_with(with("dead_after_ms", "3000"), "dead_after_ms");
  throws_with(with("dead_after_ms", 100), "dead_after_ms");
  throws_with(with("heartbeat_interval_ms", -5), "heartbeat_interval_ms");
  throws_with(with("token_secret", "short"), "token_secret");
  throws_with(with("listen", "127.0.0.1"), "listen");
  throws_with(with("default_policy", "random"), "default_policy");
  throws_with(with("http_threads", 0), "http_threads");
  if (!std::getenv("HPCLESS_API_TOKEN"))
    throws_with(json{{"token_secret", "0123456789abcdef"}}, "api_token");
  auto c = manager_config_from_json(ok, "test");
  manager::finalize_manager_config(c);
  EXPECT_EQ(c.dead_after_ms, 3000);
  EXPECT_EQ(c.heartbeat_interval_ms, 500);
  EXPECT_EQ(c.max_lease_seconds, 86400);
  EXPECT_EQ(c.listen, "127.0.0.1:7000");

  // A second manager on the same database is refused.
  TempDir dir;
  InProcessManager first(test_config(dir));
  manager::Manager second;
  try {
    second.start(test_config(dir));
    ADD_FAILURE() << "a second manager started on the same database";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another hpcless-manager"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace hpcless::mtest
