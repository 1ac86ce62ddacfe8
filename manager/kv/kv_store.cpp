#include "manager/kv/kv_store.hpp"

#include "manager/core/api_error.hpp"

namespace hpcless::manager {

KvStore::KvStore(size_t max_bytes, size_t max_waiters)
    : max_bytes_(max_bytes), max_waiters_(max_waiters) {}

void KvStore::put(const std::string& key, std::string value) {
  {
    std::lock_guard lk(mu_);
    auto it = data_.find(key);
    const size_t old = it == data_.end() ? 0 : key.size() + it->second.size();
    const size_t next = bytes_ - old + key.size() + value.size();
    if (next > max_bytes_)
      throw ApiError(507, "rendezvous store full: " + std::to_string(bytes_) + " of " +
                              std::to_string(max_bytes_) +
                              " bytes used; delete the keys of finished runs "
                              "(DELETE /v1/kv/<prefix>?prefix=1)");
    if (it == data_.end())
      data_.emplace(key, std::move(value));
    else
      it->second = std::move(value);
    bytes_ = next;
  }
  changed_.notify_all();
}

std::optional<std::string> KvStore::get(const std::string& key, std::chrono::milliseconds wait) {
  std::unique_lock lk(mu_);
  auto it = data_.find(key);
  if (it != data_.end()) return it->second;
  if (wait.count() <= 0 || shutdown_) return std::nullopt;
  if (waiters_ >= max_waiters_)
    throw ApiError(503, "too many readers waiting (" + std::to_string(max_waiters_) +
                            "); retry shortly or read without wait_ms");
  ++waiters_;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::optional<std::string> out;
  changed_.wait_until(lk, deadline, [&] {
    if (shutdown_) return true;
    auto f = data_.find(key);
    if (f == data_.end()) return false;
    out = f->second;
    return true;
  });
  --waiters_;
  return out;
}

size_t KvStore::erase(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = data_.find(key);
  if (it == data_.end()) return 0;
  bytes_ -= key.size() + it->second.size();
  data_.erase(it);
  return 1;
}

size_t KvStore::erase_prefix(const std::string& prefix) {
  std::lock_guard lk(mu_);
  size_t n = 0;
  auto it = data_.lower_bound(prefix);
  while (it != data_.end() && it->first.compare(0, prefix.size(), prefix) == 0) {
    bytes_ -= it->first.size() + it->second.size();
    it = data_.erase(it);
    ++n;
  }
  return n;
}

void KvStore::shutdown() {
  {
    std::lock_guard lk(mu_);
    shutdown_ = true;
  }
  changed_.notify_all();
}

KvStats KvStore::stats() const {
  std::lock_guard lk(mu_);
  return {data_.size(), bytes_, waiters_};
}

}  // namespace hpcless::manager
