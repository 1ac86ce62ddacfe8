#include "comm/storage/storage_config.hpp"

#include <arpa/inet.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "comm/base/error.hpp"
#include "comm/base/json.hpp"
#include "comm/storage/url.hpp"

namespace hpcless::storage {

namespace {

using nlohmann::json;

constexpr uint64_t kMinPartSize = 5ull << 20;  // S3's minimum for all parts but the last
constexpr uint64_t kMaxPartSize = 5ull << 30;  // S3's maximum part size

// Reads typed fields of one JSON object and rejects fields nobody asked for.
class Fields {
 public:
  Fields(const json& obj, std::string path) : obj_(obj), path_(std::move(path)) {
    if (!obj_.is_object()) throw ConfigError(path_ + ": must be a JSON object");
  }

  const json* find(const std::string& name) {
    known_.insert(name);
    auto it = obj_.find(name);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }
  std::string name(const std::string& field) const { return path_ + "." + field; }

  void str(const std::string& field, std::string& out) {
    if (const json* v = find(field)) {
      if (!v->is_string()) throw ConfigError(name(field) + ": must be a string");
      out = v->get<std::string>();
    }
  }
  void boolean(const std::string& field, bool& out) {
    if (const json* v = find(field)) {
      if (!v->is_boolean()) throw ConfigError(name(field) + ": must be true or false");
      out = v->get<bool>();
    }
  }
  template <class Int>
  bool integer(const std::string& field, Int& out, long long lo, long long hi) {
    const json* v = find(field);
    if (!v) return false;
    if (!v->is_number_integer())
      throw ConfigError(name(field) + ": must be an integer in " + std::to_string(lo) + ".." +
                        std::to_string(hi));
    const long long x =
        v->is_number_unsigned() && v->get<unsigned long long>() > 0x7fffffffffffffffull
            ? hi + 1
            : v->get<long long>();
    if (x < lo || x > hi)
      throw ConfigError(name(field) + ": " + v->dump() + " is out of range " + std::to_string(lo) +
                        ".." + std::to_string(hi));
    out = static_cast<Int>(x);
    return true;
  }
  void millis(const std::string& field, std::chrono::milliseconds& out, long long lo = 1,
              long long hi = 24ll * 3600 * 1000) {
    long long ms = 0;
    if (integer(field, ms, lo, hi)) out = std::chrono::milliseconds(ms);
  }

  // Every field must have been asked for ("comment" is always allowed).
  void reject_unknown() const {
    for (auto it = obj_.begin(); it != obj_.end(); ++it) {
      if (it.key() == "comment" || known_.count(it.key())) continue;
      std::string list;
      for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
      throw ConfigError(name(it.key()) + ": unknown field (known: " + list + ")");
    }
  }

