// Ranks as separate processes (comm_test_rank), meeting through a StoreServer: every collective
// on 1 to 8 processes (fewer in sanitizer builds: see support/rank_counts.hpp), a rank killed with
// SIGKILL mid-collective, a rank frozen with SIGSTOP (the others must hit their deadline), and two
// communicators per process.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "comm/rendezvous/tcp_store.hpp"
#include "tests/comm/support/processes.hpp"
#include "tests/comm/support/rank_counts.hpp"
#include "tests/comm/support/thread_ranks.hpp"

namespace hpcless::comm::testing {
namespace {

using namespace std::chrono_literals;

std::vector<ChildProcess> start_ranks(const rendezvous::StoreServer& server, int p,
                                      const std::string& scenario, const std::string& group,
                                      int timeout_ms = 20'000) {
  std::vector<ChildProcess> ranks;
  for (int r = 0; r < p; ++r)
    ranks.push_back(ChildProcess::spawn(
        {COMM_TEST_RANK_PATH, "--store", server.endpoint().to_string(), "--group", group, "--rank",
         std::to_string(r), "--size", std::to_string(p), "--scenario", scenario, "--timeout-ms",
         std::to_string(timeout_ms)}));
  return ranks;
}

std::string logs(std::vector<ChildProcess>& ranks) {
  std::string all;
  for (size_t r = 0; r < ranks.size(); ++r)
    all += "--- rank " + std::to_string(r) + ":\n" + ranks[r].log();
  return all;
}

class CollectivesOnProcesses : public ::testing::TestWithParam<int> {};

TEST_P(CollectivesOnProcesses, EveryCollectiveAndAlgorithmGivesTheExpectedResult) {
  const int p = GetParam();
  rendezvous::StoreServer server;
  auto ranks = start_ranks(server, p, "battery", unique_group("proc-battery"));
  const Deadline deadline = Deadline::after(90s);
  for (int r = 0; r < p; ++r) {
    const auto code = ranks[r].wait(deadline);
    ASSERT_TRUE(code.has_value()) << "rank " << r << " still running\n" << logs(ranks);
    EXPECT_EQ(*code, 0) << "rank " << r << "\n" << logs(ranks);
  }
  EXPECT_EQ(server.store().size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Ranks, CollectivesOnProcesses, rank_counts(),
                         [](const ::testing::TestParamInfo<int>& i) {
                           std::string name = "p";
                           name += std::to_string(i.param);
                           return name;
                         });

// Starts 4 ranks looping allreduce, waits until all are in the loop, then hits rank 2 with sig.
// Returns the time from the signal to each survivor's exit.
void signal_one_rank(int sig, int child_timeout_ms, double max_ms, const char* want_kind) {
  rendezvous::StoreServer server;
  auto ranks =
      start_ranks(server, 4, "allreduce_loop", unique_group("proc-kill"), child_timeout_ms);
  for (int r = 0; r < 4; ++r)
    server.store().get("ready/" + std::to_string(r), Deadline::after(30s));
  const uint64_t t0 = now_ns();
  ranks[2].signal(sig);
  for (int r : {0, 1, 3}) {
    const auto code = ranks[r].wait(Deadline::after(30s));
    const double ms = static_cast<double>(now_ns() - t0) / 1e6;
    ASSERT_TRUE(code.has_value()) << "rank " << r << " did not fail\n" << logs(ranks);
    EXPECT_EQ(*code, 3) << "rank " << r << " should exit with a communication error\n"
                        << logs(ranks);
    EXPECT_LT(ms, max_ms) << "rank " << r << "\n" << logs(ranks);
    EXPECT_NE(ranks[r].log().find("COMM-ERROR"), std::string::npos) << ranks[r].log();
  }
  // At least one survivor reports the kind of failure this scenario must produce.
  std::string all;
  for (int r : {0, 1, 3}) all += ranks[r].log();
  EXPECT_NE(all.find(want_kind), std::string::npos) << all;
  if (sig == SIGSTOP) ranks[2].signal(SIGKILL);
}

TEST(FailuresOnProcesses, KilledRankMakesTheOthersFailWithAnErrorQuickly) {
  // The kernel closes the dead rank's sockets: its neighbours see it at once and close theirs.
  signal_one_rank(SIGKILL, 20'000, 5'000, "IoError");
}

TEST(FailuresOnProcesses, FrozenRankMakesTheOthersFailAtTheirDeadline) {
  // No FIN from a stopped process: only the deadline (1.5 s) can end the wait.
  signal_one_rank(SIGSTOP, 1'500, 6'000, "TimeoutError");
}

TEST(IsolationOnProcesses, TwoCommunicatorsPerProcessInterleaved) {
  rendezvous::StoreServer server;
  auto ranks = start_ranks(server, 4, "two_comms", unique_group("proc-two"));
  for (int r = 0; r < 4; ++r) {
    const auto code = ranks[r].wait(Deadline::after(60s));
    ASSERT_TRUE(code.has_value()) << logs(ranks);
    EXPECT_EQ(*code, 0) << logs(ranks);
  }
}

}  // namespace
}  // namespace hpcless::comm::testing
