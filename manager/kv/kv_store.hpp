// The rendezvous store: a key/value map in memory (rendezvous data lives for one run), with
// long-polling reads. Bounded: at most `max_bytes` of keys and values in total, and at most
// `max_waiters` readers blocked at once (each holds an HTTP thread).
//
// Thread safety: all members are thread-safe. shutdown() wakes every waiting reader.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace hpcless::manager {

struct KvStats {
  size_t keys = 0;
  size_t bytes = 0;
  size_t waiters = 0;
};

class KvStore {
 public:
  KvStore(size_t max_bytes, size_t max_waiters);

  // Throws ApiError 507 when the store would exceed max_bytes.
  void put(const std::string& key, std::string value);
  // Waits up to `wait` for the key to appear; std::nullopt if it does not (or on shutdown).
  // Throws ApiError 503 when max_waiters readers are waiting already.
  std::optional<std::string> get(const std::string& key, std::chrono::milliseconds wait);
  size_t erase(const std::string& key);
  size_t erase_prefix(const std::string& prefix);
  void shutdown();
  KvStats stats() const;

 private:
  const size_t max_bytes_;
  const size_t max_waiters_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, std::string> data_;  // ordered: prefix deletes are a range
  size_t bytes_ = 0;
  size_t waiters_ = 0;
  bool shutdown_ = false;
};

}  // namespace hpcless::manager
