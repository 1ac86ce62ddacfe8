#include "executor/worker/storage_services.hpp"

#include <cstdlib>
#include <exception>
#include <string_view>

#include "comm/base/error.hpp"
#include "comm/storage/redis_client.hpp"
#include "comm/storage/s3_client.hpp"
#include "comm/storage/storage_config.hpp"

namespace hpcless::executor {

namespace {

constexpr const char* kHowToConfigure =
    "start the executor with a \"storage\" section in its --config file, or set "
    "HPCLESS_STORAGE_CONFIG to a JSON file holding one (docs/benchmarks.md)";

// Thrown inside guarded() for outcomes that are not errors.
struct NotFound {};

struct SinkRefused : Error {
  SinkRefused() : Error("the function's sink refused the data (out of memory?)") {}
};

std::string str(const char* p, size_t n) { return n == 0 ? std::string() : std::string(p, n); }

void feed(hpcless_sink_fn sink, void* user, std::string_view data) {
  if (sink(user, data.data(), data.size()) != 0) throw SinkRefused();
}

}  // namespace

std::shared_ptr<const storage::StorageConfig> load_worker_storage_config(const std::string& path) {
  std::string file = path;
  if (file.empty()) {
    const char* env = std::getenv("HPCLESS_STORAGE_CONFIG");
    if (env == nullptr || *env == '\0') return nullptr;
    file = env;
  }
  auto config = std::make_shared<storage::StorageConfig>(storage::load_storage_config(file));
  if (!config->s3 && !config->redis)
    throw ConfigError("storage config '" + file +
                      "' has no \"storage\" section with an \"s3\" or \"redis\" object");
  // The first S3Client initialises libcurl for the process; do it here, before the worker
  // threads exist (their clients are created lazily, concurrently). It contacts no server.
  if (config->s3) {
    storage::S3Client first(*config->s3);
  }
  return config;
}

StorageServices::StorageServices(std::shared_ptr<const storage::StorageConfig> config)
    : config_(std::move(config)) {}

StorageServices::~StorageServices() = default;

storage::S3Client& StorageServices::s3() {
  if (!s3_) {
    if (!config_ || !config_->s3)
      throw ConfigError(std::string("no object storage (S3) is configured for this executor: ") +
                        kHowToConfigure);
    s3_ = std::make_unique<storage::S3Client>(*config_->s3);
  }
  return *s3_;
}

storage::RedisClient& StorageServices::redis() {
  if (!redis_) {
    if (!config_ || !config_->redis)
      throw ConfigError(std::string("no key-value storage (Redis) is configured for this "
                                    "executor: ") +
                        kHowToConfigure);
    redis_ = std::make_unique<storage::RedisClient>(*config_->redis);
  }
  return *redis_;
}

const std::string& StorageServices::bucket() {
  if (!config_ || !config_->s3)
    throw ConfigError(std::string("no object storage (S3) is configured for this executor, so "
                                  "there is no benchmark bucket: ") +
                      kHowToConfigure);
  if (config_->s3->bucket.empty())
    throw ConfigError("the executor's storage.s3 section names no \"bucket\"");
  return config_->s3->bucket;
}

template <class Op>
int StorageServices::guarded(hpcless_context* ctx, const char* what, Op&& op) noexcept {
  StorageServices& self = of(ctx);
  try {
    op(self);
    return HPCLESS_STORAGE_OK;
  } catch (const NotFound&) {
    return HPCLESS_STORAGE_NOT_FOUND;
  } catch (const std::exception& e) {
    try {
      self.error_.assign(what).append(": ").append(e.what());
    } catch (...) {
      self.error_.clear();
    }
  } catch (...) {
    self.error_.clear();
  }
  return HPCLESS_STORAGE_ERROR;
}

const char* StorageServices::abi_error(hpcless_context* ctx) {
  const std::string& e = of(ctx).error_;
  return e.empty() ? "storage call failed (no message)" : e.c_str();
}

int StorageServices::abi_bucket(hpcless_context* ctx, hpcless_sink_fn sink, void* user) {
  return guarded(ctx, "bucket", [&](StorageServices& s) { feed(sink, user, s.bucket()); });
}

int StorageServices::abi_object_get(hpcless_context* ctx, const char* bucket, size_t bucket_len,
                                    const char* key, size_t key_len, hpcless_sink_fn sink,
                                    void* user) {
  return guarded(ctx, "get_object", [&](StorageServices& s) {
    auto data = s.s3().try_get_object(str(bucket, bucket_len), str(key, key_len));
    if (!data) throw NotFound{};
    feed(sink, user, *data);
  });
}

int StorageServices::abi_object_put(hpcless_context* ctx, const char* bucket, size_t bucket_len,
                                    const char* key, size_t key_len, const void* data,
                                    size_t data_len) {
  return guarded(ctx, "put_object", [&](StorageServices& s) {
    s.s3().put_object(str(bucket, bucket_len), str(key, key_len),
                      std::string_view(static_cast<const char*>(data), data_len));
  });
}

int StorageServices::abi_kv_get(hpcless_context* ctx, const char* key, size_t key_len,
                                hpcless_sink_fn sink, void* user) {
  return guarded(ctx, "kv_get", [&](StorageServices& s) {
    auto v = s.redis().get(std::string_view(key, key_len));
    if (!v) throw NotFound{};
    feed(sink, user, *v);
  });
}

int StorageServices::abi_kv_set(hpcless_context* ctx, const char* key, size_t key_len,
                                const void* value, size_t value_len) {
  return guarded(ctx, "kv_set", [&](StorageServices& s) {
    s.redis().set(std::string_view(key, key_len),
                  std::string_view(static_cast<const char*>(value), value_len));
  });
}

int StorageServices::abi_kv_del(hpcless_context* ctx, const char* key, size_t key_len) {
  return guarded(ctx, "kv_del", [&](StorageServices& s) {
    if (s.redis().del(std::string_view(key, key_len)) == 0) throw NotFound{};
  });
}

int StorageServices::abi_kv_hset(hpcless_context* ctx, const char* key, size_t key_len,
                                 const char* field, size_t field_len, const void* value,
                                 size_t value_len) {
  return guarded(ctx, "kv_hset", [&](StorageServices& s) {
    s.redis().hset(std::string_view(key, key_len), std::string_view(field, field_len),
                   std::string_view(static_cast<const char*>(value), value_len));
  });
}

int StorageServices::abi_kv_hget(hpcless_context* ctx, const char* key, size_t key_len,
                                 const char* field, size_t field_len, hpcless_sink_fn sink,
                                 void* user) {
  return guarded(ctx, "kv_hget", [&](StorageServices& s) {
    auto v = s.redis().hget(std::string_view(key, key_len), std::string_view(field, field_len));
    if (!v) throw NotFound{};
    feed(sink, user, *v);
  });
}

int StorageServices::abi_kv_hgetall(hpcless_context* ctx, const char* key, size_t key_len,
                                    hpcless_pair_sink_fn pair, void* user) {
  return guarded(ctx, "kv_hgetall", [&](StorageServices& s) {
    for (const auto& [field, value] : s.redis().hgetall(std::string_view(key, key_len)))
      if (pair(user, field.data(), field.size(), value.data(), value.size()) != 0)
        throw SinkRefused();
  });
}

}  // namespace hpcless::executor
