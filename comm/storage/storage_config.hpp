// Configuration of the storage clients: the "storage" section of a run's JSON config.
//
//   {"storage": {"s3": {"endpoint": "http://127.0.0.1:9000", "access_key": "...", ...},
//                "redis": {"host": "127.0.0.1", "port": 6379}}}
//
// Every field is described in docs/storage.md; config/local.json is the local-cluster example.
// Unknown fields are rejected (a typo must not silently fall back to a default). Secrets may come
// from the environment instead of the file:
//   HPCLESS_S3_ACCESS_KEY, HPCLESS_S3_SECRET_KEY, HPCLESS_REDIS_PASSWORD
// which, when set and non-empty, override the values in the file. Secrets are never printed:
// log or store a configuration only through to_json_redacted().
//
// All functions are pure (apart from reading the environment/file) and thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

namespace hpcless::storage {

// How one HTTP request to S3 is retried. A request is attempted at most `max_attempts` times and
// never past `deadline` after its first attempt started (both bounds apply). Backoff before
// attempt n+1 is uniformly random in [b/2, b] with b = min(max_backoff, initial_backoff * 2^(n-1)).
struct RetryPolicy {
  int max_attempts = 4;  // 1 = no retries
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
  std::chrono::milliseconds deadline{60000};  // all attempts of one request
};

struct S3Config {
  std::string endpoint;  // "http://127.0.0.1:9000", "https://s3.eu-central-1.amazonaws.com"
  std::string region = "us-east-1";
  std::string access_key;  // secret-ish: never printed in full
  std::string secret_key;  // secret: never printed
  std::string bucket;      // default bucket for benchmarks and channels (may be empty)
  // Path style: http://host:port/bucket/key. Virtual-host style: https://bucket.host/key.
  // Parsing defaults it to true when the endpoint host is an IP address or "localhost".
  bool path_style = true;
  // Sign the body's SHA-256 (true) or send x-amz-content-sha256: UNSIGNED-PAYLOAD (false, saves
  // one pass over the data; use it only over https where TLS protects the body).
  bool sign_payload = true;
  std::chrono::milliseconds connect_timeout{3000};   // TCP (+TLS) connect, per attempt
  std::chrono::milliseconds request_timeout{60000};  // whole transfer, per attempt
  RetryPolicy retry;
  // Objects of at least this many bytes are uploaded with multipart upload in parts of
  // `part_size` bytes (S3 needs >= 5 MiB for every part but the last; at most 10000 parts, the
  // client grows the part size when an object would need more).
  uint64_t multipart_threshold = 8ull << 20;
  uint64_t part_size = 8ull << 20;
  int max_idle_handles = 8;  // CURL easy handles (each keeps one connection) kept for reuse
};

struct RedisConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;  // Redis 6 ACL user; empty: the default user ("AUTH password")
  std::string password;  // empty: no AUTH. Secret: never printed
  int db = 0;            // SELECT db after connecting (0: no SELECT)
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds command_timeout{
      10000};  // reply wait of one command (BLPOP adds its own)
};

struct StorageConfig {
  std::optional<S3Config> s3;        // absent when the section has no "s3" object
  std::optional<RedisConfig> redis;  // absent when the section has no "redis" object
};

// Parse the "s3" object / the "redis" object / the whole "storage" section. Environment secrets are
// applied. Throws ConfigError naming the offending field ("storage.s3.endpoint: ...").
S3Config parse_s3_config(const nlohmann::json& s3);
RedisConfig parse_redis_config(const nlohmann::json& redis);
StorageConfig parse_storage_config(const nlohmann::json& storage);

// Reads a JSON file and parses its top-level "storage" object (missing -> empty StorageConfig).
// Throws ConfigError for an unreadable file or invalid JSON (with the file name).
StorageConfig load_storage_config(const std::string& path);

// Checks invariants of a configuration built in code (the parse functions call these too).
// Throws ConfigError naming the field.
void validate(const S3Config& c);
void validate(const RedisConfig& c);

// The configuration as JSON with secrets replaced by "<redacted>" (or "" when unset) and the
// access key shortened to its first 4 characters. Safe to log or to store in metadata.json.
nlohmann::json to_json_redacted(const S3Config& c);
nlohmann::json to_json_redacted(const RedisConfig& c);
nlohmann::json to_json_redacted(const StorageConfig& c);

// True for "localhost", "*.localhost" and IPv4/IPv6 literals (path style is the only one that works
// against such endpoints).
bool is_local_or_ip_host(const std::string& host);

}  // namespace hpcless::storage
