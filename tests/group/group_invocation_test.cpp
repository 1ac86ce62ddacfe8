// Group invocations end to end: a real hpcless-manager (the rendezvous store, /v1/kv) and two
// real managed executors, each offering cores 0,1 and serving libhpcless_group_functions.so. A
// lease of 4 cores spread over both nodes gives 4 ranks (2 per worker process, one per thread).
// Every invocation has a deadline, and each test a watchdog.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "client/lib/lease_session.hpp"
#include "comm/base/error.hpp"
#include "functions/group/group_inputs.hpp"
#include "tests/comm/support/watchdog.hpp"
#include "tests/lease_client/lease_test_support.hpp"

using namespace hpcless;
using namespace std::chrono_literals;
using protocol::Status;

namespace {

std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

class GroupInvocation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    manager_ = new ltest::ManagerProcess({{"heartbeat_interval_ms", 200}});
    n1_ = new ltest::ExecutorProcess(*manager_, "n1", "0,1", 500, HPCLESS_GROUP_PACKAGE);
    n2_ = new ltest::ExecutorProcess(*manager_, "n2", "0,1", 500, HPCLESS_GROUP_PACKAGE);
    client_ = new client::LeaseClient(manager_->options());
    ltest::wait_for_nodes(*client_, {"n1", "n2"});
  }
  static void TearDownTestSuite() {
    delete client_;
    delete n2_;
    delete n1_;
    delete manager_;
  }

  // 4 cores spread over both nodes; warm (the test machine has 2 cores for 4 ranks).
  static client::Lease lease(bool connect = false) {
    client::LeaseRequest req;
    req.cores = 4;
    req.seconds = 120;
    req.policy = "spread";
    req.hot_timeout_ms = 0;
    client::SessionOptions so;
    so.connect_now = connect;
    so.connect.busy_poll = false;
    so.connect.hot_timeout_ms = 0;
    return client::Lease::acquire(*client_, req, so);
  }

  static std::string logs() { return "manager:\n" + manager_->log() + "\nn1:\n" + n1_->log() + "\nn2:\n" + n2_->log(); }

  static inline ltest::ManagerProcess* manager_ = nullptr;
  static inline ltest::ExecutorProcess* n1_ = nullptr;
  static inline ltest::ExecutorProcess* n2_ = nullptr;
  static inline client::LeaseClient* client_ = nullptr;
};

std::string describe(const client::GroupResult& g) {
  std::ostringstream s;
  for (const auto& r : g.ranks)
    s << "rank " << r.rank << " " << r.node << "/" << r.worker_thread << ": "
      << (r.ok() ? "ok " : "FAILED ") << r.message() << "\n";
  return s.str();
}

int64_t expected_total(int ranks, int64_t n) {
  int64_t t = 0;
  for (int64_t i = 0; i < n; ++i) t += group_fn::sum_expected(ranks, size_t(i));
  return t;
}

}  // namespace

TEST_F(GroupInvocation, SumOverFourRanksIsExact) {
  comm::testing::Watchdog dog(90s, "SumOverFourRanksIsExact");
  auto l = lease();
  ASSERT_EQ(l.allocations().size(), 2u);
  ASSERT_EQ(l.group_size(), 4u);
  const auto g = l.invoke_group("group.sum", bytes("n=1000"), Deadline::after(30s));
  ASSERT_TRUE(g.ok()) << describe(g) << logs();
  ASSERT_EQ(g.ranks.size(), 4u);
  EXPECT_EQ(g.ranks[0].result.output_text(),
            "total=" + std::to_string(expected_total(4, 1000)) + " n=1000 ranks=4 channel=direct");
  for (int r = 1; r < 4; ++r)
    EXPECT_EQ(g.ranks[r].result.output_text(), "rank " + std::to_string(r) + " ok");
  // Two ranks per node, on distinct worker threads.
  std::set<std::pair<std::string, uint32_t>> placed;
  for (const auto& r : g.ranks) placed.insert({r.node, r.worker_thread});
  EXPECT_EQ(placed.size(), 4u) << describe(g);
  EXPECT_EQ(g.ranks[0].node, g.ranks[1].node);
  EXPECT_EQ(g.ranks[2].node, g.ranks[3].node);
  EXPECT_NE(g.ranks[0].node, g.ranks[2].node);

  // Again on the same connections (a fresh group id), with the auto channel: with only the
  // direct channel available on these workers, auto must pick it.
  client::GroupOptions go;
  go.channel = "auto";
  go.message_bytes = 8000;
  const auto again = l.invoke_group("group.sum", bytes("n=1000"), Deadline::after(30s), go);
  ASSERT_TRUE(again.ok()) << describe(again);
  EXPECT_NE(again.group, g.group);
  EXPECT_EQ(again.ranks[0].result.output_text(),
            "total=" + std::to_string(expected_total(4, 1000)) + " n=1000 ranks=4 channel=direct");
}

