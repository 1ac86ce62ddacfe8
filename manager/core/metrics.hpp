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
  // On-demand executors (manager/ondemand): jobs submitted, leases granted on them, requests
  // that ended in a refusal after trying (sbatch failed, deadline passed, job ended early), and
  // requests waiting for their executor now (a gauge).
  std::atomic<uint64_t> on_demand_submits{0};
  std::atomic<uint64_t> on_demand_grants{0};
  std::atomic<uint64_t> on_demand_failures{0};
  std::atomic<uint64_t> on_demand_waiting{0};
  std::array<std::atomic<uint64_t>, 600> http_by_code{};  // index = status code

  void count_http(int code) noexcept {
    if (code >= 100 && code < 600) http_by_code[static_cast<size_t>(code)].fetch_add(1);
  }
};

}  // namespace hpcless::manager
