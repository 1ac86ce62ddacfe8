// The hot/warm policy of one connection, with rFaaS's semantics in real milliseconds:
//   timeout -1: always hot (busy-poll); 0: always warm (block); N: hot, warm after N ms idle,
//   and hot again as soon as a message arrives.
#pragma once

#include <cstdint>

namespace hpcless::tcp {

class HotWarmPolicy {
 public:
  explicit HotWarmPolicy(int32_t timeout_ms = -1) { reset(timeout_ms); }
  void reset(int32_t timeout_ms) {
    timeout_ns_ = timeout_ms < 0 ? -1 : static_cast<int64_t>(timeout_ms) * 1'000'000;
    hot_ = timeout_ms != 0;
  }
  int32_t timeout_ms() const { return timeout_ns_ < 0 ? -1 : static_cast<int32_t>(timeout_ns_ / 1'000'000); }
  bool hot() const { return hot_; }
  // A message arrived at `now`.
  void on_activity(uint64_t now) {
    last_ns_ = now;
    if (timeout_ns_ != 0) hot_ = true;
  }
  // Called periodically while hot; returns true when the connection just turned warm.
  bool check_idle(uint64_t now) {
    if (!hot_ || timeout_ns_ < 0) return false;
    if (static_cast<int64_t>(now - last_ns_) >= timeout_ns_) {
      hot_ = false;
      return true;
    }
    return false;
  }
  void start(uint64_t now) { last_ns_ = now; }

 private:
  int64_t timeout_ns_ = -1;
  uint64_t last_ns_ = 0;
  bool hot_ = true;
};

}  // namespace hpcless::tcp
