// Communicators with ChannelKind::kAuto agree on one channel: rank 0 decides and publishes, the
// others adopt its choice even when their own model or candidates would pick another channel.
// Thread ranks over a MemoryStore; every blocking call has a deadline and a watchdog guards
// each test.
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

#include "comm/communicator/communicator.hpp"
#include "comm/rendezvous/memory_store.hpp"
#include "tests/comm/support/watchdog.hpp"

using namespace hpcless;
using namespace hpcless::comm;
using namespace std::chrono_literals;

namespace {

// Runs `size` ranks as threads; returns each rank's chosen channel (rethrows a rank's error).
template <class MakeOptions>
std::vector<ChannelKind> run_auto(int size, const std::string& group, MakeOptions make) {
  auto store = std::make_shared<rendezvous::MemoryStore>();
  std::vector<ChannelKind> chosen(size, ChannelKind::kAuto);
  std::vector<std::exception_ptr> errors(size);
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r) {
    threads.emplace_back([&, r] {
      try {
        CommOptions o = make(r);
        o.timeout = 10s;
        o.direct.connect_timeout = 10s;
        Communicator c(r, size, group, store, o);
        chosen[r] = c.channel_choice();
        // The channel works: an allreduce over it.
        std::vector<int64_t> v{r + 1};
        c.allreduce(v, Op::kSum, Deadline::after(10s));
        if (v[0] != int64_t(size) * (size + 1) / 2) throw std::runtime_error("wrong sum");
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return chosen;
}

// A model where Redis is far cheaper than the direct channel.
CostModel redis_is_cheap() {
  CostModel m;
  m.set(ChannelKind::kDirect, OpClass::kAllreduce, {1000, 0, 4});
  m.set(ChannelKind::kRedis, OpClass::kAllreduce, {1, 0, 4});
  return m;
}

}  // namespace

TEST(AutoChannel, AllRanksAgreeOnDirect) {
  comm::testing::Watchdog dog(30s, "AutoChannel.AllRanksAgreeOnDirect");
  const auto chosen = run_auto(4, "auto-direct", [](int) {
    CommOptions o;
    o.channel = ChannelKind::kAuto;
    o.auto_channel.model = CostModel::defaults();
    o.auto_channel.message_bytes = 1 << 20;
    return o;
  });
  for (auto k : chosen) EXPECT_EQ(k, ChannelKind::kDirect);
}

TEST(AutoChannel, OtherRanksAdoptRankZerosChoice) {
  comm::testing::Watchdog dog(30s, "AutoChannel.OtherRanksAdoptRankZerosChoice");
  // Ranks 1..3 would pick Redis (cheap in their model, and a candidate for them); rank 0 only
  // offers the direct channel, and its choice wins everywhere.
  const auto chosen = run_auto(4, "auto-adopt", [](int r) {
    CommOptions o;
    o.channel = ChannelKind::kAuto;
    o.auto_channel.model = redis_is_cheap();
    o.auto_channel.candidates = {ChannelKind::kDirect};
    if (r != 0) o.auto_channel.candidates = {ChannelKind::kRedis, ChannelKind::kDirect};
    return o;
  });
  for (auto k : chosen) EXPECT_EQ(k, ChannelKind::kDirect);
}

TEST(AutoChannel, SingleRankNeedsNoStoreRoundTrip) {
  comm::testing::Watchdog dog(30s, "AutoChannel.SingleRankNeedsNoStoreRoundTrip");
  const auto chosen = run_auto(1, "auto-one", [](int) {
    CommOptions o;
    o.channel = ChannelKind::kAuto;
    return o;
  });
  EXPECT_EQ(chosen[0], ChannelKind::kDirect);
}

TEST(AutoChannel, ARankWithoutRankZeroTimesOut) {
  comm::testing::Watchdog dog(30s, "AutoChannel.ARankWithoutRankZeroTimesOut");
  auto store = std::make_shared<rendezvous::MemoryStore>();
  CommOptions o;
  o.channel = ChannelKind::kAuto;
  o.timeout = 300ms;
  o.direct.connect_timeout = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(Communicator(1, 2, "auto-alone", store, o), TimeoutError);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(AutoChannel, TheChoiceKeyIsErased) {
  comm::testing::Watchdog dog(30s, "AutoChannel.TheChoiceKeyIsErased");
  auto store = std::make_shared<rendezvous::MemoryStore>();
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(2);
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      try {
        CommOptions o;
        o.channel = ChannelKind::kAuto;
        o.timeout = 10s;
        o.direct.connect_timeout = 10s;
        Communicator c(r, 2, "auto-erase", store, o);
        c.barrier(Deadline::after(10s));
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  EXPECT_THROW(store->get("comm/auto-erase/channel-choice", Deadline::after(50ms)), TimeoutError);
}
