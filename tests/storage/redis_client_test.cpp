// RedisClient against a real redis-server (started per test by tests/services).
#include "comm/storage/redis_client.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "comm/base/clock.hpp"
#include "tests/services/test_services.hpp"

using hpcless::now_ns;
using hpcless::storage::Idempotent;
using hpcless::storage::RedisClient;
using hpcless::storage::RedisConfig;
using hpcless::storage::RedisError;
using hpcless::storage::RedisErrorKind;
using hpcless::storage::RedisReply;
using hpcless::test::RedisServer;
using namespace std::chrono_literals;

namespace {

double elapsed_s(uint64_t start) { return static_cast<double>(now_ns() - start) / 1e9; }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

template <class F>
RedisError expect_redis_error(F&& f) {
  try {
    f();
  } catch (const RedisError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a RedisError";
  return RedisError(RedisErrorKind::kProtocol, "none");
}

class RedisClientTest : public ::testing::Test {
 protected:
  RedisServer server;
  RedisClient client{server.config()};
};

}  // namespace

TEST_F(RedisClientTest, BinarySafeStrings) {
  const std::string key("k\0ey\xff", 5);
  std::string value("\0\x01\x02 \r\n$3\r\nfoo\xff", 15);
  value += std::string(100000, '\0');
  client.set(key, value);
  EXPECT_EQ(client.get(key).value(), value);
  EXPECT_FALSE(client.get("missing").has_value());
  client.set("empty", "");
  EXPECT_EQ(client.get("empty").value(), "");
  EXPECT_TRUE(client.exists(key));
  EXPECT_EQ(client.del(key), 1);
  EXPECT_EQ(client.del(key), 0);
  EXPECT_FALSE(client.exists(key));
  client.ping();
}

TEST_F(RedisClientTest, TtlExpiresKeys) {
  client.set("short", "v", 150ms);
  const auto ttl = client.pttl("short");
  ASSERT_TRUE(ttl.has_value());
  EXPECT_GT(ttl->count(), 0);
  EXPECT_LE(ttl->count(), 150);
  client.set("later", "v");
  EXPECT_FALSE(client.pttl("later").has_value());  // no TTL
  EXPECT_TRUE(client.expire("later", 150ms));
  EXPECT_FALSE(client.expire("nope", 150ms));
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(client.get("short").has_value());
  EXPECT_FALSE(client.exists("later"));
  EXPECT_THROW(client.set("k", "v", 0ms), hpcless::ConfigError);
  EXPECT_TRUE(client.set_if_absent("once", "1", 10s));
  EXPECT_FALSE(client.set_if_absent("once", "2"));
  EXPECT_EQ(client.get("once").value(), "1");
}

TEST_F(RedisClientTest, CountersAndWrongType) {
  EXPECT_EQ(client.incr("n"), 1);
  EXPECT_EQ(client.incr("n"), 2);
  EXPECT_EQ(client.incrby("n", 40), 42);
  EXPECT_EQ(client.incrby("n", -50), -8);
  client.set("s", "not a number");
  const auto e = expect_redis_error([&] { client.incr("s"); });
  EXPECT_EQ(e.kind(), RedisErrorKind::kServer);
  client.rpush("list", "x");
  const auto w = expect_redis_error([&] { client.get("list"); });
  EXPECT_EQ(w.kind(), RedisErrorKind::kWrongType);
  EXPECT_TRUE(contains(w.what(), "WRONGTYPE")) << w.what();
  client.ping();  // the connection is still fine after error replies
}

TEST_F(RedisClientTest, ScanFindsExactlyThePrefixWithGlobCharactersEscaped) {
  for (int i = 0; i < 1500; ++i) client.set("job:7:" + std::to_string(i), "v");
  for (int i = 0; i < 50; ++i) client.set("job:70:" + std::to_string(i), "v");
  client.set("glob*[x]?:1", "v");
  client.set("globXX:1", "v");
  auto keys = client.scan_keys("job:7:", 100);
  EXPECT_EQ(keys.size(), 1500u);
  for (const auto& k : keys) ASSERT_EQ(k.rfind("job:7:", 0), 0u) << k;
  EXPECT_EQ(client.scan_keys("glob*[x]?:"), std::vector<std::string>{"glob*[x]?:1"});
  EXPECT_TRUE(client.scan_keys("nothing:").empty());
  EXPECT_EQ(client.del(keys), 1500);
}

TEST_F(RedisClientTest, ListsAndHashes) {
  EXPECT_EQ(client.rpush("q", "a"), 1);
  EXPECT_EQ(client.rpush("q", "b"), 2);
  EXPECT_EQ(client.lpush("q", "z"), 3);
  EXPECT_EQ(client.llen("q"), 3);
  EXPECT_EQ(client.lpop("q").value(), "z");
  EXPECT_EQ(client.blpop("q", 1s).value(), "a");
  EXPECT_EQ(client.lpop("q").value(), "b");
  EXPECT_FALSE(client.lpop("q").has_value());

  EXPECT_TRUE(client.hset("h", "f1", std::string("v\0 1", 4)));
  EXPECT_TRUE(client.hset("h", "f2", "v2"));
  EXPECT_FALSE(client.hset("h", "f2", "v2b"));
  EXPECT_EQ(client.hget("h", "f1").value(), std::string("v\0 1", 4));
  EXPECT_FALSE(client.hget("h", "nope").has_value());
  const auto all = client.hgetall("h");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all.at("f2"), "v2b");
  EXPECT_TRUE(client.hgetall("no-hash").empty());
}