TEST_F(GroupInvocation, KmeansStepMatchesTheSerialComputation) {
  comm::testing::Watchdog dog(90s, "KmeansStepMatchesTheSerialComputation");
  auto l = lease();
  const size_t points = 20000, k = 5, dim = 3;
  const uint64_t seed = 7;
  const int steps = 2;
  auto centroids = group_fn::kmeans_initial(seed, k, dim);
  for (int s = 0; s < steps; ++s) {
    std::vector<double> acc(k * (dim + 1), 0.0);
    group_fn::kmeans_accumulate(seed, 0, points, dim, centroids, acc);
    centroids = group_fn::kmeans_update(centroids, acc, dim);
  }
  const auto g = l.invoke_group("group.kmeans", bytes("points=20000 k=5 dim=3 seed=7 steps=2"),
                                Deadline::after(30s));
  ASSERT_TRUE(g.ok()) << describe(g) << logs();
  // Integer coordinates: the distributed sums equal the serial ones exactly.
  EXPECT_EQ(g.ranks[0].result.output_text(), group_fn::format_centroids(centroids, dim));
  EXPECT_NE(centroids, group_fn::kmeans_initial(seed, k, dim));  // the step moved something
}

TEST_F(GroupInvocation, AFailingRankMakesTheOthersFailWithinTheDeadline) {
  comm::testing::Watchdog dog(90s, "AFailingRankMakesTheOthersFailWithinTheDeadline");
  auto l = lease();
  const auto t0 = std::chrono::steady_clock::now();
  const auto g = l.invoke_group("group.sum", bytes("n=100 fail=1"), Deadline::after(4s));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 4500ms);
  ASSERT_EQ(g.ranks.size(), 4u);
  EXPECT_FALSE(g.ok());
  EXPECT_EQ(g.ranks[1].result.status, Status::kFunctionFailed) << describe(g);
  EXPECT_NE(g.ranks[1].message().find("failed on purpose"), std::string::npos) << describe(g);
  for (int r : {0, 2, 3}) {
    EXPECT_FALSE(g.ranks[r].ok()) << describe(g);
    // They answered themselves (a timeout inside the function), before the client gave up.
    EXPECT_TRUE(g.ranks[r].error.empty()) << describe(g);
    EXPECT_EQ(g.ranks[r].result.status, Status::kFunctionFailed) << describe(g);
  }
  // The lease still serves groups.
  const auto ok = l.invoke_group("group.sum", bytes("n=10"), Deadline::after(30s));
  EXPECT_TRUE(ok.ok()) << describe(ok);
}

