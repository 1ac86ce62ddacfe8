#include "comm/rendezvous/memory_store.hpp"

#include <charconv>
#include <chrono>

#include "comm/base/error.hpp"

namespace hpcless::rendezvous {

namespace {

// Waits on cv until pred() or the deadline; returns pred().
template <class Pred>
bool wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, Deadline deadline,
                Pred pred) {
  while (!pred()) {
    if (deadline.is_never()) {
      cv.wait(lock);
      continue;
    }
    const uint64_t now = now_ns();
    if (now >= deadline.ns()) return pred();
    cv.wait_for(lock, std::chrono::nanoseconds(deadline.ns() - now));
  }
  return true;
}

}  // namespace

int64_t parse_counter(std::string_view key, std::span<const std::byte> value) {
  const char* b = reinterpret_cast<const char*>(value.data());
  int64_t v = 0;
  auto [p, ec] = std::from_chars(b, b + value.size(), v);
  if (value.empty() || ec != std::errc() || p != b + value.size())
    throw ConfigError("rendezvous key '" + std::string(key) + "' does not hold an integer");
  return v;
}

void MemoryStore::set(std::string_view key, std::span<const std::byte> value) {
  {
    std::lock_guard lock(mu_);
    data_.insert_or_assign(std::string(key), std::vector<std::byte>(value.begin(), value.end()));
  }
  cv_.notify_all();
}

std::vector<std::byte> MemoryStore::get(std::string_view key, Deadline deadline) {
  std::unique_lock lock(mu_);
  auto it = data_.end();
  if (!wait_until(cv_, lock, deadline, [&] { return (it = data_.find(key)) != data_.end(); }))
    throw TimeoutError("timed out waiting for rendezvous key '" + std::string(key) + "'");
  return it->second;
}

void MemoryStore::wait(std::span<const std::string> keys, Deadline deadline) {
  std::unique_lock lock(mu_);
  std::string missing;
  auto all = [&] {
    for (const auto& k : keys)
      if (data_.find(k) == data_.end()) {
        missing = k;
        return false;
      }
    return true;
  };
  if (!wait_until(cv_, lock, deadline, all))
    throw TimeoutError("timed out waiting for rendezvous key '" + missing + "'");
}

int64_t MemoryStore::add(std::string_view key, int64_t delta) {
  int64_t v = 0;
  {
    std::lock_guard lock(mu_);
    auto it = data_.find(key);
    if (it != data_.end()) v = parse_counter(key, it->second);
    v += delta;
    const std::string text = std::to_string(v);
    auto bytes = std::as_bytes(std::span<const char>(text.data(), text.size()));
    data_.insert_or_assign(std::string(key), std::vector<std::byte>(bytes.begin(), bytes.end()));
  }
  cv_.notify_all();
  return v;
}

void MemoryStore::erase_prefix(std::string_view prefix) {
  std::lock_guard lock(mu_);
  for (auto it = data_.lower_bound(prefix); it != data_.end() && it->first.starts_with(prefix);)
    it = data_.erase(it);
}

size_t MemoryStore::size() const {
  std::lock_guard lock(mu_);
  return data_.size();
}

}  // namespace hpcless::rendezvous
