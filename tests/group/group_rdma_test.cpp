// A group invocation on the direct channel over RDMA, end to end, inside the soft-RoCE guest
// (label rdma): a real hpcless-manager and two managed executors started with --rdma-address
// (their workers export it to group functions), a lease of 4 cores (4 ranks, 2 per worker
// process), `hpcless invoke --group group.sum --channel direct-rdma`, then the same through
// Lease::invoke_group with group.kmeans checked against the serial computation.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "client/lib/lease_session.hpp"
#include "functions/group/group_inputs.hpp"
#include "tests/comm/support/watchdog.hpp"
#include "tests/lease_client/lease_test_support.hpp"

using namespace hpcless;
using namespace std::chrono_literals;

namespace {

std::string rdma_address() {
  const char* a = std::getenv("HPCLESS_RDMA_ADDRESS");
  return a != nullptr && *a != '\0' ? a : "198.18.0.1";
}

std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

TEST(GroupOverRdma, InvokeGroupOnTheDirectRdmaChannelFromTheCliAndTheApi) {
  comm::testing::Watchdog dog(150s, "GroupOverRdma");
  ltest::ManagerProcess manager({{"heartbeat_interval_ms", 200}});
  const std::vector<std::string> rdma = {"--rdma-address", rdma_address()};
  ltest::ExecutorProcess n1(manager, "n1", "0,1", 500, HPCLESS_GROUP_PACKAGE, rdma);
  ltest::ExecutorProcess n2(manager, "n2", "0,1", 500, HPCLESS_GROUP_PACKAGE, rdma);
  client::LeaseClient lc(manager.options());
  ltest::wait_for_nodes(lc, {"n1", "n2"});
  auto logs = [&] { return "n1:\n" + n1.log() + "\nn2:\n" + n2.log(); };

  client::LeaseRequest req;
  req.cores = 4;
  req.seconds = 120;
  req.policy = "spread";
  req.hot_timeout_ms = 0;
  client::SessionOptions so;
  so.connect.busy_poll = false;
  so.connect.hot_timeout_ms = 0;
  auto l = client::Lease::acquire(lc, req, so);
  ASSERT_EQ(l.group_size(), 4u);

  int64_t total = 0;
  for (int64_t i = 0; i < 100'000; ++i) total += group_fn::sum_expected(4, size_t(i));
  const std::vector<std::string> env = {std::string("HPCLESS_API_TOKEN=") + ltest::kApiToken};
  const auto res = ltest::run_cli(
      {"invoke", "--manager", manager.url(), "--lease", l.id(), "--group", "group.sum", "--channel",
       "direct-rdma", "--input", "n=100000", "--timeout-ms", "30000"},
      env);
  ASSERT_EQ(res.exit_code, 0) << res.out << res.err << logs();
  EXPECT_NE(
      res.out.find("total=" + std::to_string(total) + " n=100000 ranks=4 channel=direct-rdma"),
      std::string::npos)
      << res.out;

  const size_t points = 20000, k = 5, dim = 3;
  const uint64_t seed = 7;
  auto centroids = group_fn::kmeans_initial(seed, k, dim);
  for (int s = 0; s < 2; ++s) {
    std::vector<double> acc(k * (dim + 1), 0.0);
    group_fn::kmeans_accumulate(seed, 0, points, dim, centroids, acc);
    centroids = group_fn::kmeans_update(centroids, acc, dim);
  }
  client::GroupOptions go;
  go.channel = "direct-rdma";
  const auto g = l.invoke_group("group.kmeans", bytes("points=20000 k=5 dim=3 seed=7 steps=2"),
                                Deadline::after(30s), go);
  std::string why;
  for (const auto& r : g.ranks) why += "rank " + std::to_string(r.rank) + ": " + r.message() + "\n";
  ASSERT_TRUE(g.ok()) << why << logs();
  // Integer coordinates: the distributed sums equal the serial ones exactly.
  EXPECT_EQ(g.ranks[0].result.output_text(), group_fn::format_centroids(centroids, dim));
}

}  // namespace
