// The lease a worker process serves: which lease, until when, and why it ended.
//
// The daemon moves the end (renewal, release, failure) through control messages; worker threads
// read it once per invocation with a relaxed atomic load against the arrival time they already
// took, so checking the lease costs nothing measurable on the hot path.
// Thread safety: end()/set_end() may race freely (atomics); the id and node are immutable.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <string>

#include "comm/protocol/frame.hpp"

namespace hpcless::executor {

class LeaseGate {
 public:
  LeaseGate(std::string lease_id, std::string node) : id_(std::move(lease_id)), node_(std::move(node)) {}

  const std::string& id() const noexcept { return id_; }
  const std::string& node() const noexcept { return node_; }

  // Invocations arriving at or after `end_mono_ns` (CLOCK_MONOTONIC) get `status`
  // (kTokenExpired at expiry, kLeaseEnded after a release or failure).
  void set_end(uint64_t end_mono_ns, protocol::Status status) noexcept {
    status_.store(static_cast<uint32_t>(status), std::memory_order_relaxed);
    end_ns_.store(end_mono_ns, std::memory_order_release);
  }
  bool open_at(uint64_t mono_ns) const noexcept {
    return mono_ns < end_ns_.load(std::memory_order_relaxed);
  }
  protocol::Status end_status() const noexcept {
    return static_cast<protocol::Status>(status_.load(std::memory_order_relaxed));
  }

 private:
  const std::string id_;
  const std::string node_;
  std::atomic<uint64_t> end_ns_{std::numeric_limits<uint64_t>::max()};
  std::atomic<uint32_t> status_{static_cast<uint32_t>(protocol::Status::kTokenExpired)};
};

}  // namespace hpcless::executor
