// Event counters of one manager process (Prometheus counters: they restart at 0 with the process).
// Thread-safe (atomics).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace hpcless::manager {

struct Metrics {
  std::atomic<uint64_t> grants{0};
  std::atomic<uint64_t> refusals{0};
  std::atomic<uint64_t> expiries{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> releases{0};
  std::array<std::atomic<uint64_t>, 600> http_by_code{};  // index = status code

  void count_http(int code) noexcept {
    if (code >= 100 && code < 600) http_by_code[static_cast<size_t>(code)].fetch_add(1);
  }
};

}  // namespace hpcless::manager
