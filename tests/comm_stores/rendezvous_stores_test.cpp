// The Redis and manager-HTTP rendezvous stores against a real redis-server and a real manager
// (hpcless_manager_lib in this process on 127.0.0.1:0): set/get/wait/add/erase_prefix, blocking
// gets woken by a late set, timeouts, errors, and communicators that meet through them.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "comm/rendezvous/http_store.hpp"
#include "comm/rendezvous/redis_store.hpp"
#include "comm/storage/redis_client.hpp"
#include "manager/manager.hpp"
#include "tests/comm_stores/support/stores_support.hpp"

namespace hpcless::comm::stores_test {
namespace {

using namespace std::chrono_literals;
using rendezvous::Store;

constexpr const char* kToken = "comm-stores-api-token";

double ms_since(uint64_t t0) { return static_cast<double>(now_ns() - t0) / 1e6; }

std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

// An in-process manager on a free port with a throwaway database.
class ManagerFixture {
 public:
  ManagerFixture() : dir_("comm-stores-manager") {
    manager::ManagerConfig c;
    c.listen = "127.0.0.1:0";
    c.db = dir_.path() + "/state.db";
    c.api_token = kToken;
    c.token_secret = "comm-stores-token-secret-0123456";
    port_ = m_.start(c);
  }
  ~ManagerFixture() { m_.stop(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  rendezvous::HttpStoreOptions options(const std::string& prefix = "") const {
    rendezvous::HttpStoreOptions o;
    o.url = url();
    o.token = kToken;
    o.prefix = prefix;
    return o;
  }

 private:
  test::TempDir dir_;
  manager::Manager m_;
  int port_ = 0;
};

rendezvous::RedisStoreOptions redis_store_options(const std::string& prefix) {
  rendezvous::RedisStoreOptions o;
  o.redis = redis_server().config();
  o.prefix = prefix;
  o.ttl = std::chrono::minutes(10);
  return o;
}

// The contract every store shares (set/get/overwrite/binary/wait/erase_prefix/timeouts).
void check_contract(Store& s) {
  const std::string bin("a\0b\xff\n", 5);
  s.set("k/one", bytes(bin));
  EXPECT_EQ(s.get_string("k/one", Deadline::after(1s)), bin);
  s.set_string("k/one", "new");
  EXPECT_EQ(s.get_string("k/one", Deadline::after(1s)), "new");
  s.set_string("k/empty", "");
  EXPECT_EQ(s.get_string("k/empty", Deadline::after(1s)), "");
  s.set_string("k/odd key ?#%+é", "odd");
  EXPECT_EQ(s.get_string("k/odd key ?#%+é", Deadline::after(1s)), "odd");
  s.set_string("other/x", "x");

  // A get blocks until another thread sets the key; several waiters all wake.
  std::vector<std::thread> waiters;
  std::atomic<int> woke{0};
  const uint64_t t0 = now_ns();
  for (int i = 0; i < 3; ++i)
    waiters.emplace_back([&] {
      if (s.get_string("k/late", Deadline::after(10s)) == "here") ++woke;
    });
  std::this_thread::sleep_for(200ms);
  s.set_string("k/late", "here");
  for (auto& t : waiters) t.join();
  EXPECT_EQ(woke.load(), 3);
  EXPECT_GE(ms_since(t0), 190);
  EXPECT_LT(ms_since(t0), 3000) << "the waiters were not woken by the set";

  // wait() for several keys.
  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    s.set_string("k/w1", "1");
    s.set_string("k/w2", "2");
  });
  const std::vector<std::string> keys{"k/w1", "k/w2"};
  s.wait(keys, Deadline::after(10s));
  writer.join();

  // Timeout.
  const uint64_t t1 = now_ns();
  EXPECT_THROW(s.get("k/never", Deadline::after(300ms)), TimeoutError);
  EXPECT_GE(ms_since(t1), 290);
  EXPECT_LT(ms_since(t1), 3000);