 private:
  const json& obj_;
  std::string path_;
  std::set<std::string> known_;
};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string redact(const std::string& secret) { return secret.empty() ? "" : "<redacted>"; }

std::string short_key(const std::string& key) {
  if (key.empty()) return "";
  return key.substr(0, key.size() < 4 ? key.size() : 4) + "...";
}

}  // namespace

bool is_local_or_ip_host(const std::string& host) {
  if (host == "localhost") return true;
  if (host.size() > 10 && host.compare(host.size() - 10, 10, ".localhost") == 0) return true;
  if (!host.empty() && host.front() == '[') return true;  // IPv6 literal
  in_addr a4{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1;
}

void validate(const S3Config& c) {
  const Endpoint e = parse_endpoint(c.endpoint, "storage.s3.endpoint");
  if (c.region.empty()) throw ConfigError("storage.s3.region: must not be empty (e.g. us-east-1)");
  for (char ch : c.region) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-'))
      throw ConfigError("storage.s3.region: '" + c.region + "' is not a region name");
  }
  if (c.access_key.empty())
    throw ConfigError(
        "storage.s3.access_key: missing (set it in the config or in HPCLESS_S3_ACCESS_KEY)");
  if (c.secret_key.empty())
    throw ConfigError(
        "storage.s3.secret_key: missing (set it in the config or in HPCLESS_S3_SECRET_KEY)");
  if (!c.path_style && is_local_or_ip_host(e.host) && e.host != "localhost" &&
      e.host.find(".localhost") == std::string::npos)
    throw ConfigError(
        "storage.s3.path_style: virtual-host style needs a DNS name, but the endpoint "
        "host is an IP address; set path_style to true");
  if (c.connect_timeout.count() <= 0)
    throw ConfigError("storage.s3.connect_timeout_ms: must be > 0");
  if (c.request_timeout.count() <= 0)
    throw ConfigError("storage.s3.request_timeout_ms: must be > 0");
  if (c.retry.max_attempts < 1 || c.retry.max_attempts > 100)
    throw ConfigError("storage.s3.retry.max_attempts: must be 1..100");
  if (c.retry.initial_backoff.count() < 0 || c.retry.max_backoff < c.retry.initial_backoff)
    throw ConfigError("storage.s3.retry: need 0 <= initial_backoff_ms <= max_backoff_ms");
  if (c.retry.deadline.count() <= 0) throw ConfigError("storage.s3.retry.deadline_ms: must be > 0");
  if (c.part_size < kMinPartSize || c.part_size > kMaxPartSize)
    throw ConfigError("storage.s3.part_size: must be 5 MiB..5 GiB (S3 limits), got " +
                      std::to_string(c.part_size));
  if (c.multipart_threshold < 1) throw ConfigError("storage.s3.multipart_threshold: must be > 0");
  if (c.max_idle_handles < 0 || c.max_idle_handles > 1024)
    throw ConfigError("storage.s3.max_idle_handles: must be 0..1024");
}

void validate(const RedisConfig& c) {
  if (c.host.empty()) throw ConfigError("storage.redis.host: must not be empty");
  if (c.port < 1 || c.port > 65535) throw ConfigError("storage.redis.port: must be 1..65535");
  if (c.db < 0) throw ConfigError("storage.redis.db: must be >= 0");
  if (!c.username.empty() && c.password.empty())
    throw ConfigError("storage.redis.username: set only together with a password");
  if (c.connect_timeout.count() <= 0)
    throw ConfigError("storage.redis.connect_timeout_ms: must be > 0");
  if (c.command_timeout.count() <= 0)
    throw ConfigError("storage.redis.command_timeout_ms: must be > 0");
}

S3Config parse_s3_config(const json& j) {
  S3Config c;
  Fields f(j, "storage.s3");
  f.str("endpoint", c.endpoint);
  if (c.endpoint.empty())
    throw ConfigError("storage.s3.endpoint: missing (e.g. http://127.0.0.1:9000)");
  const Endpoint e = parse_endpoint(c.endpoint, "storage.s3.endpoint");
  f.str("region", c.region);
  f.str("access_key", c.access_key);
  f.str("secret_key", c.secret_key);
  f.str("bucket", c.bucket);
  c.path_style = is_local_or_ip_host(e.host);
  f.boolean("path_style", c.path_style);
  f.boolean("sign_payload", c.sign_payload);
  f.millis("connect_timeout_ms", c.connect_timeout);
  f.millis("request_timeout_ms", c.request_timeout);
  if (const json* r = f.find("retry")) {
    Fields rf(*r, "storage.s3.retry");
    rf.integer("max_attempts", c.retry.max_attempts, 1, 100);
    rf.millis("initial_backoff_ms", c.retry.initial_backoff, 0);
    rf.millis("max_backoff_ms", c.retry.max_backoff, 0);
    rf.millis("deadline_ms", c.retry.deadline);
    rf.reject_unknown();
  }
  f.integer("multipart_threshold", c.multipart_threshold, 1, 1ll << 50);
  f.integer("part_size", c.part_size, static_cast<long long>(kMinPartSize),
            static_cast<long long>(kMaxPartSize));
  f.integer("max_idle_handles", c.max_idle_handles, 0, 1024);
  f.reject_unknown();
  // The environment wins, so that secrets need not be written into files.
  if (std::string v = env("HPCLESS_S3_ACCESS_KEY"); !v.empty()) c.access_key = v;
  if (std::string v = env("HPCLESS_S3_SECRET_KEY"); !v.empty()) c.secret_key = v;
  validate(c);
  return c;
}

RedisConfig parse_redis_config(const json& j) {
  RedisConfig c;
  Fields f(j, "storage.redis");
  f.str("host", c.host);
  f.integer("port", c.port, 1, 65535);
  f.str("username", c.username);
  f.str("password", c.password);
  f.integer("db", c.db, 0, 1 << 20);
  f.millis("connect_timeout_ms", c.connect_timeout);
  f.millis("command_timeout_ms", c.command_timeout);
  f.reject_unknown();
  if (std::string v = env("HPCLESS_REDIS_PASSWORD"); !v.empty()) c.password = v;
  validate(c);
  return c;
}

StorageConfig parse_storage_config(const json& j) {
  StorageConfig c;
  Fields f(j, "storage");
  if (const json* s3 = f.find("s3")) c.s3 = parse_s3_config(*s3);
  if (const json* redis = f.find("redis")) c.redis = parse_redis_config(*redis);
  f.reject_unknown();
  return c;
}

StorageConfig load_storage_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  json doc;
  try {
    doc = json::parse(text.str());
  } catch (const json::parse_error& e) {
    throw ConfigError(path + ": invalid JSON: " + e.what());
  }
  if (!doc.is_object()) throw ConfigError(path + ": the top level must be a JSON object");
  auto it = doc.find("storage");
  if (it == doc.end() || it->is_null()) return {};
  try {
    return parse_storage_config(*it);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

json to_json_redacted(const S3Config& c) {
  return json{{"endpoint", c.endpoint},
              {"region", c.region},
              {"access_key", short_key(c.access_key)},
              {"secret_key", redact(c.secret_key)},
              {"bucket", c.bucket},
              {"path_style", c.path_style},
              {"sign_payload", c.sign_payload},
              {"connect_timeout_ms", c.connect_timeout.count()},
              {"request_timeout_ms", c.request_timeout.count()},
              {"retry",
               {{"max_attempts", c.retry.max_attempts},
                {"initial_backoff_ms", c.retry.initial_backoff.count()},
                {"max_backoff_ms", c.retry.max_backoff.count()},
                {"deadline_ms", c.retry.deadline.count()}}},
              {"multipart_threshold", c.multipart_threshold},
              {"part_size", c.part_size},
              {"max_idle_handles", c.max_idle_handles}};
}

json to_json_redacted(const RedisConfig& c) {
  return json{{"host", c.host},
              {"port", c.port},
              {"username", c.username},
              {"password", redact(c.password)},
              {"db", c.db},
              {"connect_timeout_ms", c.connect_timeout.count()},
              {"command_timeout_ms", c.command_timeout.count()}};
}

json to_json_redacted(const StorageConfig& c) {
  json j = json::object();
  if (c.s3) j["s3"] = to_json_redacted(*c.s3);
  if (c.redis) j["redis"] = to_json_redacted(*c.redis);
  return j;
}

}  // namespace hpcless::storage
