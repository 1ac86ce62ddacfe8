// Monotonic time and deadlines. Every blocking wait in hpcless takes a Deadline.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>
#include <limits>

namespace hpcless {

// Nanoseconds on CLOCK_MONOTONIC (vDSO, no syscall). Comparable across processes on one host.
inline uint64_t now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

class Deadline {
 public:
  static Deadline never() noexcept { return Deadline(std::numeric_limits<uint64_t>::max()); }
  static Deadline at_ns(uint64_t t) noexcept { return Deadline(t); }
  template <class Rep, class Period>
  static Deadline after(std::chrono::duration<Rep, Period> d) noexcept {
    return Deadline(now_ns() + static_cast<uint64_t>(
                                   std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()));
  }

  uint64_t ns() const noexcept { return t_; }
  bool is_never() const noexcept { return t_ == std::numeric_limits<uint64_t>::max(); }
  bool expired() const noexcept { return !is_never() && now_ns() >= t_; }
  bool expired(uint64_t now) const noexcept { return !is_never() && now >= t_; }

  // Milliseconds left, rounded up, for poll()/epoll_wait(); -1 when the deadline is never.
  int remaining_ms() const noexcept {
    if (is_never()) return -1;
    const uint64_t now = now_ns();
    if (now >= t_) return 0;
    const uint64_t ms = (t_ - now + 999'999) / 1'000'000;
    return ms > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(ms);
  }

 private:
  explicit Deadline(uint64_t t) noexcept : t_(t) {}
  uint64_t t_;
};

}  // namespace hpcless