  // erase_prefix removes exactly the prefix.
  s.erase_prefix("k/");
  EXPECT_THROW(s.get("k/one", Deadline::after(50ms)), TimeoutError);
  EXPECT_THROW(s.get("k/late", Deadline::after(50ms)), TimeoutError);
  EXPECT_EQ(s.get_string("other/x", Deadline::after(1s)), "x");
  s.erase_prefix("other/");
}

// Three thread ranks of a Communicator meeting through `store` on `kind`.
void communicator_over(std::shared_ptr<Store> store, ChannelKind kind) {
  const std::string group = unique_group("meet");
  const auto errors = run_threads(
      3,
      [&](int rank, int size) {
        CommOptions o = options(Kind::kRedis);
        o.channel = kind;
        Communicator c(rank, size, group, store, o);
        std::vector<int64_t> v(5, rank + 1), s(5);
        c.allreduce(v, s, Op::kSum);
        EXPECT_EQ(s[4], 6);
        auto sub = c.split(rank % 2, rank);
        ASSERT_TRUE(sub.has_value());
        std::vector<int64_t> w{rank}, t(1);
        sub->allreduce(w, t, Op::kMax);
        EXPECT_EQ(t[0], rank % 2 == 0 ? 2 : 1);
      },
      60s, "communicator over a store");
  EXPECT_EQ(join_errors(errors), "");
}

// ---------------------------------------------------------------------------------------------

TEST(RedisStore, Contract) {
  redis_server();
  rendezvous::RedisStore s(redis_store_options(unique_group("rdv") + ":"));
  check_contract(s);
}

TEST(RedisStore, AddIsAtomicAndTypedAndKeysHaveTtls) {
  redis_server();
  const std::string prefix = unique_group("rdv") + ":";
  rendezvous::RedisStore s(redis_store_options(prefix));
  EXPECT_EQ(s.add("n", 5), 5);
  EXPECT_EQ(s.add("n", -2), 3);
  s.set_string("n", "40");
  EXPECT_EQ(s.add("n", 2), 42);
  EXPECT_EQ(s.get_string("n", Deadline::after(1s)), "42");
  s.set_string("text", "abc");
  EXPECT_THROW(s.add("text", 1), ConfigError);

  // 8 threads x 50 increments: every value from 1 to 400 handed out exactly once.
  std::mutex mu;
  std::set<int64_t> seen;
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        const int64_t v = s.add("c", 1);
        std::lock_guard lock(mu);
        seen.insert(v);
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(seen.size(), 400u);
  EXPECT_EQ(*seen.rbegin(), 400);

  // A get waiting on a counter wakes on add.
  std::thread adder([&] {
    std::this_thread::sleep_for(100ms);
    s.add("late-counter", 7);
  });
  EXPECT_EQ(s.get_string("late-counter", Deadline::after(5s)), "7");
  adder.join();

  storage::RedisClient probe(redis_server().config());
  const auto keys = probe.scan_keys(prefix);
  EXPECT_FALSE(keys.empty());
  for (const auto& k : keys) {
    const auto ttl = probe.pttl(k);
    ASSERT_TRUE(ttl.has_value()) << k;
    EXPECT_GT(ttl->count(), 0);
  }
  s.erase_prefix("");
  EXPECT_TRUE(probe.scan_keys(prefix).empty());
}

TEST(RedisStore, UnreachableServerIsAnIoError) {
  rendezvous::RedisStoreOptions o;
  o.redis.host = "127.0.0.1";
  o.redis.port = test::find_free_port();
  o.redis.connect_timeout = 500ms;
  EXPECT_THROW(rendezvous::RedisStore s(o), IoError);
}

TEST(RedisStore, CommunicatorsMeetThroughIt) {
  redis_server();
  auto store =
      std::make_shared<rendezvous::RedisStore>(redis_store_options(unique_group("rdv") + ":"));
  communicator_over(store, ChannelKind::kDirect);
  communicator_over(store, ChannelKind::kRedis);
}

TEST(HttpStore, ContractAgainstTheManager) {
  ManagerFixture m;
  rendezvous::HttpStore s(m.options());
  check_contract(s);
  // A prefix namespaces every key.
  rendezvous::HttpStore scoped(m.options("run7/"));
  scoped.set_string("a", "1");
  EXPECT_EQ(s.get_string("run7/a", Deadline::after(1s)), "1");
  scoped.erase_prefix("");
  EXPECT_THROW(s.get("run7/a", Deadline::after(50ms)), TimeoutError);
}

TEST(HttpStore, AddIsRefusedAndErrorsAreClear) {
  ManagerFixture m;
  rendezvous::HttpStore s(m.options());
  try {
    s.add("n", 1);
    ADD_FAILURE() << "add is not supported by the manager API";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("atomic increment"), std::string::npos) << e.what();
  }
  auto bad = m.options();
  bad.token = "wrong-token";
  rendezvous::HttpStore wrong(bad);
  EXPECT_THROW(wrong.set_string("k", "v"), ConfigError);
  EXPECT_THROW(wrong.get("k", Deadline::after(100ms)), ConfigError);
  // Values above the manager's 1 MiB limit.
  EXPECT_THROW(s.set_string("big", std::string((1u << 20) + 1, 'x')), ConfigError);

  rendezvous::HttpStoreOptions down;
  down.url = "http://127.0.0.1:" + std::to_string(test::find_free_port());
  down.token = kToken;
  rendezvous::HttpStore nobody(down);
  EXPECT_THROW(nobody.set_string("k", "v"), IoError);
  EXPECT_THROW(rendezvous::HttpStore({.url = "127.0.0.1:1", .token = "t"}), ConfigError);
}

TEST(HttpStore, CommunicatorsMeetThroughTheManager) {
  redis_server();
  ManagerFixture m;
  auto store =
      std::make_shared<rendezvous::HttpStore>(m.options("runs/" + unique_group("x") + "/"));
  communicator_over(store, ChannelKind::kDirect);
  communicator_over(store, ChannelKind::kRedis);
}

}  // namespace
}  // namespace hpcless::comm::stores_test
