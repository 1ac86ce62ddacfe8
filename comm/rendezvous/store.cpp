#include "comm/rendezvous/store.hpp"

#include <utility>

namespace hpcless::rendezvous {

void Store::wait(std::span<const std::string> keys, Deadline deadline) {
  for (const auto& k : keys) (void)get(k, deadline);
}

void Store::set_string(std::string_view key, std::string_view value) {
  set(key, std::as_bytes(std::span<const char>(value.data(), value.size())));
}

std::string Store::get_string(std::string_view key, Deadline deadline) {
  const auto v = get(key, deadline);
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

PrefixStore::PrefixStore(std::shared_ptr<Store> inner, std::string prefix)
    : inner_(std::move(inner)), prefix_(std::move(prefix)) {}

std::string PrefixStore::full(std::string_view key) const {
  std::string k = prefix_;
  k += key;
  return k;
}

void PrefixStore::set(std::string_view key, std::span<const std::byte> value) {
  inner_->set(full(key), value);
}

std::vector<std::byte> PrefixStore::get(std::string_view key, Deadline deadline) {
  return inner_->get(full(key), deadline);
}

int64_t PrefixStore::add(std::string_view key, int64_t delta) {
  return inner_->add(full(key), delta);
}

void PrefixStore::erase_prefix(std::string_view prefix) { inner_->erase_prefix(full(prefix)); }

void PrefixStore::wait(std::span<const std::string> keys, Deadline deadline) {
  std::vector<std::string> full_keys;
  full_keys.reserve(keys.size());
  for (const auto& k : keys) full_keys.push_back(full(k));
  inner_->wait(full_keys, deadline);
}

}  // namespace hpcless::rendezvous
