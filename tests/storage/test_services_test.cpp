// The test-server fixtures themselves: ports, stop/kill/restart, missing binaries fail loudly.
#include "tests/services/test_services.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>

#include "comm/base/error.hpp"
#include "comm/storage/redis_client.hpp"
#include "comm/storage/s3_client.hpp"

using hpcless::test::RedisServer;
using hpcless::test::S3Server;

TEST(TestServices, TwoRedisServersGetTheirOwnPortsAndDirectories) {
  RedisServer a, b;
  EXPECT_NE(a.port(), b.port());
  EXPECT_NE(a.dir(), b.dir());
  hpcless::storage::RedisClient ca(a.config()), cb(b.config());
  ca.set("k", "a");
  EXPECT_FALSE(cb.get("k").has_value());
  const std::string dir = a.dir();
  const pid_t pid = a.pid();
  a.stop();
  EXPECT_FALSE(a.running());
  EXPECT_NE(::kill(pid, 0), 0);  // really gone (reaped)
  a.restart();
  EXPECT_TRUE(a.running());
  hpcless::storage::RedisClient again(a.config());
  again.ping();
  EXPECT_TRUE(std::filesystem::exists(dir));
}

TEST(TestServices, RedisServerCleansUpOnDestruction) {
  std::string dir;
  pid_t pid = 0;
  {
    RedisServer s;
    dir = s.dir();
    pid = s.pid();
    EXPECT_TRUE(std::filesystem::exists(dir));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_NE(::kill(pid, 0), 0);
}

TEST(TestServices, S3ServerConfiguresBucketsAndKeepsDataAcrossRestart) {
  S3Server s({"one", "two"});
  hpcless::storage::S3Client c(s.config("one"));
  EXPECT_TRUE(c.bucket_exists("one"));
  EXPECT_TRUE(c.bucket_exists("two"));
  EXPECT_FALSE(c.bucket_exists("three"));
  c.put_object("two", "k", "persisted");
  s.kill();
  EXPECT_FALSE(s.running());
  s.restart();
  EXPECT_EQ(c.get_object("two", "k"), "persisted");
}

TEST(TestServices, MissingS3rverFailsWithInstallHint) {
  const char* old = getenv("HPCLESS_S3RVER");
  const std::string saved = old ? old : "";
  setenv("HPCLESS_S3RVER", "/nonexistent/s3rver", 1);
  try {
    S3Server s;
    ADD_FAILURE() << "S3Server started without s3rver";
  } catch (const hpcless::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("scripts/install-deps.sh"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("/nonexistent/s3rver"), std::string::npos) << e.what();
  }
  if (old)
    setenv("HPCLESS_S3RVER", saved.c_str(), 1);
  else
    unsetenv("HPCLESS_S3RVER");
}

TEST(TestServices, FreePortsAreBindable) {
  const int p = hpcless::test::find_free_port();
  EXPECT_GT(p, 0);
  EXPECT_LT(p, 65536);
  EXPECT_FALSE(hpcless::test::find_executable("redis-server").empty());
  EXPECT_TRUE(hpcless::test::find_executable("no-such-binary-hpcless").empty());
}
