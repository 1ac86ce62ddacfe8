// Point-to-point on the Redis and S3 channels: FIFO matching per source and tag, tags out of
// order, zero-byte and self messages, test() without blocking, truncation, cancel, receive
// deadlines (which do not break the channel), and large messages (Redis chunks, S3 multipart).
#include <gtest/gtest.h>

#include <thread>

#include "comm/rendezvous/memory_store.hpp"
#include "tests/comm_stores/support/stores_support.hpp"

namespace hpcless::comm::stores_test {
namespace {

using namespace std::chrono_literals;

class StoreP2p : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::kRedis)
      redis_server();
    else
      s3_server();
  }
  // Runs body on `size` thread ranks, each with its own Communicator of this kind.
  void run(int size, const std::function<void(Communicator&)>& body, CommOptions o = {},
           bool use_given = false) {
    auto store = std::make_shared<rendezvous::MemoryStore>();
    const std::string group = unique_group("p2p");
    const CommOptions opts = use_given ? o : options(GetParam());
    const auto errors = run_threads(
        size,
        [&](int rank, int p) {
          Communicator c(rank, p, group, store, opts);
          body(c);
        },
        120s, "p2p on " + kind_name(GetParam()));
    EXPECT_EQ(join_errors(errors), "");
    EXPECT_TRUE(leftovers(GetParam(), group).empty());
  }
};

std::vector<int32_t> seq(size_t n, int32_t base) {
  std::vector<int32_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = base + static_cast<int32_t>(i);
  return v;
}

TEST_P(StoreP2p, TagsMatchInOrderPerSourceAndTag) {
  run(3, [](Communicator& c) {
    if (c.rank() == 0) {
      const auto a = seq(5, 100), b = seq(3, 200), x = seq(7, 300), empty = seq(0, 0);
      c.send(a, 1, 5);
      c.send(b, 1, 5);
      c.send(x, 1, 7);
      c.send(empty, 1, 5);
      c.send(a, 2, 5);
    } else if (c.rank() == 1) {
      // Posted in a different order than sent: tags match independently, FIFO within a tag.
      std::vector<int32_t> rx(10, -1), r1(10, -1), r2(10, -1), r3(10, -1);
      Request q7 = c.irecv(rx, 0, 7);
      Request q1 = c.irecv(r1, 0, 5);
      Request q2 = c.irecv(r2, 0, 5);
      Request q3 = c.irecv(r3, 0, 5);
      Request all[4] = {std::move(q3), std::move(q2), std::move(q1), std::move(q7)};
      Request::wait_all(all);
      EXPECT_EQ(all[3].count(), 7u);
      EXPECT_EQ(std::vector<int32_t>(rx.begin(), rx.begin() + 7), seq(7, 300));
      EXPECT_EQ(all[2].count(), 5u);
      EXPECT_EQ(std::vector<int32_t>(r1.begin(), r1.begin() + 5), seq(5, 100));
      EXPECT_EQ(all[1].count(), 3u);
      EXPECT_EQ(std::vector<int32_t>(r2.begin(), r2.begin() + 3), seq(3, 200));
      EXPECT_EQ(all[0].count(), 0u);
    } else {
      std::vector<int32_t> r(5);
      EXPECT_EQ(c.recv(r, 0, 5), 5u);
      EXPECT_EQ(r, seq(5, 100));
      // A message to itself.
      const auto self = seq(4, 9);
      std::vector<int32_t> back(4);
      EXPECT_EQ(c.sendrecv(self, 2, 1, back, 2, 1), 4u);
      EXPECT_EQ(back, self);
    }
    // A ring with sendrecv: no deadlock, right neighbour's data.
    const int p = c.size(), me = c.rank();
    const auto mine = seq(11, me * 1000);
    std::vector<int32_t> got(11, -1);
    c.sendrecv(mine, (me + 1) % p, 9, got, (me - 1 + p) % p, 9);
    EXPECT_EQ(got, seq(11, ((me - 1 + p) % p) * 1000));
    c.barrier();
  });
}

TEST_P(StoreP2p, TestPollsWithoutBlockingAndTruncationFailsTheRequest) {
  run(2, [](Communicator& c) {
    if (c.rank() == 1) {
      std::vector<int32_t> r(4, -1);
      Request q = c.irecv(r, 0, 3);
      EXPECT_FALSE(q.test());  // nothing sent yet: returns at once
      c.barrier();             // now rank 0 sends
      const Deadline d = Deadline::after(10s);
      while (!q.test()) {
        ASSERT_FALSE(d.expired()) << "test() never saw the message";
        std::this_thread::sleep_for(2ms);
      }
      EXPECT_EQ(r, seq(4, 40));
      // Too long for the buffer: the request fails with ProtocolError, the message is consumed.
      std::vector<int32_t> small(2);
      EXPECT_THROW(c.recv(small, 0, 4), ProtocolError);
      std::vector<int32_t> next(3);
      EXPECT_EQ(c.recv(next, 0, 4), 3u);
      EXPECT_EQ(next, seq(3, 60));
    } else {
      c.barrier();
      c.send(seq(4, 40), 1, 3);
      c.send(seq(5, 50), 1, 4);
      c.send(seq(3, 60), 1, 4);
    }
    c.barrier();
  });
}