TEST_F(GroupInvocation, ACrashingRankFailsTheGroupWithoutHanging) {
  comm::testing::Watchdog dog(90s, "ACrashingRankFailsTheGroupWithoutHanging");
  auto l = lease();
  const auto t0 = std::chrono::steady_clock::now();
  const auto g = l.invoke_group("group.sum", bytes("n=100 crash=3"), Deadline::after(4s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4500ms);
  ASSERT_EQ(g.ranks.size(), 4u);
  // Ranks 2 and 3 share the crashed worker process.
  for (int r : {2, 3}) {
    EXPECT_FALSE(g.ranks[r].ok()) << describe(g);
    if (g.ranks[r].error.empty()) {
      EXPECT_EQ(g.ranks[r].result.status, Status::kWorkerCrashed) << describe(g);
    }
  }
  EXPECT_EQ(g.ranks[3].result.status, Status::kWorkerCrashed) << describe(g);
  for (int r : {0, 1}) EXPECT_FALSE(g.ranks[r].ok()) << describe(g);
}

TEST_F(GroupInvocation, APlainInvocationOfAGroupFunctionIsAClearError) {
  comm::testing::Watchdog dog(60s, "APlainInvocationOfAGroupFunctionIsAClearError");
  auto l = lease(/*connect=*/true);
  client::InvocationResult r;
  l.invoke("group.sum", bytes("n=10"), r, Deadline::after(10s));
  EXPECT_EQ(r.status, Status::kFunctionFailed);
  EXPECT_NE(r.error_message().find("group function"), std::string::npos) << r.error_message();
  EXPECT_NE(r.error_message().find("--group"), std::string::npos) << r.error_message();
}

TEST_F(GroupInvocation, BadRequestsFailFastAndClearly) {
  comm::testing::Watchdog dog(60s, "BadRequestsFailFastAndClearly");
  auto l = lease();
  const std::string in = "n=10";
  const std::vector<std::span<const std::byte>> one_input = {bytes(in)};  // 4 ranks
  EXPECT_THROW(l.invoke_group("group.sum", one_input, Deadline::after(5s)), ConfigError);
  client::GroupOptions bad_channel;
  bad_channel.channel = "carrier-pigeon";
  EXPECT_THROW(l.invoke_group("group.sum", bytes(in), Deadline::after(5s), bad_channel),
               ConfigError);
  client::GroupOptions bad_store;
  bad_store.rendezvous = "ftp://x";
  EXPECT_THROW(l.invoke_group("group.sum", bytes(in), Deadline::after(5s), bad_store), ConfigError);
  EXPECT_THROW(l.invoke_group("no.such.function", bytes(in), Deadline::after(5s)), ConfigError);
  EXPECT_THROW(l.invoke_group("group.sum", bytes(in), Deadline::never()), ConfigError);
  // Redis without a storage configuration on the workers: every rank says so, promptly.
  client::GroupOptions redis;
  redis.channel = "redis";
  const auto t0 = std::chrono::steady_clock::now();
  const auto g = l.invoke_group("group.sum", bytes(in), Deadline::after(10s), redis);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  for (const auto& r : g.ranks) {
    EXPECT_EQ(r.result.status, Status::kFunctionFailed) << describe(g);
    EXPECT_NE(r.message().find("storage.redis"), std::string::npos) << describe(g);
  }
  // Bad function input: a clear message from every rank, no hang.
  const auto bad = l.invoke_group("group.sum", bytes("n=ten"), Deadline::after(10s));
  for (const auto& r : bad.ranks)
    EXPECT_NE(r.message().find("not KEY=INTEGER"), std::string::npos) << describe(bad);
}

TEST_F(GroupInvocation, CliPrintsOneLinePerRank) {
  comm::testing::Watchdog dog(90s, "CliPrintsOneLinePerRank");
  auto l = lease();
  const std::vector<std::string> env = {std::string("HPCLESS_API_TOKEN=") + ltest::kApiToken};
  const auto res = ltest::run_cli({"invoke", "--manager", manager_->url(), "--lease", l.id(),
                                   "--group", "group.kmeans", "--input", "points=1000 k=2",
                                   "--timeout-ms", "30000"},
                                  env);
  ASSERT_EQ(res.exit_code, 0) << res.out << res.err;
  std::istringstream lines(res.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    EXPECT_EQ(line.rfind("rank " + std::to_string(n) + " node n", 0), 0u) << line;
    EXPECT_NE(line.find(": ok "), std::string::npos) << line;
    ++n;
  }
  EXPECT_EQ(n, 4) << res.out;
  EXPECT_NE(res.out.find("c0: "), std::string::npos) << res.out;
  EXPECT_NE(res.out.find(" | c1: "), std::string::npos) << res.out;

  const auto failed = ltest::run_cli({"invoke", "--manager", manager_->url(), "--lease", l.id(),
                                      "--group", "group.sum", "--input", "fail=0",
                                      "--timeout-ms", "3000"},
                                     env);
  EXPECT_EQ(failed.exit_code, 1) << failed.out << failed.err;
  EXPECT_NE(failed.out.find("rank 0 node n"), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find("FAILED"), std::string::npos) << failed.out;
  EXPECT_NE(failed.err.find("4 of 4 ranks failed"), std::string::npos) << failed.err;

  const auto misuse = ltest::run_cli({"invoke", "--manager", manager_->url(), "--group",
                                      "group.sum"},
                                     env);
  EXPECT_EQ(misuse.exit_code, 2);
  EXPECT_NE(misuse.err.find("--group needs --lease"), std::string::npos) << misuse.err;
}
