// The storage a worker thread offers to functions through the host API: object storage (S3) and
// key-value storage (Redis), configured by the run's "storage" section
// (comm/storage/storage_config.hpp) given to the worker (--storage-config FILE or the
// HPCLESS_STORAGE_CONFIG environment variable).
//
// Clients are created lazily, on a function's first storage call in this thread, so workers
// without storage, and functions that never use it, pay nothing; a client that could not be
// created is tried again on the next call. A call when the service is not configured fails with
// a message naming what to configure.
//
// The abi_* functions are the storage members of hpcless_host_api: they never throw; failures
// become HPCLESS_STORAGE_ERROR with the message kept for abi_error().
//
// Thread safety: one StorageServices per worker thread (RedisClient is single-threaded).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "functions/abi/hpcless_function.h"

namespace hpcless::storage {
struct StorageConfig;
class S3Client;
class RedisClient;
}  // namespace hpcless::storage

namespace hpcless::executor {

// The storage configuration of a worker process: the "storage" section of `path`, or, when
// `path` is empty, of the file named by HPCLESS_STORAGE_CONFIG; null when neither is given.
// Throws ConfigError for an unreadable file or a file without a usable "storage" section.
std::shared_ptr<const storage::StorageConfig> load_worker_storage_config(const std::string& path);

class StorageServices {
 public:
  explicit StorageServices(std::shared_ptr<const storage::StorageConfig> config);
  ~StorageServices();
  StorageServices(const StorageServices&) = delete;
  StorageServices& operator=(const StorageServices&) = delete;

  // Throw Error naming the missing configuration, or the client's error when it cannot start.
  storage::S3Client& s3();
  storage::RedisClient& redis();
  const std::string& bucket();

  static const char* abi_error(hpcless_context* ctx);
  static int abi_bucket(hpcless_context* ctx, hpcless_sink_fn sink, void* user);
  static int abi_object_get(hpcless_context* ctx, const char* bucket, size_t bucket_len,
                            const char* key, size_t key_len, hpcless_sink_fn sink, void* user);
  static int abi_object_put(hpcless_context* ctx, const char* bucket, size_t bucket_len,
                            const char* key, size_t key_len, const void* data, size_t data_len);
  static int abi_kv_get(hpcless_context* ctx, const char* key, size_t key_len, hpcless_sink_fn sink,
                        void* user);
  static int abi_kv_set(hpcless_context* ctx, const char* key, size_t key_len, const void* value,
                        size_t value_len);
  static int abi_kv_del(hpcless_context* ctx, const char* key, size_t key_len);
  static int abi_kv_hset(hpcless_context* ctx, const char* key, size_t key_len, const char* field,
                         size_t field_len, const void* value, size_t value_len);
  static int abi_kv_hget(hpcless_context* ctx, const char* key, size_t key_len, const char* field,
                         size_t field_len, hpcless_sink_fn sink, void* user);
  static int abi_kv_hgetall(hpcless_context* ctx, const char* key, size_t key_len,
                            hpcless_pair_sink_fn pair, void* user);

 private:
  // The StorageServices of the FunctionHost that owns `ctx` (defined in function_host.cpp).
  static StorageServices& of(hpcless_context* ctx);
  // Runs `op`, turning exceptions into HPCLESS_STORAGE_ERROR with the message kept.
  template <class Op>
  static int guarded(hpcless_context* ctx, const char* what, Op&& op) noexcept;

  std::shared_ptr<const storage::StorageConfig> config_;
  std::unique_ptr<storage::S3Client> s3_;
  std::unique_ptr<storage::RedisClient> redis_;
  std::string error_;
};

}  // namespace hpcless::executor
