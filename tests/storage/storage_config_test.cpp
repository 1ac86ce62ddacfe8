#include "comm/storage/storage_config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "comm/base/error.hpp"
#include "comm/base/json.hpp"
#include "comm/storage/url.hpp"

using hpcless::ConfigError;
using nlohmann::json;
namespace st = hpcless::storage;

namespace {

// Clears the secret environment variables for one test and restores them afterwards.
class EnvGuard {
 public:
  EnvGuard() {
    for (const char* n : kNames) {
      const char* v = getenv(n);
      saved_.emplace_back(n, v ? std::optional<std::string>(v) : std::nullopt);
      unsetenv(n);
    }
  }
  ~EnvGuard() {
    for (const auto& [n, v] : saved_) {
      if (v)
        setenv(n, v->c_str(), 1);
      else
        unsetenv(n);
    }
  }

 private:
  static constexpr const char* kNames[] = {"HPCLESS_S3_ACCESS_KEY", "HPCLESS_S3_SECRET_KEY",
                                           "HPCLESS_REDIS_PASSWORD"};
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

json local_s3() {
  return json{{"endpoint", "http://127.0.0.1:9000"},
              {"access_key", "S3RVER"},
              {"secret_key", "S3RVER"},
              {"bucket", "hpcless-bench"}};
}

// Runs f, expects a ConfigError whose message contains `needle`.
template <class F>
void expect_config_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected ConfigError containing '" << needle << "'";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(StorageConfig, ParsesLocalExampleWithDefaults) {
  EnvGuard env;
  const st::StorageConfig c = st::parse_storage_config(
      json{{"s3", local_s3()}, {"redis", {{"host", "127.0.0.1"}, {"port", 6379}}}});
  ASSERT_TRUE(c.s3 && c.redis);
  EXPECT_EQ(c.s3->endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(c.s3->region, "us-east-1");
  EXPECT_TRUE(c.s3->path_style);  // IP endpoint
  EXPECT_EQ(c.s3->bucket, "hpcless-bench");
  EXPECT_EQ(c.s3->part_size, 8ull << 20);
  EXPECT_EQ(c.s3->retry.max_attempts, 4);
  EXPECT_EQ(c.redis->port, 6379);
  EXPECT_EQ(c.redis->db, 0);
}

TEST(StorageConfig, PathStyleDefaultsFollowTheHost) {
  EnvGuard env;
  json j = local_s3();
  j["endpoint"] = "https://s3.eu-central-1.amazonaws.com";
  EXPECT_FALSE(st::parse_s3_config(j).path_style);
  j["endpoint"] = "http://localhost:9000";
  EXPECT_TRUE(st::parse_s3_config(j).path_style);
  j["endpoint"] = "https://s3.example.org";
  j["path_style"] = true;
  EXPECT_TRUE(st::parse_s3_config(j).path_style);
  j["endpoint"] = "http://10.0.0.1:9000";
  j["path_style"] = false;
  expect_config_error([&] { st::parse_s3_config(j); }, "storage.s3.path_style");
}

TEST(StorageConfig, ParsesEveryField) {
  EnvGuard env;
  json j = local_s3();
  j["region"] = "eu-central-1";
  j["sign_payload"] = false;
  j["connect_timeout_ms"] = 500;
  j["request_timeout_ms"] = 7000;
  j["retry"] = {{"max_attempts", 2},
                {"initial_backoff_ms", 10},
                {"max_backoff_ms", 20},
                {"deadline_ms", 3000}};
  j["multipart_threshold"] = 100 << 20;
  j["part_size"] = 16 << 20;
  j["max_idle_handles"] = 2;
  j["comment"] = "comments are allowed";
  const st::S3Config c = st::parse_s3_config(j);
  EXPECT_EQ(c.region, "eu-central-1");
  EXPECT_FALSE(c.sign_payload);
  EXPECT_EQ(c.connect_timeout.count(), 500);
  EXPECT_EQ(c.request_timeout.count(), 7000);
  EXPECT_EQ(c.retry.max_attempts, 2);
  EXPECT_EQ(c.retry.initial_backoff.count(), 10);
  EXPECT_EQ(c.retry.max_backoff.count(), 20);
  EXPECT_EQ(c.retry.deadline.count(), 3000);
  EXPECT_EQ(c.multipart_threshold, 100ull << 20);
  EXPECT_EQ(c.part_size, 16ull << 20);
  EXPECT_EQ(c.max_idle_handles, 2);

  const st::RedisConfig r = st::parse_redis_config(json{{"host", "redis.local"},
                                                        {"port", 7000},
                                                        {"username", "u"},
                                                        {"password", "p"},
                                                        {"db", 3},
                                                        {"connect_timeout_ms", 100},
                                                        {"command_timeout_ms", 200}});
  EXPECT_EQ(r.host, "redis.local");
  EXPECT_EQ(r.port, 7000);
  EXPECT_EQ(r.username, "u");
  EXPECT_EQ(r.password, "p");
  EXPECT_EQ(r.db, 3);
  EXPECT_EQ(r.connect_timeout.count(), 100);
  EXPECT_EQ(r.command_timeout.count(), 200);
}

TEST(StorageConfig, BadValuesNameTheField) {
  EnvGuard env;
  auto with = [](const std::string& field, json value) {
    json j = local_s3();
    j[field] = std::move(value);
    return j;
  };
  expect_config_error([&] { st::parse_s3_config(with("endpoint", "127.0.0.1:9000")); },
                      "storage.s3.endpoint");
  expect_config_error([&] { st::parse_s3_config(with("endpoint", "ftp://x")); },
                      "storage.s3.endpoint");
  expect_config_error([&] { st::parse_s3_config(with("endpoint", "http://h:99999")); },
                      "storage.s3.endpoint");
  expect_config_error([&] { st::parse_s3_config(with("endpoint", "http://h:9000/bucket")); },
                      "the bucket is a separate field");
  expect_config_error([&] { st::parse_s3_config(with("endpoint", 9000)); }, "storage.s3.endpoint");
  expect_config_error([&] { st::parse_s3_config(with("part_size", 1024)); },
                      "storage.s3.part_size");
  expect_config_error([&] { st::parse_s3_config(with("path_style", "yes")); },
                      "storage.s3.path_style");
  expect_config_error([&] { st::parse_s3_config(with("endpiont", "x")); },
                      "storage.s3.endpiont: unknown field");
  expect_config_error(
      [&] {
        st::parse_s3_config(with("retry", json{{"max_attempts", 0}}));
      },
      "storage.s3.retry.max_attempts");
  expect_config_error([&] { st::parse_s3_config(with("connect_timeout_ms", -5)); },
                      "storage.s3.connect_timeout_ms");
  json no_secret = local_s3();
  no_secret.erase("secret_key");
  expect_config_error([&] { st::parse_s3_config(no_secret); }, "HPCLESS_S3_SECRET_KEY");
  expect_config_error([&] { st::parse_redis_config(json{{"port", 0}}); }, "storage.redis.port");
  expect_config_error([&] { st::parse_redis_config(json{{"db", -1}}); }, "storage.redis.db");
  expect_config_error([&] { st::parse_redis_config(json{{"hots", "x"}}); }, "storage.redis.hots");
  expect_config_error(
      [&] {
        st::parse_storage_config(json{{"s4", json::object()}});
      },
      "storage.s4: unknown field");
  expect_config_error([&] { st::parse_storage_config(json::array()); }, "storage: must be");
}

TEST(StorageConfig, SecretsFromEnvironmentOverrideTheFile) {
  EnvGuard env;
  setenv("HPCLESS_S3_ACCESS_KEY", "ENVKEY", 1);
  setenv("HPCLESS_S3_SECRET_KEY", "ENVSECRET", 1);
  setenv("HPCLESS_REDIS_PASSWORD", "envpass", 1);
  json j = local_s3();
  j.erase("access_key");
  j.erase("secret_key");
  const st::S3Config c = st::parse_s3_config(j);
  EXPECT_EQ(c.access_key, "ENVKEY");
  EXPECT_EQ(c.secret_key, "ENVSECRET");
  EXPECT_EQ(st::parse_s3_config(local_s3()).secret_key, "ENVSECRET");
  EXPECT_EQ(st::parse_redis_config(json::object()).password, "envpass");
}

TEST(StorageConfig, RedactionNeverShowsSecrets) {
  EnvGuard env;
  st::StorageConfig c;
  c.s3 = st::parse_s3_config(json{{"endpoint", "http://127.0.0.1:9000"},
                                  {"access_key", "AKIAVERYSECRETKEYID"},
                                  {"secret_key", "wJalrXUtnFEMI-secret"}});
  st::RedisConfig r;
  r.password = "hunter2-password";
  c.redis = r;
  const std::string text = st::to_json_redacted(c).dump();
  EXPECT_EQ(text.find("wJalrXUtnFEMI-secret"), std::string::npos) << text;
  EXPECT_EQ(text.find("hunter2-password"), std::string::npos) << text;
  EXPECT_EQ(text.find("AKIAVERYSECRETKEYID"), std::string::npos) << text;
  EXPECT_NE(text.find("AKIA..."), std::string::npos) << text;
  EXPECT_NE(text.find("<redacted>"), std::string::npos) << text;
  EXPECT_NE(text.find("http://127.0.0.1:9000"), std::string::npos) << text;
  // Unset secrets stay visibly unset.
  EXPECT_EQ(st::to_json_redacted(st::RedisConfig{})["password"], "");
}

TEST(StorageConfig, LoadsTheRepositoryExampleFile) {
  EnvGuard env;
  const st::StorageConfig c = st::load_storage_config(HPCLESS_SOURCE_DIR "/config/local.json");
  ASSERT_TRUE(c.s3 && c.redis);
  EXPECT_EQ(c.s3->endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(c.s3->access_key, "S3RVER");
  EXPECT_EQ(c.s3->bucket, "hpcless-bench");
  EXPECT_EQ(c.redis->host, "127.0.0.1");
  EXPECT_EQ(c.redis->port, 6379);
  expect_config_error([] { st::load_storage_config("/nonexistent/x.json"); },
                      "cannot read config file /nonexistent/x.json");
}

TEST(StorageConfig, LoadReportsTheFileForBadJson) {
  EnvGuard env;
  const std::string path = testing::TempDir() + "hpcless_bad_storage.json";
  { std::ofstream(path) << "{\"storage\": {\"s3\": "; }
  expect_config_error([&] { st::load_storage_config(path); }, path + ": invalid JSON");
  { std::ofstream(path) << R"({"storage": {"redis": {"port": "6379"}}})"; }
  expect_config_error([&] { st::load_storage_config(path); }, "storage.redis.port");
  { std::ofstream(path) << R"({"other": 1})"; }
  const st::StorageConfig empty = st::load_storage_config(path);
  EXPECT_FALSE(empty.s3 || empty.redis);
}

TEST(StorageEndpoint, ParsesHostsPortsAndHostHeaders) {
  const st::Endpoint a = st::parse_endpoint("http://127.0.0.1:9000");
  EXPECT_EQ(a.scheme, "http");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 9000);
  EXPECT_EQ(a.host_header("127.0.0.1"), "127.0.0.1:9000");
  const st::Endpoint b = st::parse_endpoint("HTTPS://s3.amazonaws.com/");
  EXPECT_EQ(b.scheme, "https");
  EXPECT_EQ(b.port, 0);
  EXPECT_EQ(b.effective_port(), 443);
  EXPECT_EQ(b.host_header("bkt.s3.amazonaws.com"), "bkt.s3.amazonaws.com");
  EXPECT_EQ(b.origin("bkt.s3.amazonaws.com"), "https://bkt.s3.amazonaws.com");
  const st::Endpoint c = st::parse_endpoint("http://[::1]:80");
  EXPECT_EQ(c.host, "[::1]");
  EXPECT_EQ(c.host_header(c.host), "[::1]");  // default port is not sent
  EXPECT_TRUE(st::is_local_or_ip_host("10.1.2.3"));
  EXPECT_TRUE(st::is_local_or_ip_host("s3.localhost"));
  EXPECT_FALSE(st::is_local_or_ip_host("s3.amazonaws.com"));
}