TEST_P(StoreP2p, CancelledReceiveHandsItsMessageToTheNextOne) {
  run(2, [](Communicator& c) {
    if (c.rank() == 1) {
      std::vector<int32_t> a(3, -1), b(3, -1), d(3, -1);
      {
        Request qa = c.irecv(a, 0, 1);
        Request qb = c.irecv(b, 0, 1);
        EXPECT_FALSE(qa.test());
        qa = Request();  // destroying an unfinished request cancels it
        c.barrier();
        qb.wait();
      }
      EXPECT_EQ(b, seq(3, 10));
      EXPECT_EQ(a, std::vector<int32_t>(3, -1));
      EXPECT_EQ(c.recv(d, 0, 1), 3u);
      EXPECT_EQ(d, seq(3, 20));
    } else {
      c.barrier();
      c.send(seq(3, 10), 1, 1);
      c.send(seq(3, 20), 1, 1);
    }
    c.barrier();
  });
}

TEST_P(StoreP2p, ReceiveDeadlineNamesThePeerAndKeepsTheChannel) {
  run(2, [&](Communicator& c) {
    if (c.rank() == 1) {
      std::vector<int32_t> r(2);
      const uint64_t t0 = now_ns();
      try {
        c.recv(r, 0, 8, Deadline::after(300ms));
        ADD_FAILURE() << "no timeout";
      } catch (const TimeoutError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("rank 0"), std::string::npos) << what;
        EXPECT_NE(what.find("p/0/1/8/0"), std::string::npos) << what;
      }
      const double ms = static_cast<double>(now_ns() - t0) / 1e6;
      EXPECT_GE(ms, 290);
      EXPECT_LT(ms, 5000);
    }
    c.barrier();  // still usable
    if (c.rank() == 0) c.send(seq(2, 7), 1, 8);
    if (c.rank() == 1) {
      std::vector<int32_t> r(2);
      EXPECT_EQ(c.recv(r, 0, 8), 2u);
      EXPECT_EQ(r, seq(2, 7));
    }
    std::vector<int64_t> v{c.rank() + 1}, s(1);
    c.allreduce(v, s, Op::kSum);
    EXPECT_EQ(s[0], 3);
  });
}

TEST_P(StoreP2p, LargeMessages) {
  CommOptions o = options(GetParam());
  // Redis: 20 MiB = three 8 MiB chunks. S3: 6 MiB = a multipart upload (5 MiB parts).
  const size_t n = GetParam() == Kind::kRedis ? (20u << 20) / 4 : (6u << 20) / 4 + 3;
  run(
      2,
      [&](Communicator& c) {
        std::vector<int32_t> big(n);
        if (c.rank() == 0) {
          big = seq(n, 1);
          c.send(big, 1, 2);
        } else {
          EXPECT_EQ(c.recv(big, 0, 2), n);
          EXPECT_EQ(big.front(), 1);
          EXPECT_EQ(big.back(), static_cast<int32_t>(n));
          EXPECT_EQ(big[n / 2], static_cast<int32_t>(n / 2 + 1));
        }
        std::vector<int32_t> b(n, c.rank() == 1 ? 5 : 0);
        c.bcast(b, 1);
        EXPECT_EQ(b[n - 1], 5);
      },
      o, true);
}

TEST(RedisP2p, ChunksSpanSeveralCommands) {
  redis_server();
  CommOptions o = options(Kind::kRedis);
  o.redis.chunk_bytes = 4096;
  o.redis.command_bytes = 16384;
  auto store = std::make_shared<rendezvous::MemoryStore>();
  const std::string group = unique_group("chunks");
  const size_t n = 25'003;  // ~100 KB: 25 chunks over 7 calls
  const auto errors = run_threads(
      3,
      [&](int rank, int size) {
        Communicator c(rank, size, group, store, o);
        if (rank == 0) c.send(seq(n, 3), 2, 0);
        if (rank == 2) {
          std::vector<int32_t> r(n);
          EXPECT_EQ(c.recv(r, 0, 0), n);
          EXPECT_EQ(r, seq(n, 3));
        }
        std::vector<int32_t> in = seq(n, rank), out(n);
        c.allreduce(in, out, Op::kSum);
        for (size_t i = 0; i < n; i += 997) EXPECT_EQ(out[i], static_cast<int32_t>(3 * i + 3));
        std::vector<int32_t> all(3 * n);
        c.allgather(in, all);
        EXPECT_EQ(all[2 * n + 5], 7);
      },
      60s, "chunked redis");
  EXPECT_EQ(join_errors(errors), "");
  EXPECT_TRUE(leftovers(Kind::kRedis, group).empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreP2p, ::testing::Values(Kind::kRedis, Kind::kS3),
                         [](const auto& info) { return kind_name(info.param); });

}  // namespace
}  // namespace hpcless::comm::stores_test
