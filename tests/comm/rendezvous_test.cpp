// Rendezvous stores: the same contract checked on MemoryStore and on TcpStore + StoreServer
// (blocking get with deadlines, counters, prefixes), plus server shutdown with waiting clients.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/rendezvous/memory_store.hpp"
#include "comm/rendezvous/tcp_store.hpp"
#include "tests/comm/support/watchdog.hpp"

namespace hpcless::rendezvous {
namespace {

using namespace std::chrono_literals;
using comm::testing::Watchdog;

double ms_since(uint64_t t0) { return static_cast<double>(now_ns() - t0) / 1e6; }

enum class Kind { kMemory, kTcp };

class StoreContract : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::kMemory) {
      auto m = std::make_shared<MemoryStore>();
      a_ = m;
      b_ = m;
    } else {
      server_ = std::make_unique<StoreServer>();
      a_ = std::make_shared<TcpStore>(server_->endpoint());
      b_ = std::make_shared<TcpStore>(server_->endpoint());
    }
  }
  std::unique_ptr<StoreServer> server_;
  std::shared_ptr<Store> a_, b_;
  Watchdog wd_{30s, "store test"};
};

TEST_P(StoreContract, SetThenGet) {
  a_->set_string("k", "value");
  EXPECT_EQ(b_->get_string("k", Deadline::after(1s)), "value");
  a_->set_string("k", "other");
  EXPECT_EQ(b_->get_string("k", Deadline::after(1s)), "other");
  const std::vector<std::byte> bin = {std::byte{0}, std::byte{255}, std::byte{7}};
  a_->set("bin", bin);
  EXPECT_EQ(b_->get("bin", Deadline::after(1s)), bin);
  a_->set("empty", {});
  EXPECT_TRUE(b_->get("empty", Deadline::after(1s)).empty());
}

TEST_P(StoreContract, GetBlocksUntilAnotherClientSets) {
  std::thread setter([&] {
    std::this_thread::sleep_for(100ms);
    a_->set_string("late", "here");
  });
  const uint64_t t0 = now_ns();
  EXPECT_EQ(b_->get_string("late", Deadline::after(5s)), "here");
  EXPECT_GE(ms_since(t0), 90.0);
  setter.join();
}

TEST_P(StoreContract, GetTimesOutAtItsDeadline) {
  const uint64_t t0 = now_ns();
  EXPECT_THROW(b_->get("missing", Deadline::after(150ms)), TimeoutError);
  EXPECT_GE(ms_since(t0), 149.0);
  EXPECT_LT(ms_since(t0), 1000.0);
  // The connection is still usable afterwards.
  a_->set_string("after", "ok");
  EXPECT_EQ(b_->get_string("after", Deadline::after(1s)), "ok");
}

TEST_P(StoreContract, WaitForSeveralKeys) {
  std::thread setter([&] {
    for (int i = 0; i < 3; ++i) a_->set_string("w/" + std::to_string(i), "x");
  });
  const std::vector<std::string> keys = {"w/0", "w/1", "w/2"};
  b_->wait(keys, Deadline::after(5s));
  setter.join();
  EXPECT_THROW(b_->wait(std::vector<std::string>{"w/0", "w/9"}, Deadline::after(100ms)),
               TimeoutError);
}

TEST_P(StoreContract, AddIsAnAtomicCounter) {
  EXPECT_EQ(a_->add("n", 5), 5);
  EXPECT_EQ(b_->add("n", -2), 3);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 50; ++i) a_->add("c", 1);
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(b_->add("c", 0), 200);
  EXPECT_EQ(b_->get_string("c", Deadline::after(1s)), "200");
  a_->set_string("text", "abc");
  EXPECT_THROW(a_->add("text", 1), ConfigError);
}

TEST_P(StoreContract, ErasePrefixAndPrefixStoresNamespaceKeys) {
  auto g1 = std::make_shared<PrefixStore>(a_, "comm/g1/");
  auto g2 = std::make_shared<PrefixStore>(b_, "comm/g2/");
  g1->set_string("addr/0", "one");
  g2->set_string("addr/0", "two");
  EXPECT_EQ(g1->get_string("addr/0", Deadline::after(1s)), "one");
  EXPECT_EQ(g2->get_string("addr/0", Deadline::after(1s)), "two");
  EXPECT_EQ(a_->get_string("comm/g1/addr/0", Deadline::after(1s)), "one");
  g1->erase_prefix("addr/");
  EXPECT_THROW(g1->get("addr/0", Deadline::after(50ms)), TimeoutError);
  EXPECT_EQ(g2->get_string("addr/0", Deadline::after(1s)), "two");
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContract, ::testing::Values(Kind::kMemory, Kind::kTcp),
                         [](const ::testing::TestParamInfo<Kind>& i) {
                           return i.param == Kind::kMemory ? "Memory" : "Tcp";
                         });

TEST(TcpStore, ServerShutdownEndsAWaitingGetWithAnError) {
  Watchdog wd(30s, "server shutdown");
  auto server = std::make_unique<StoreServer>();
  TcpStore client(server->endpoint(), 2s);
  std::thread stopper([&] {
    std::this_thread::sleep_for(100ms);
    server.reset();
  });
  const uint64_t t0 = now_ns();
  EXPECT_THROW(client.get("never", Deadline::after(20s)), Error);
  EXPECT_LT(ms_since(t0), 5000.0);
  stopper.join();
  EXPECT_THROW(client.set_string("x", "y"), IoError);
}

TEST(TcpStore, ConnectingToNothingFailsWithinTheTimeout) {
  // Bind a port, then close it: nothing listens there.
  tcp::Endpoint dead;
  {
    tcp::Listener l({"127.0.0.1", 0});
    dead = l.bound_endpoint();
  }
  const uint64_t t0 = now_ns();
  EXPECT_THROW(TcpStore(dead, 500ms), Error);
  EXPECT_LT(ms_since(t0), 2000.0);
}

}  // namespace
}  // namespace hpcless::rendezvous
