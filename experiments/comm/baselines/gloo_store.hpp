// Gloo's rendezvous Store over an hpcless rendezvous store (the launcher's TcpStore), so that the
// Gloo baseline ranks meet the same way as the hpcless ranks. Every wait has a deadline.
// Thread safety: as the wrapped store (TcpStore serialises its calls).
#pragma once

#include <gloo/rendezvous/store.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/rendezvous/store.hpp"

namespace hpcless::experiments::comm_bench {

class GlooStore final : public gloo::rendezvous::Store {
 public:
  GlooStore(std::shared_ptr<rendezvous::Store> inner, std::chrono::milliseconds timeout)
      : inner_(std::move(inner)), timeout_(timeout) {}

  void set(const std::string& key, const std::vector<char>& data) override {
    inner_->set(key, std::as_bytes(std::span<const char>(data)));
  }
  // Blocks until the key exists (TimeoutError after the timeout), as Gloo's stores do.
  std::vector<char> get(const std::string& key) override {
    const std::vector<std::byte> v = inner_->get(key, Deadline::after(timeout_));
    const auto* p = reinterpret_cast<const char*>(v.data());
    return std::vector<char>(p, p + v.size());
  }
  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }
  void wait(const std::vector<std::string>& keys,
            const std::chrono::milliseconds& timeout) override {
    inner_->wait(keys, Deadline::after(timeout));
  }

 private:
  std::shared_ptr<rendezvous::Store> inner_;
  std::chrono::milliseconds timeout_;
};

}  // namespace hpcless::experiments::comm_bench
