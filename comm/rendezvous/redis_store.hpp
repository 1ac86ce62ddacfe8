// A rendezvous store on Redis, for ranks on different hosts that share a Redis server.
//
//   RedisStoreOptions o;  o.redis = storage_config.redis.value();
//   auto store = std::make_shared<rendezvous::RedisStore>(o);
//
// Layout: the value of key k is the string "<prefix>k:<k>"; every set/add also appends to the
// stream "<prefix>e:<k>" (capped at one entry). get() reads the value and, while it is absent,
// blocks in XREAD BLOCK on that stream, so every waiter wakes on the write (no polling, any
// number of waiters). add() is INCRBY (64-bit, atomic). Writes run as one Lua script each and
// set the TTL (options.ttl) on both keys. erase_prefix() uses SCAN, never KEYS.
//
// Errors: IoError (Redis unreachable or failing), TimeoutError (get past its deadline),
// ConfigError (add on a value that is not an integer).
// Thread safety: safe from any number of threads; each call borrows a connection from a small
// pool (a blocking get holds one for its duration).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "comm/rendezvous/store.hpp"
#include "comm/storage/redis_client.hpp"
#include "comm/storage/storage_config.hpp"

namespace hpcless::rendezvous {

struct RedisStoreOptions {
  storage::RedisConfig redis;
  std::string prefix = "hpcless:rdv:";
  // On every key written; nullopt: no expiry.
  std::optional<std::chrono::milliseconds> ttl = std::chrono::hours(24);
  size_t max_idle_connections = 4;
};

class RedisStore final : public Store {
 public:
  // Connects once to check the server (IoError when unreachable) and loads the scripts.
  explicit RedisStore(RedisStoreOptions options);
  ~RedisStore() override;

  void set(std::string_view key, std::span<const std::byte> value) override;
  std::vector<std::byte> get(std::string_view key, Deadline deadline) override;
  int64_t add(std::string_view key, int64_t delta) override;
  void erase_prefix(std::string_view prefix) override;

  const RedisStoreOptions& options() const noexcept { return options_; }

 private:
  class Lease;
  std::unique_ptr<storage::RedisClient> borrow();
  void give_back(std::unique_ptr<storage::RedisClient> c);
  std::string value_key(std::string_view key) const;
  std::string event_key(std::string_view key) const;
  storage::RedisReply run_script(storage::RedisClient& c, int script,
                                 std::vector<std::string> argv);

  RedisStoreOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<storage::RedisClient>> idle_;
  std::vector<std::string> shas_;
};

}  // namespace hpcless::rendezvous
