// Deadlines and failures (ranks as threads): collectives time out when a rank is missing, a rank
// that leaves mid-collective makes the others fail promptly, a broken communicator stays broken,
// mismatched calls fail instead of hanging, connect timeouts; plus two communicators at once and
// split().
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "tests/comm/support/battery.hpp"
#include "tests/comm/support/thread_ranks.hpp"

namespace hpcless::comm::testing {
namespace {

using namespace std::chrono_literals;

double ms_since(uint64_t t0) { return static_cast<double>(now_ns() - t0) / 1e6; }

TEST(Deadlines, CollectiveWithAMissingRankFailsWithinItsDeadline) {
  std::atomic<int> finished{0};
  std::vector<double> elapsed(3, 0);
  std::vector<std::string> kinds(3);
  const auto errors = run_thread_ranks(
      3,
      [&](int r, int n, std::shared_ptr<rendezvous::Store> store, const std::string& g) {
        Communicator c(r, n, g, store, test_options());
        if (r == 2) {  // never joins the allreduce; leaves once the others gave up
          while (finished.load() < 2) std::this_thread::sleep_for(1ms);
          return;
        }
        std::vector<double> v(1000, 1.0);
        const uint64_t t0 = now_ns();
        try {
          c.allreduce(v, Op::kSum, Deadline::after(300ms));
          kinds[r] = "none";
        } catch (const TimeoutError&) {
          kinds[r] = "timeout";
        } catch (const IoError&) {
          kinds[r] = "io";  // a neighbour that timed out first closed its links
        }
        elapsed[r] = ms_since(t0);
        ++finished;
      },
      60s, "missing-rank");
  EXPECT_EQ(join_errors(errors), "");
  for (int r = 0; r < 2; ++r) {
    EXPECT_NE(kinds[r], "none") << "rank " << r;
    EXPECT_LT(elapsed[r], 2000.0) << "rank " << r;
  }
  EXPECT_TRUE(kinds[0] == "timeout" || kinds[1] == "timeout");
}

TEST(Failures, ARankLeavingMidCollectiveMakesTheOthersFailPromptly) {
  std::vector<std::string> kinds(4);
  std::vector<double> after_leave(4, 0);
  std::atomic<uint64_t> left_at{0};
  const auto errors = run_thread_ranks(
      4,
      [&](int r, int n, std::shared_ptr<rendezvous::Store> store, const std::string& g) {
        std::vector<float> in(256 * 1024, 1.0f), out(in.size());
        auto c = std::make_unique<Communicator>(r, n, g, store, test_options(10s));
        try {
          for (int it = 0;; ++it) {
            if (r == 2 && it == 20) {
              left_at = now_ns();
              c.reset();  // closes its links in the middle of the sequence
              return;
            }
            c->allreduce(in, out, Op::kSum);
          }
        } catch (const IoError& e) {
          kinds[r] = std::string("io: ") + e.what();
        } catch (const TimeoutError& e) {
          kinds[r] = std::string("timeout: ") + e.what();
        }
        after_leave[r] = static_cast<double>(now_ns() - left_at.load()) / 1e6;
        // Broken for good: the next call fails at once, without waiting for its deadline.
        const uint64_t t0 = now_ns();
        EXPECT_THROW(c->barrier(), IoError);
        EXPECT_LT(ms_since(t0), 100.0);
      },
      60s, "rank-leaves");
  EXPECT_EQ(join_errors(errors), "");
  for (int r : {0, 1, 3}) {
    EXPECT_FALSE(kinds[r].empty()) << "rank " << r;
    EXPECT_LT(after_leave[r], 3000.0) << "rank " << r << ": " << kinds[r];
  }
}

TEST(Failures, MismatchedCollectiveSizesFailInsteadOfHanging) {
  std::vector<std::string> failures(3);
  const auto errors = run_thread_ranks(
      3,
      [&](int r, int n, std::shared_ptr<rendezvous::Store> store, const std::string& g) {
        Communicator c(r, n, g, store, test_options(5s));
        std::vector<int32_t> v(r == 1 ? 20 : 10, 1);
        const uint64_t t0 = now_ns();
        // Rank 1 sees the wrong size; the others may finish the bcast, but the rank that failed
        // broke the communicator, so their next collective fails at once.
        try {
          c.bcast(v, 0);
          c.barrier();
          failures[r] = "none";
        } catch (const ProtocolError&) {
          failures[r] = "protocol";
        } catch (const IoError&) {
          failures[r] = "io";
        }
        EXPECT_LT(ms_since(t0), 4000.0);
      },
      60s, "mismatch");
  EXPECT_EQ(join_errors(errors), "");
  EXPECT_EQ(failures[1], "protocol");
  EXPECT_EQ(failures[0], "io");
  EXPECT_EQ(failures[2], "io");
}

TEST(Failures, BadCollectiveArgumentsBreakTheCommunicatorOnEveryRank) {
  const auto errors = run_thread_ranks(
      3,
      [&](int r, int n, std::shared_ptr<rendezvous::Store> store, const std::string& g) {
        Communicator c(r, n, g, store, test_options(10s));
        std::vector<int32_t> in(5, 1), out(r == 0 ? 2 : 5);  // rank 0's output is too small
        const uint64_t t0 = now_ns();
        if (r == 0) {
          EXPECT_THROW(c.allreduce(in, out, Op::kSum), ConfigError);
        } else {
          EXPECT_THROW(c.allreduce(in, out, Op::kSum), IoError);
        }
        EXPECT_LT(ms_since(t0), 3000.0);
      },
      60s, "bad-args");
  EXPECT_EQ(join_errors(errors), "");
}

TEST(Deadlines, ConstructionTimesOutWhenARankNeverArrives) {
  auto store = std::make_shared<rendezvous::MemoryStore>();
  std::vector<std::string> errs(2);
  std::vector<double> ms(2);
  Watchdog wd(30s, "connect-timeout");
  std::vector<std::thread> ts;
  for (int r = 0; r < 2; ++r) {
    ts.emplace_back([&, r] {
      CommOptions o = test_options();
      o.direct.connect_timeout = 300ms;
      const uint64_t t0 = now_ns();
      try {
        Communicator c(r, 3, "never-complete", store, o);
      } catch (const TimeoutError& e) {
        errs[r] = e.what();
      } catch (const std::exception& e) {
        errs[r] = std::string("wrong type: ") + e.what();
      }
      ms[r] = ms_since(t0);
    });
  }
  for (auto& t : ts) t.join();
  for (int r = 0; r < 2; ++r) {
    EXPECT_NE(errs[r].find("rank"), std::string::npos) << errs[r];
    EXPECT_EQ(errs[r].find("wrong type"), std::string::npos) << errs[r];
    EXPECT_LT(ms[r], 1500.0);
  }
}

TEST(Isolation, TwoGroupsRunCollectivesAtTheSameTimeWithoutInterfering) {
  auto store = std::make_shared<rendezvous::MemoryStore>();
  std::vector<std::string> a, b;
  std::thread ta([&] {
    a = run_thread_ranks(
        3,
        [](int r, int n, std::shared_ptr<rendezvous::Store> s, const std::string& g) {
          Communicator c(r, n, g, s, test_options());
          BatteryOptions bo;
          bo.large_elems = 50'001;
          run_collective_battery(c, bo);
        },
        100s, "group-a", store);
  });
  std::thread tb([&] {
    b = run_thread_ranks(
        4,
        [](int r, int n, std::shared_ptr<rendezvous::Store> s, const std::string& g) {
          Communicator c(r, n, g, s, test_options());
          BatteryOptions bo;
          bo.large_elems = 50'001;
          run_collective_battery(c, bo);
        },
        100s, "group-b", store);
  });
  ta.join();
  tb.join();
  EXPECT_EQ(join_errors(a), "");
  EXPECT_EQ(join_errors(b), "");
  EXPECT_EQ(store->size(), 0u) << "the groups left rendezvous keys behind";
}

TEST(Isolation, TwoCommunicatorsOfTheSameRanksUsedFromTwoThreadsEach) {
  const auto errors = run_thread_ranks(
      4,
      [](int r, int n, std::shared_ptr<rendezvous::Store> store, const std::string& g) {
        Communicator a(r, n, g + "-a", store, test_options());
        Communicator b(r, n, g + "-b", store, test_options());
        std::string err_b;
        std::thread tb([&] {
          try {
            for (int it = 0; it < 50; ++it) {
              std::vector<int64_t> v(1000, r + it);
              b.allreduce(v, Op::kSum);
              if (v[999] != 6 + 4 * it) throw std::runtime_error("b: wrong sum");
              std::vector<int32_t> msg(10, -1);
              b.sendrecv(std::vector<int32_t>(10, r * 100 + it), (r + 1) % n, 1, msg,
                         (r + n - 1) % n, 1);
              if (msg[0] != ((r + n - 1) % n) * 100 + it)
                throw std::runtime_error("b: wrong message");
            }
          } catch (const std::exception& e) {
            err_b = e.what();
          }
        });
        for (int it = 0; it < 50; ++it) {
          std::vector<int32_t> v(5000, r * it);
          a.allreduce(v, Op::kMax);
          ASSERT_EQ(v[0], 3 * it);
          std::vector<int32_t> msg(10, -1);
          // Same tag as b's messages: the communicators must keep them apart.
          a.sendrecv(std::vector<int32_t>(10, -(r * 100 + it)), (r + n - 1) % n, 1, msg,
                     (r + 1) % n, 1);
          ASSERT_EQ(msg[0], -(((r + 1) % n) * 100 + it));
        }
        tb.join();
        EXPECT_EQ(err_b, "");
      },
      60s, "two-comms");
  EXPECT_EQ(join_errors(errors), "");
}

TEST(Split, ColorsAndKeysFormSubCommunicatorsLikeMpiCommSplit) {
  const auto errors = run_thread_ranks(
      8,
      [](int r, int n, std::shared_ptr<rendezvous::Store> store, const std::string& g) {
        Communicator c(r, n, g, store, test_options());
        const int color = r == 7 ? kUndefinedColor : r % 3;
        auto sub = c.split(color, -r);  // descending old rank
        if (r == 7) {
          EXPECT_FALSE(sub.has_value());
        } else {
          ASSERT_TRUE(sub.has_value());
          std::vector<int> members;
          for (int q = 0; q < 7; ++q)
            if (q % 3 == color) members.push_back(q);
          ASSERT_EQ(sub->size(), static_cast<int>(members.size()));
          // Ordered by key = -rank: the highest old rank becomes rank 0.
          EXPECT_EQ(members[members.size() - 1 - sub->rank()], r);
          std::vector<int32_t> v{r};
          sub->allreduce(v, Op::kSum);
          int want = 0;
          for (int q : members) want += q;
          EXPECT_EQ(v[0], want);
          BatteryOptions bo;
          bo.large_elems = 0;
          run_collective_battery(*sub, bo);
          // Nested split of the sub-communicator, and the parent still works meanwhile.
          auto half = sub->split(sub->rank() % 2, sub->rank());
          ASSERT_TRUE(half.has_value());
          std::vector<int32_t> one{1};
          half->allreduce(one, Op::kSum);
          EXPECT_EQ(one[0], (sub->size() + 1 - sub->rank() % 2) / 2);
        }
        std::vector<int32_t> all{1};
        c.allreduce(all, Op::kSum);
        EXPECT_EQ(all[0], 8);
      },
      100s, "split");
  EXPECT_EQ(join_errors(errors), "");
}

}  // namespace
}  // namespace hpcless::comm::testing
