// /metrics (Prometheus text format) and /v1/health after a known sequence of events.
#include <gtest/gtest.h>

#include "tests/manager/manager_fixture.hpp"

namespace hpcless::mtest {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// The value of one sample line "name{labels} value", or -1 when absent.
double sample(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  size_t pos = 0;
  while ((pos = text.find(prefix, pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n')
      return std::stod(
          text.substr(pos + prefix.size(), text.find('\n', pos) - pos - prefix.size()));
    pos += prefix.size();
  }
  return -1;
}

bool well_formed(const std::string& l) {
  size_t i = 0;
  while (i < l.size() && ((l[i] >= 'a' && l[i] <= 'z') || l[i] == '_')) ++i;
  if (i == 0) return false;
  if (i < l.size() && l[i] == '{') {
    const size_t close = l.find('}', i);
    const size_t eq = l.find("=\"", i);
    if (close == std::string::npos || eq == std::string::npos || eq > close || l[close - 1] != '"')
      return false;
    i = close + 1;
  }
  if (i >= l.size() || l[i] != ' ') return false;
  const std::string number = l.substr(i + 1);
  size_t used = 0;
  try {
    std::stod(number, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == number.size();
}

TEST(Metrics, CountersAndGauges) {
  TempDir dir;
  auto cfg = test_config(dir);
  cfg.heartbeat_interval_ms = 50;
  cfg.dead_after_ms = 300;
  InProcessManager m(cfg);
  Api api = m.api();
  api.register_node("n0", {0, 1, 2, 3});
  api.register_node("gone", {0});
  json a = api.grant({{"cores", 2}, {"seconds", 60}, {"policy", "first-fit"}});
  json b = api.grant({{"cores", 1}, {"seconds", 0.2}});
  json c = api.grant({{"cores", 1}, {"seconds", 60}});
  EXPECT_EQ(api.post("/v1/leases", json{{"cores", 4}, {"seconds", 60}}).status, 409);
  EXPECT_EQ(api.del("/v1/leases/" + c["id"].get<std::string>()).status, 200);
  EXPECT_EQ(api.raw("GET", "/v1/nodes", "", std::nullopt).status, 401);
  // b expires; "gone" dies (n0 keeps beating).
  ASSERT_TRUE(eventually(
      [&] {
        api.heartbeat("n0");
        return api.lease(b["id"])["state"] == "expired" && api.node("gone")["state"] == "dead";
      },
      5s));

  auto r = api.get("/metrics");
  ASSERT_EQ(r.status, 200);
  const std::string& t = r.raw;
  for (const char* family : {"hpcless_nodes", "hpcless_cores", "hpcless_leases_active",
                             "hpcless_lease_grants_total", "hpcless_lease_refusals_total",
                             "hpcless_lease_expiries_total", "hpcless_lease_failures_total",
                             "hpcless_lease_releases_total", "hpcless_http_requests_total"})
    EXPECT_NE(t.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
  EXPECT_EQ(sample(t, "hpcless_nodes{state=\"alive\"}"), 1);
  EXPECT_EQ(sample(t, "hpcless_nodes{state=\"dead\"}"), 1);
  EXPECT_EQ(sample(t, "hpcless_cores{state=\"free\"}"), 2);
  EXPECT_EQ(sample(t, "hpcless_cores{state=\"leased\"}"), 2);
  EXPECT_EQ(sample(t, "hpcless_leases_active"), 1);
  EXPECT_EQ(sample(t, "hpcless_lease_grants_total"), 3);
  EXPECT_EQ(sample(t, "hpcless_lease_refusals_total"), 1);
  EXPECT_EQ(sample(t, "hpcless_lease_expiries_total"), 1);
  EXPECT_EQ(sample(t, "hpcless_lease_failures_total"), 0);
  EXPECT_EQ(sample(t, "hpcless_lease_releases_total"), 1);
  EXPECT_EQ(sample(t, "hpcless_http_requests_total{code=\"201\"}"), 3);
  EXPECT_EQ(sample(t, "hpcless_http_requests_total{code=\"409\"}"), 1);
  EXPECT_EQ(sample(t, "hpcless_http_requests_total{code=\"401\"}"), 1);
  EXPECT_GE(sample(t, "hpcless_http_requests_total{code=\"200\"}"), 5);
  // Every non-comment line is "name{label=\"value\"} number" or "name number".
  size_t start = 0;
  while (start < t.size()) {
    const size_t end = t.find('\n', start);
    const std::string l = t.substr(start, end - start);
    start = end + 1;
    if (l.empty() || l[0] == '#') continue;
    EXPECT_TRUE(well_formed(l)) << l;
  }

  auto h = api.get("/v1/health");
  EXPECT_EQ(h.body["nodes_alive"], 1);
}

}  // namespace
}  // namespace hpcless::mtest
