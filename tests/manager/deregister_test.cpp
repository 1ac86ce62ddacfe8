// DELETE /v1/nodes/{name}: an executor leaving the pool (idle on-demand executors do).
#include <gtest/gtest.h>

#include "comm/base/json.hpp"
#include "tests/manager/manager_fixture.hpp"

namespace hpcless::mtest {
namespace {

using nlohmann::json;

TEST(Deregister, NodeLeavesOnlyWithoutActiveLeases) {
  TempDir dir;
  InProcessManager m(test_config(dir));
  Api api = m.api();
  api.register_node("n0", {0, 1});
  const json lease = api.grant({{"cores", 1}, {"seconds", 60}});

  Reply r = api.del("/v1/nodes/n0");
  EXPECT_EQ(r.status, 409) << r.raw;
  EXPECT_NE(r.error_message().find(lease["id"].get<std::string>()), std::string::npos) << r.raw;
  EXPECT_EQ(api.node("n0")["state"], "alive");

  ASSERT_EQ(api.del("/v1/leases/" + lease["id"].get<std::string>()).status, 200);
  r = api.del("/v1/nodes/n0");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["state"], "dead");
  EXPECT_EQ(api.node("n0")["state"], "dead");
  EXPECT_EQ(api.node("n0")["free_cores"], 0);
  EXPECT_EQ(api.post("/v1/leases", json{{"cores", 1}, {"seconds", 10}}).status, 409)
      << "a node that left takes no leases";
  EXPECT_EQ(api.del("/v1/nodes/n0").status, 200) << "leaving twice is a no-op";
  EXPECT_EQ(api.del("/v1/nodes/nobody").status, 404);
  EXPECT_EQ(api.post("/v1/nodes/n0/heartbeat", json{{"leases", json::array()}}).status, 404)
      << "the executor registers again if it is still there";
  api.register_node("n0", {0, 1});
  EXPECT_EQ(api.node("n0")["state"], "alive");

  m.stop();
  DbView view(dir.file("state.db"));
  EXPECT_EQ(view.count("SELECT count(*) FROM ledger WHERE kind = 'node_dead' AND node = 'n0' "
                       "AND json_extract(detail, '$.deregistered') = 1"),
            1);
}

}  // namespace
}  // namespace hpcless::mtest