TEST_F(RedisClientTest, BlpopTimeoutFiresOnTime) {
  const uint64_t start = now_ns();
  EXPECT_FALSE(client.blpop("empty-list", 300ms).has_value());
  const double took = elapsed_s(start);
  EXPECT_GE(took, 0.29);
  EXPECT_LT(took, 1.0);
  EXPECT_THROW(client.blpop("empty-list", 0ms), hpcless::ConfigError);
  client.ping();  // the connection's reply timeout is back to normal and usable
}

TEST_F(RedisClientTest, BlpopWakesWhenAnotherThreadPushes) {
  std::thread producer([cfg = server.config()] {
    RedisClient other(cfg);  // one client per thread
    std::this_thread::sleep_for(150ms);
    other.rpush("chan", std::string("msg\0bin", 7));
  });
  const uint64_t start = now_ns();
  const auto v = client.blpop("chan", 10s);
  const double took = elapsed_s(start);
  producer.join();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, std::string("msg\0bin", 7));
  EXPECT_GE(took, 0.14);
  EXPECT_LT(took, 2.0);  // woken by the push, not by the 10 s timeout

  // Several keys: reports which list delivered.
  client.rpush("b", "from-b");
  const auto kv = client.blpop(std::vector<std::string>{"a", "b"}, 1s);
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->first, "b");
  EXPECT_EQ(kv->second, "from-b");
}

TEST_F(RedisClientTest, CommandEscapeHatchReturnsTypedReplies) {
  RedisReply r = client.command({"ECHO", "hi"});
  EXPECT_EQ(r.type, RedisReply::Type::kString);
  EXPECT_EQ(r.str, "hi");
  r = client.command(std::vector<std::string>{"RPUSH", "l", "1", "2"});
  EXPECT_EQ(r.type, RedisReply::Type::kInteger);
  EXPECT_EQ(r.integer, 2);
  r = client.command({"LRANGE", "l", "0", "-1"}, Idempotent::kYes);
  ASSERT_EQ(r.type, RedisReply::Type::kArray);
  ASSERT_EQ(r.elements.size(), 2u);
  EXPECT_EQ(r.elements[1].str, "2");
  EXPECT_TRUE(client.command({"GET", "none"}).is_nil());
  EXPECT_EQ(client.command({"SET", "a", "b"}).type, RedisReply::Type::kStatus);
  const auto e = expect_redis_error([&] { client.command({"NOSUCHCOMMAND"}); });
  EXPECT_EQ(e.kind(), RedisErrorKind::kServer);
  EXPECT_TRUE(contains(e.what(), "NOSUCHCOMMAND")) << e.what();
}

