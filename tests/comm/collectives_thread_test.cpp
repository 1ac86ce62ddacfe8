// Every collective, every algorithm, on 1 to 8 ranks (fewer in sanitizer builds: see
// support/rank_counts.hpp) running as threads of this process over the direct channel (loopback
// TCP) and an in-memory rendezvous store.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/comm/support/battery.hpp"
#include "tests/comm/support/rank_counts.hpp"
#include "tests/comm/support/thread_ranks.hpp"

namespace hpcless::comm::testing {
namespace {

using namespace std::chrono_literals;

class CollectivesOnThreads : public ::testing::TestWithParam<int> {};

TEST_P(CollectivesOnThreads, EveryCollectiveAndAlgorithmGivesTheExpectedResult) {
  const int p = GetParam();
  const auto errors = run_thread_ranks(
      p,
      [](int r, int n, std::shared_ptr<rendezvous::Store> store, const std::string& g) {
        Communicator c(r, n, g, store, test_options());
        run_collective_battery(c);
      },
      100s, "battery");
  EXPECT_EQ(join_errors(errors), "");
}

// No rank leaves a barrier before every rank has entered it (checked with shared counters,
// which only threads can do), for both barrier algorithms.
TEST_P(CollectivesOnThreads, NoRankLeavesABarrierEarly) {
  const int p = GetParam();
  for (Algorithm algo : {Algorithm::kLinear, Algorithm::kDissemination}) {
    constexpr int kRounds = 30;
    std::vector<std::atomic<int>> arrived(kRounds);
    const auto errors = run_thread_ranks(
        p,
        [&](int r, int n, std::shared_ptr<rendezvous::Store> store, const std::string& g) {
          CommOptions o = test_options();
          o.tuning->barrier = algo;
          Communicator c(r, n, g, store, o);
          for (int round = 0; round < kRounds; ++round) {
            if ((round + r) % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
            arrived[round].fetch_add(1);
            c.barrier();
            if (arrived[round].load() != n)
              throw std::runtime_error("left barrier " + std::to_string(round) + " with " +
                                       std::to_string(arrived[round].load()) + " of " +
                                       std::to_string(n) + " ranks arrived");
          }
        },
        60s, std::string("barrier-") + std::string(algorithm_name(algo)));
    EXPECT_EQ(join_errors(errors), "") << algorithm_name(algo);
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, CollectivesOnThreads, rank_counts(),
                         [](const ::testing::TestParamInfo<int>& i) {
                           std::string name = "p";
                           name += std::to_string(i.param);
                           return name;
                         });

}  // namespace
}  // namespace hpcless::comm::testing
