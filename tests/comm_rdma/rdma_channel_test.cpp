// The direct channel over RDMA (ChannelKind::kDirectRdma) inside the soft-RoCE guest: ranks as
// threads of this process (and, for a killed rank, as processes), every link an RC queue pair on
// the device at $HPCLESS_RDMA_ADDRESS. The same behaviour as the TCP direct channel is expected:
// tag matching out of order, FIFO per tag, messages far above a link's 1 MiB credit window,
// unexpected messages, self-messages, truncation, cancellation, deadlines, every collective, and
// failures that reach every rank promptly. Sizes are kept small where the guest (emulated CPU) is
// slow; the large cases are the ones that cross chunk and credit boundaries.
#include "comm/channel/rdma/rdma_channel.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "comm/rendezvous/tcp_store.hpp"
#include "tests/comm/support/battery.hpp"
#include "tests/comm/support/processes.hpp"
#include "tests/comm/support/thread_ranks.hpp"

namespace hpcless::comm::testing {
namespace {

using namespace std::chrono_literals;

std::string rdma_address() {
  const char* a = std::getenv("HPCLESS_RDMA_ADDRESS");
  return a != nullptr && *a != '\0' ? a : "198.18.0.1";
}

// spin: how long waits poll before sleeping in epoll (0 = warm at once).
CommOptions rdma_options(std::chrono::milliseconds timeout = 20s,
                         std::chrono::microseconds spin = 50us) {
  CommOptions o = test_options(timeout);
  o.channel = ChannelKind::kDirectRdma;
  o.direct.rdma_address = rdma_address();
  o.direct.spin = spin;
  return o;
}

std::vector<int32_t> pattern(size_t n, int32_t seed) {
  std::vector<int32_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = seed * 7919 + static_cast<int32_t>(i);
  return v;
}

double ms_since(uint64_t t0) { return static_cast<double>(now_ns() - t0) / 1e6; }

void run(int p, const std::function<void(Communicator&)>& body, const char* what,
         CommOptions options = rdma_options()) {
  const auto errors = run_thread_ranks(
      p,
      [&](int r, int n, std::shared_ptr<rendezvous::Store> store, const std::string& g) {
        Communicator c(r, n, g, store, options);
        ASSERT_EQ(c.channel_kind(), "direct-rdma");
        body(c);
      },
      120s, what);
  EXPECT_EQ(join_errors(errors), "");
}

// ---- point-to-point ------------------------------------------------------------------------
// Scenarios run one after another on the same communicator (each test process costs seconds to
// start in the guest); every scenario ends in step with a barrier.

void out_of_order_large_and_empty(Communicator& c) {
  constexpr size_t kBig = 1536 * 1024;  // 6 MiB: 96 chunks, six credit windows
  if (c.rank() == 0) {
    for (int tag : {1, 2, 3}) c.send(pattern(100, tag), 1, tag);
    c.send(pattern(kBig, 10), 1, 10);
    c.send(pattern(5, 11), 1, 11);
    c.send(pattern(300'000, 12), 1, 12);
    c.send(pattern(300'000, 13), 1, 13);
    c.send(std::vector<int32_t>{}, 1, 20);
  } else {
    std::vector<int32_t> none(4, -1);
    EXPECT_EQ(c.recv(none, 0, 20), 0u);  // the last one sent, received first
    for (int tag : {3, 1, 2, 11, 10, 13, 12}) {
      const size_t n = tag == 10 ? kBig : tag >= 12 ? 300'000 : tag == 11 ? 5 : 100;
      std::vector<int32_t> got(n + 3, -1);
      const size_t count = c.recv(got, 0, tag);
      ASSERT_EQ(count, n) << "tag " << tag;
      got.resize(count);
      ASSERT_EQ(got, pattern(n, tag)) << "tag " << tag;
    }
  }
}

void same_tag_in_send_order(Communicator& c) {
  constexpr int kN = 60;
  // 0 .. 120 KB: inline, one chunk, two chunks.
  auto size_of = [](int i) { return static_cast<size_t>(i % 7) * 5000 + (i % 3); };
  if (c.rank() == 0) {
    for (int i = 0; i < kN; ++i) c.send(pattern(size_of(i), i), 1, 5);
  } else {
    for (int i = 0; i < kN; ++i) {
      std::vector<int32_t> got(40000);
      got.resize(c.recv(got, 0, 5));
      ASSERT_EQ(got, pattern(size_of(i), i)) << "message " << i;
    }
  }
}

void nonblocking_exchange(Communicator& c) {
  const int other = 1 - c.rank();
  const auto mine = pattern((1 << 20) + 3, c.rank());  // 4 MiB each way at the same time
  std::vector<int32_t> theirs(mine.size(), -1);
  Request r = c.irecv(theirs, other, 0);
  EXPECT_FALSE(r.test());  // nobody sends before the barrier
  c.barrier();
  Request s = c.isend(mine, other, 0);  // returns at once: the rest leaves as credits come
  while (!r.test()) {
  }
  s.wait();
  EXPECT_EQ(r.count(), mine.size());
  EXPECT_EQ(theirs, pattern(mine.size(), other));
}

void sends_before_receives(Communicator& c) {
  const int other = 1 - c.rank();
  const auto mine = pattern(2 << 20, c.rank() + 1);  // 8 MiB: eight credit windows
  c.send(mine, other, 1);
  std::vector<int32_t> theirs(mine.size());
  c.recv(theirs, other, 1);
  EXPECT_EQ(theirs, pattern(2 << 20, other + 1));
}

void receive_takes_over_an_arriving_message(Communicator& c) {
  const auto big = pattern(4 << 20, 77);  // 16 MiB
  if (c.rank() == 0) {
    c.barrier();
    c.send(big, 1, 2);
    c.send(pattern(3, 1), 1, 1);
  } else {
    std::vector<int32_t> small(3, -1);
    Request first = c.irecv(small, 0, 1);
    c.barrier();
    std::this_thread::sleep_for(20ms);  // the first credit window of `big` lands
    EXPECT_FALSE(first.test());         // one pass: part of `big` is now unexpected
    std::vector<int32_t> got(big.size(), -1);
    auto& ch = dynamic_cast<RdmaChannel&>(c.channel());
    const auto before = ch.stats();
    c.recv(got, 0, 2);  // takes the message over wherever it stands
    first.wait();
    EXPECT_EQ(got, big);
    EXPECT_EQ(small, pattern(3, 1));
    // Normally it stands mid-way (the first window landed, the rest had not): taken over.
    // On a very slow or very fast machine it may be complete or not started; then say so.
    if (ch.stats().taken_over == before.taken_over)
      std::fprintf(stderr, "note: the 16 MiB message was %s when its receive was posted\n",
                   ch.stats().unexpected == before.unexpected ? "not started" : "complete");
  }
}

void too_small_receive(Communicator& c) {
  if (c.rank() == 0) {
    c.send(pattern(100, 1), 1, 0);
    c.send(pattern(300'000, 2), 1, 0);  // many chunks, truncated: discarded as it arrives
    c.send(pattern(7, 3), 1, 0);
  } else {
    std::vector<int32_t> small(50);
    EXPECT_THROW(c.recv(small, 0, 0), ProtocolError);
    EXPECT_THROW(c.recv(small, 0, 0), ProtocolError);
    std::vector<int32_t> ok(7);
    c.recv(ok, 0, 0);
    EXPECT_EQ(ok, pattern(7, 3));
  }
}

void cancelled_irecv(Communicator& c) {
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
}

void messages_to_self(Communicator& c) {
  const int me = c.rank();
  c.send(pattern(10, 1), me, 4);
  std::vector<int32_t> got(10);
  c.recv(got, me, 4);
  EXPECT_EQ(got, pattern(10, 1));
  std::vector<int32_t> later(20, -1);
  Request r = c.irecv(later, me, 9);
  const auto msg = pattern(20, 2);
  c.send(msg, me, 9);
  r.wait();
  EXPECT_EQ(later, msg);
}

// Rank 1 waits for a message rank 0 sends only after the deadline; the communicator stays usable.
void receive_times_out_at_its_deadline(Communicator& c) {
  if (c.rank() == 1) {
    std::vector<int32_t> got(4);
    const uint64_t t0 = now_ns();
    EXPECT_THROW(c.recv(got, 0, 42, Deadline::after(200ms)), TimeoutError);
    const double ms = ms_since(t0);
    EXPECT_GE(ms, 199.0);
    EXPECT_LT(ms, 1500.0);
    c.barrier();
    c.recv(got, 0, 42);  // the late message still arrives
    EXPECT_EQ(got, pattern(4, 42));
  } else if (c.rank() == 0) {
    c.barrier();
    c.send(pattern(4, 42), 1, 42);
  } else {
    c.barrier();
  }
}

void ring_of_large_messages(Communicator& c) {
  const int p = c.size();
  for (int round = 0; round < 2; ++round) {
    const auto out = pattern(256 * 1024 + 3, c.rank() * 10 + round);  // 1 MiB
    std::vector<int32_t> in(out.size(), -1);
    const size_t n = c.sendrecv(out, (c.rank() + 1) % p, round, in, (c.rank() + p - 1) % p, round);
    ASSERT_EQ(n, out.size());
    ASSERT_EQ(in, pattern(out.size(), ((c.rank() + p - 1) % p) * 10 + round));
  }
}

using Scenario = std::pair<const char*, void (*)(Communicator&)>;

void run_scenarios(Communicator& c, std::initializer_list<Scenario> scenarios) {
  for (const auto& [name, fn] : scenarios) {
    SCOPED_TRACE(name);
    fn(c);
    c.barrier();
  }
}

// Warm waits (sleep in epoll at once), two ranks.
TEST(RdmaP2P, MatchingOrderUnexpectedLargeTruncatedCancelledSelfAndTimeoutOnTwoRanks) {
  run(
      2,
      [](Communicator& c) {
        run_scenarios(c, {{"out-of-order", out_of_order_large_and_empty},
                          {"fifo", same_tag_in_send_order},
                          {"isend-irecv", nonblocking_exchange},
                          {"send-send", sends_before_receives},
                          {"takeover", receive_takes_over_an_arriving_message},
                          {"truncation", too_small_receive},
                          {"cancel", cancelled_irecv},
                          {"self", messages_to_self},
                          {"timeout", receive_times_out_at_its_deadline}});
      },
      "rdma-p2p-warm", rdma_options(20s, 0us));
}

// Hot waits (poll for a second before sleeping), four ranks; and a group of one.
TEST(RdmaP2P, RingSelfAndTimeoutOnFourPollingRanksAndAGroupOfOne) {
  run(
      4,
      [](Communicator& c) {
        run_scenarios(c, {{"ring", ring_of_large_messages},
                          {"self", messages_to_self},
                          {"timeout", receive_times_out_at_its_deadline}});
      },
      "rdma-p2p-hot", rdma_options(20s, std::chrono::microseconds(1'000'000)));
  run(
      1,
      [](Communicator& c) {
        run_scenarios(c, {{"self", messages_to_self}});
      },
      "rdma-self-1");
}

// ---- collectives ---------------------------------------------------------------------------

// Every collective and algorithm, checked against local results (tests/comm/support/battery).
// Four ranks sleep in epoll at once (warm); three (non-power-of-two paths) poll (hot).
TEST(RdmaCollectives, EveryCollectiveOnFourRanksWarmAndThreeRanksHot) {
  run(
      4,
      [](Communicator& c) {
        BatteryOptions bo;
        bo.large_elems = 100'001;
        run_collective_battery(c, bo);
      },
      "rdma-battery-4", rdma_options(30s, 0us));
  run(
      3,
      [](Communicator& c) {
        BatteryOptions bo;
        bo.large_elems = 0;
        run_collective_battery(c, bo);
      },
      "rdma-battery-3", rdma_options(30s, std::chrono::microseconds(1'000'000)));
}

// ---- failures ------------------------------------------------------------------------------

TEST(RdmaFailures, ARankLeavingMidCollectiveMakesTheOthersFailPromptly) {
  std::vector<std::string> kinds(4);
  std::vector<double> after_leave(4, 0);
  std::atomic<uint64_t> left_at{0};
  const auto errors = run_thread_ranks(
      4,
      [&](int r, int n, std::shared_ptr<rendezvous::Store> store, const std::string& g) {
        std::vector<float> in(256 * 1024, 1.0f), out(in.size());
        auto c = std::make_unique<Communicator>(r, n, g, store, rdma_options(10s));
        try {
          for (int it = 0;; ++it) {
            if (r == 2 && it == 5) {
              left_at = now_ns();
              c.reset();  // disconnects its links in the middle of the sequence
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
      60s, "rdma-rank-leaves");
  EXPECT_EQ(join_errors(errors), "");
  for (int r : {0, 1, 3}) {
    EXPECT_EQ(kinds[r].rfind("io: ", 0), 0u) << "rank " << r << ": " << kinds[r];
    EXPECT_LT(after_leave[r], 3000.0) << "rank " << r << ": " << kinds[r];
  }
}

void bad_arguments_abort_every_rank() {
  const auto errors = run_thread_ranks(
      3,
      [&](int r, int n, std::shared_ptr<rendezvous::Store> store, const std::string& g) {
        Communicator c(r, n, g, store, rdma_options(10s));
        std::vector<int32_t> in(5, 1), out(r == 0 ? 2 : 5);  // rank 0's output is too small
        const uint64_t t0 = now_ns();
        if (r == 0) {
          EXPECT_THROW(c.allreduce(in, out, Op::kSum), ConfigError);
        } else {
          EXPECT_THROW(c.allreduce(in, out, Op::kSum), IoError);
        }
        EXPECT_LT(ms_since(t0), 3000.0);
      },
      60s, "rdma-abort");
  EXPECT_EQ(join_errors(errors), "");
}

void a_missing_rank_hits_the_deadline() {
  std::atomic<int> finished{0};
  std::vector<double> elapsed(3, 0);
  std::vector<std::string> kinds(3);
  const auto errors = run_thread_ranks(
      3,
      [&](int r, int n, std::shared_ptr<rendezvous::Store> store, const std::string& g) {
        Communicator c(r, n, g, store, rdma_options());
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
      60s, "rdma-missing-rank");
  EXPECT_EQ(join_errors(errors), "");
  for (int r = 0; r < 2; ++r) {
    EXPECT_NE(kinds[r], "none") << "rank " << r;
    EXPECT_LT(elapsed[r], 2000.0) << "rank " << r;
  }
  EXPECT_TRUE(kinds[0] == "timeout" || kinds[1] == "timeout");
}

void an_address_without_a_device_is_named() {
  auto store = std::make_shared<rendezvous::MemoryStore>();
  CommOptions o = rdma_options();
  o.direct.rdma_address = "198.18.1.99";  // in the guest's range, on no interface
  o.direct.connect_timeout = 2s;
  try {
    Communicator c(0, 2, "no-device", store, o);
    FAIL() << "constructed on an address without a device";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("no RDMA device"), std::string::npos) << e.what();
  }
}

// Three smaller failure cases in one test process (each costs seconds to start in the guest).
TEST(RdmaFailures, BadArgumentsAbortEveryRankAMissingRankHitsTheDeadlineNoDeviceIsNamed) {
  {
    SCOPED_TRACE("bad arguments");
    bad_arguments_abort_every_rank();
  }
  {
    SCOPED_TRACE("missing rank");
    a_missing_rank_hits_the_deadline();
  }
  {
    SCOPED_TRACE("no device");
    an_address_without_a_device_is_named();
  }
}

// A rank process killed with SIGKILL: the kernel tears its queue pairs down, the survivors see
// the disconnect, fail with IoError and break their own links, so all of them exit promptly.
TEST(RdmaFailuresOnProcesses, KilledRankMakesTheOthersFailWithAnIoErrorQuickly) {
  rendezvous::StoreServer server;
  const std::string group = unique_group("rdma-proc-kill");
  std::vector<ChildProcess> ranks;
  for (int r = 0; r < 4; ++r)
    ranks.push_back(ChildProcess::spawn(
        {COMM_TEST_RANK_PATH, "--store", server.endpoint().to_string(), "--group", group, "--rank",
         std::to_string(r), "--size", "4", "--scenario", "allreduce_loop", "--timeout-ms", "20000",
         "--channel", "direct-rdma"}));
  auto logs = [&] {
    std::string all;
    for (size_t r = 0; r < ranks.size(); ++r)
      all += "--- rank " + std::to_string(r) + ":\n" + ranks[r].log();
    return all;
  };
  for (int r = 0; r < 4; ++r) {
    try {
      server.store().get("ready/" + std::to_string(r), Deadline::after(60s));
    } catch (const TimeoutError&) {
      FAIL() << "rank " << r << " never got through its first allreduce\n" << logs();
    }
  }
  const uint64_t t0 = now_ns();
  ranks[2].signal(SIGKILL);
  std::string all;
  for (int r : {0, 1, 3}) {
    const auto code = ranks[r].wait(Deadline::after(30s));
    const double ms = ms_since(t0);
    ASSERT_TRUE(code.has_value()) << "rank " << r << " did not fail\n" << logs();
    EXPECT_EQ(*code, 3) << "rank " << r << " should exit with a communication error\n" << logs();
    EXPECT_LT(ms, 5000.0) << "rank " << r << "\n" << logs();
    all += ranks[r].log();
  }
  EXPECT_NE(all.find("COMM-ERROR IoError"), std::string::npos) << all;
}

}  // namespace
}  // namespace hpcless::comm::testing
