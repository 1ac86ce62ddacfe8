// Point-to-point over the direct channel (ranks as threads): tag matching out of order, FIFO per
// tag, large messages that arrive before their receive, simultaneous blocking sends, rings,
// self-messages, truncation, cancellation and receive deadlines.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <numeric>
#include <vector>

#include "tests/comm/support/thread_ranks.hpp"

namespace hpcless::comm::testing {
namespace {

using namespace std::chrono_literals;

std::vector<int32_t> pattern(size_t n, int32_t seed) {
  std::vector<int32_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = seed * 7919 + static_cast<int32_t>(i);
  return v;
}

void run(int p, const std::function<void(Communicator&)>& body, const char* what,
         std::chrono::milliseconds timeout = 20s) {
  const auto errors = run_thread_ranks(
      p,
      [&](int r, int n, std::shared_ptr<rendezvous::Store> store, const std::string& g) {
        Communicator c(r, n, g, store, test_options(timeout));
        body(c);
      },
      60s, what);
  EXPECT_EQ(join_errors(errors), "");
}

TEST(P2P, TagsMatchOutOfOrderIncludingLargeMessages) {
  run(
      2,
      [](Communicator& c) {
        const auto big = pattern(512 * 1024, 10);  // 2 MiB: left in the kernel until drained
        if (c.rank() == 0) {
          for (int tag : {1, 2, 3}) c.send(pattern(100, tag), 1, tag);
          c.send(big, 1, 10);
          c.send(pattern(5, 11), 1, 11);
          c.send(pattern(300'000, 12), 1, 12);
          c.send(pattern(300'000, 13), 1, 13);
        } else {
          for (int tag : {3, 1, 2, 11, 10, 13, 12}) {
            const size_t n = tag == 10 ? big.size() : tag >= 12 ? 300'000 : tag == 11 ? 5 : 100;
            std::vector<int32_t> got(n + 3, -1);
            const size_t count = c.recv(got, 0, tag);
            ASSERT_EQ(count, n) << "tag " << tag;
            got.resize(count);
            ASSERT_EQ(got, pattern(n, tag)) << "tag " << tag;
          }
        }
        c.barrier();
      },
      "out-of-order");
}

TEST(P2P, SameTagArrivesInSendOrder) {
  run(
      2,
      [](Communicator& c) {
        constexpr int kN = 200;
        if (c.rank() == 0) {
          for (int i = 0; i < kN; ++i) c.send(pattern(static_cast<size_t>(i % 7) * 5000, i), 1, 5);
        } else {
          for (int i = 0; i < kN; ++i) {
            std::vector<int32_t> got(40000);
            got.resize(c.recv(got, 0, 5));
            ASSERT_EQ(got, pattern(static_cast<size_t>(i % 7) * 5000, i)) << "message " << i;
          }
        }
      },
      "fifo");
}

TEST(P2P, NonBlockingExchangeOfLargeMessagesWithTestAndWait) {
  run(
      2,
      [](Communicator& c) {
        const int other = 1 - c.rank();
        const auto mine = pattern(1 << 20, c.rank());  // 4 MiB each way at the same time
        std::vector<int32_t> theirs(1 << 20, -1);
        Request r = c.irecv(theirs, other, 0);
        EXPECT_FALSE(r.test());  // nobody sends before the barrier
        c.barrier();
        Request s = c.isend(mine, other, 0);
        while (!r.test()) {
        }
        s.wait();
        EXPECT_EQ(r.count(), mine.size());
        EXPECT_EQ(theirs, pattern(1 << 20, other));
      },
      "isend-irecv");
}

TEST(P2P, BlockingSendsBeforeReceivesOnBothSidesDoNotDeadlock) {
  run(
      2,
      [](Communicator& c) {
        const int other = 1 - c.rank();
        const auto mine =
            pattern(8 << 20, c.rank() + 1);  // 32 MiB: far more than the socket buffers
        c.send(mine, other, 1);
        std::vector<int32_t> theirs(mine.size());
        c.recv(theirs, other, 1);
        EXPECT_EQ(theirs, pattern(8 << 20, other + 1));
      },
      "send-send");
}

TEST(P2P, SendrecvRingOfLargeMessages) {
  run(
      5,
      [](Communicator& c) {
        const int p = c.size();
        for (int round = 0; round < 3; ++round) {
          const auto out = pattern(256 * 1024 + 3, c.rank() * 10 + round);
          std::vector<int32_t> in(out.size(), -1);
          const size_t n =
              c.sendrecv(out, (c.rank() + 1) % p, round, in, (c.rank() + p - 1) % p, round);
          ASSERT_EQ(n, out.size());
          ASSERT_EQ(in, pattern(out.size(), ((c.rank() + p - 1) % p) * 10 + round));
        }
      },
      "ring");
}

TEST(P2P, MessagesToSelf) {
  run(
      1,
      [](Communicator& c) {
        c.send(pattern(10, 1), 0, 4);
        std::vector<int32_t> got(10);
        c.recv(got, 0, 4);
        EXPECT_EQ(got, pattern(10, 1));
        std::vector<int32_t> later(20, -1);
        Request r = c.irecv(later, 0, 9);
        const auto msg = pattern(20, 2);
        c.send(msg, 0, 9);
        r.wait();
        EXPECT_EQ(later, msg);
      },
      "self");
}

TEST(P2P, TooSmallReceiveFailsAndTheStreamStaysUsable) {
  run(
      2,
      [](Communicator& c) {
        if (c.rank() == 0) {
          c.send(pattern(100, 1), 1, 0);
          c.send(pattern(30000, 2), 1, 0);  // large and truncated: discarded while it arrives
          c.send(pattern(7, 3), 1, 0);
        } else {
          std::vector<int32_t> small(50);
          EXPECT_THROW(c.recv(small, 0, 0), ProtocolError);
          EXPECT_THROW(c.recv(small, 0, 0), ProtocolError);
          std::vector<int32_t> ok(7);
          c.recv(ok, 0, 0);
          EXPECT_EQ(ok, pattern(7, 3));
        }
        c.barrier();
      },
      "truncation");
}

TEST(P2P, DestroyedIrecvIsCancelledAndTheNextReceiveGetsTheMessage) {
  run(
      2,
      [](Communicator& c) {
        if (c.rank() == 1) {
          {
            std::vector<int32_t> lost(10);
            Request r = c.irecv(lost, 0, 3);
          }  // cancelled before anything arrived
          c.barrier();
          std::vector<int32_t> got(10);
          c.recv(got, 0, 3);
          EXPECT_EQ(got, pattern(10, 3));
        } else {
          c.barrier();
          c.send(pattern(10, 3), 1, 3);
        }
      },
      "cancel");
}

TEST(P2P, ReceiveWithoutSenderTimesOutWithinItsDeadlineAndTheCommunicatorStaysUsable) {
  run(
      2,
      [](Communicator& c) {
        if (c.rank() == 1) {
          std::vector<int32_t> got(4);
          const uint64_t t0 = now_ns();
          EXPECT_THROW(c.recv(got, 0, 42, Deadline::after(200ms)), TimeoutError);
          const double ms = static_cast<double>(now_ns() - t0) / 1e6;
          EXPECT_GE(ms, 199.0);
          EXPECT_LT(ms, 1500.0);
          c.barrier();
          c.recv(got, 0, 42);  // the late message still arrives
          EXPECT_EQ(got, pattern(4, 42));
        } else {
          c.barrier();
          c.send(pattern(4, 42), 1, 42);
        }
      },
      "recv-timeout");
}

TEST(P2P, DefaultTimeoutAppliesWhenNoDeadlineIsGiven) {
  run(
      2,
      [](Communicator& c) {
        if (c.rank() == 1) {
          std::vector<int32_t> got(4);
          const uint64_t t0 = now_ns();
          EXPECT_THROW(c.recv(got, 0, 1), TimeoutError);
          EXPECT_LT(static_cast<double>(now_ns() - t0) / 1e6, 1500.0);
        }
        c.barrier(Deadline::after(10s));
      },
      "default-timeout", 300ms);
}

TEST(P2P, BadArgumentsAreConfigErrors) {
  run(
      2,
      [](Communicator& c) {
        std::vector<int32_t> v(4);
        EXPECT_THROW(c.send(v, 2, 0), ConfigError);
        EXPECT_THROW(c.send(v, -1, 0), ConfigError);
        EXPECT_THROW(c.send(v, 1 - c.rank(), -5), ConfigError);
        EXPECT_THROW((void)c.irecv(v, 7, 0), ConfigError);
        c.barrier();
      },
      "bad-args");
}

}  // namespace
}  // namespace hpcless::comm::testing
