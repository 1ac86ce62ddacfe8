// An in-process rendezvous store: for ranks that are threads of one process, and the state behind
// StoreServer. Blocking get() sleeps on a condition variable (no polling).
//
// Thread safety: all calls may be made from any thread.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>

#include "comm/rendezvous/store.hpp"

namespace hpcless::rendezvous {

class MemoryStore final : public Store {
 public:
  void set(std::string_view key, std::span<const std::byte> value) override;
  std::vector<std::byte> get(std::string_view key, Deadline deadline) override;
  int64_t add(std::string_view key, int64_t delta) override;
  void erase_prefix(std::string_view prefix) override;
  void wait(std::span<const std::string> keys, Deadline deadline) override;

  size_t size() const;  // number of keys (tests check that groups clean up)

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<std::byte>, std::less<>> data_;
};

// Parses a stored counter value ("-12"); throws ConfigError naming the key otherwise.
int64_t parse_counter(std::string_view key, std::span<const std::byte> value);

}  // namespace hpcless::rendezvous