TEST_F(RedisClientTest, KilledServerGivesAClearErrorQuickly) {
  client.set("k", "v");
  RedisClient counter(server.config());
  counter.incr("n");
  server.kill();
  // Idempotent GET: the broken connection is replaced once, which fails: unreachable.
  uint64_t start = now_ns();
  const auto e = expect_redis_error([&] { client.get("k"); });
  EXPECT_LT(elapsed_s(start), 1.0);
  EXPECT_EQ(e.kind(), RedisErrorKind::kUnreachable) << e.what();
  EXPECT_TRUE(contains(e.what(), client.address())) << e.what();
  // Non-idempotent INCR: not repeated; says the command may or may not have run.
  start = now_ns();
  const auto i = expect_redis_error([&] { counter.incr("n"); });
  EXPECT_LT(elapsed_s(start), 1.0);
  EXPECT_EQ(i.kind(), RedisErrorKind::kConnectionLost) << i.what();
  EXPECT_TRUE(contains(i.what(), "may or may not")) << i.what();
  // Later calls keep failing fast while the server is down.
  EXPECT_EQ(expect_redis_error([&] { counter.incr("n"); }).kind(), RedisErrorKind::kUnreachable);
}

TEST_F(RedisClientTest, ReconnectsTransparentlyAfterARestart) {
  client.set("k", "v");
  server.restart();                           // same port, empty data (no persistence)
  EXPECT_FALSE(client.get("k").has_value());  // idempotent: reconnected and repeated
  client.set("k", "again");
  EXPECT_EQ(client.get("k").value(), "again");
}

TEST_F(RedisClientTest, HungServerTimesOut) {
  RedisConfig cfg = server.config();
  cfg.command_timeout = 250ms;
  RedisClient c(cfg);
  server.suspend();
  const uint64_t start = now_ns();
  const auto e = expect_redis_error([&] { c.get("k"); });
  const double took = elapsed_s(start);
  server.resume();
  EXPECT_EQ(e.kind(), RedisErrorKind::kTimeout) << e.what();
  EXPECT_GE(took, 0.2);
  EXPECT_LT(took, 1.5);
  EXPECT_FALSE(c.connected());  // dropped: a late reply must not answer the next command
  c.set("k", "v");              // reconnects
  EXPECT_EQ(c.get("k").value(), "v");
}

TEST(RedisClientConnect, UnreachableServerIsNamedAndFast) {
  RedisConfig cfg;
  cfg.host = "127.0.0.1";
  cfg.port = hpcless::test::find_free_port();  // nothing listens there
  const uint64_t start = now_ns();
  const auto e = expect_redis_error([&] { RedisClient c(cfg); });
  EXPECT_LT(elapsed_s(start), 1.0);
  EXPECT_EQ(e.kind(), RedisErrorKind::kUnreachable);
  EXPECT_TRUE(contains(e.what(), "127.0.0.1:" + std::to_string(cfg.port))) << e.what();
  EXPECT_THROW(RedisClient(RedisConfig{.host = "", .port = 1}), hpcless::ConfigError);
}

TEST(RedisClientConnect, AuthAndSelect) {
  RedisServer server({"--requirepass", "s3cret-pw"});
  RedisConfig cfg = server.config();
  // No password configured: the first command says one is needed.
  {
    RedisClient c(cfg);
    const auto e = expect_redis_error([&] { c.get("k"); });
    EXPECT_EQ(e.kind(), RedisErrorKind::kAuth) << e.what();
    EXPECT_TRUE(contains(e.what(), "storage.redis.password")) << e.what();
  }
  cfg.password = "wrong";
  const auto bad = expect_redis_error([&] { RedisClient c(cfg); });
  EXPECT_EQ(bad.kind(), RedisErrorKind::kAuth) << bad.what();
  EXPECT_FALSE(contains(bad.what(), "wrong\"")) << bad.what();
  cfg.password = "s3cret-pw";
  cfg.db = 3;
  RedisClient c3(cfg);
  c3.set("k", "in-db-3");
  cfg.db = 0;
  RedisClient c0(cfg);
  EXPECT_FALSE(c0.get("k").has_value());  // databases are separate
  EXPECT_EQ(c3.get("k").value(), "in-db-3");
  cfg.db = 999;
  const auto sel = expect_redis_error([&] { RedisClient c(cfg); });
  EXPECT_EQ(sel.kind(), RedisErrorKind::kServer);
  EXPECT_TRUE(contains(sel.what(), "storage.redis.db")) << sel.what();
}
