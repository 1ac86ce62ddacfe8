// Rendezvous store: the small key/value interface that ranks of a group use to find each other.
//
// Semantics (every implementation):
//   set(key, value)        stores or overwrites a value.
//   get(key, deadline)     blocks until the key exists, returns its value; TimeoutError after the
//                          deadline.
//   add(key, delta)        atomically adds to a decimal integer value (absent = 0), returns the new
//                          value (like Redis INCRBY); ConfigError when the value is not an integer.
//   erase_prefix(prefix)   removes every key starting with prefix.
//   wait(keys, deadline)   blocks until every key exists.
// Implementations: MemoryStore (threads of one process), TcpStore + StoreServer (processes),
// PrefixStore (namespacing). Redis and manager-HTTP stores implement the same four calls.
//
// Thread safety: every implementation is safe to use from several threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "comm/base/clock.hpp"

namespace hpcless::rendezvous {

class Store {
 public:
  virtual ~Store() = default;

  virtual void set(std::string_view key, std::span<const std::byte> value) = 0;
  virtual std::vector<std::byte> get(std::string_view key, Deadline deadline) = 0;
  virtual int64_t add(std::string_view key, int64_t delta) = 0;
  virtual void erase_prefix(std::string_view prefix) = 0;

  // Default: get() each key in turn (one deadline for all).
  virtual void wait(std::span<const std::string> keys, Deadline deadline);

  // Text conveniences over set/get.
  void set_string(std::string_view key, std::string_view value);
  std::string get_string(std::string_view key, Deadline deadline);
};

// A view of `inner` in which every key is prefixed with `prefix` (e.g. "comm/<group>/").
// Shares ownership of inner.
class PrefixStore final : public Store {
 public:
  PrefixStore(std::shared_ptr<Store> inner, std::string prefix);

  void set(std::string_view key, std::span<const std::byte> value) override;
  std::vector<std::byte> get(std::string_view key, Deadline deadline) override;
  int64_t add(std::string_view key, int64_t delta) override;
  void erase_prefix(std::string_view prefix) override;
  void wait(std::span<const std::string> keys, Deadline deadline) override;

  const std::string& prefix() const noexcept { return prefix_; }

 private:
  std::string full(std::string_view key) const;

  std::shared_ptr<Store> inner_;
  std::string prefix_;
};

}  // namespace hpcless::rendezvous
