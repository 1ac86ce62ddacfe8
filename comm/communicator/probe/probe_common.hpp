// Shared by hpcless-comm-probe and its Open MPI twin, so that both measure the same way:
// the same sizes and iteration counts, a barrier before every timed call, per-iteration time =
// the slowest rank's time for that call, reported as the median (and p10/p90) over iterations.
// Header-only and standard C++ only (the MPI twin links nothing else from hpcless).
#pragma once

#include <time.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace hpcless::probe {

inline uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct Plan {
  std::string op;  // "allreduce" (float sum) or "bcast" (bytes from rank 0)
  size_t bytes = 0;
  int warmup = 0;
  int iters = 0;
};

// Fewer iterations for larger messages; `scale` multiplies them (e.g. 0.1 for a smoke run).
inline std::vector<Plan> make_plan(const std::vector<std::string>& ops,
                                   const std::vector<size_t>& sizes, double scale) {
  std::vector<Plan> plan;
  for (const auto& op : ops) {
    for (size_t b : sizes) {
      const int base = b <= 8192 ? 2000 : b <= 262144 ? 500 : 60;
      const int iters = std::max(10, static_cast<int>(base * scale));
      plan.push_back({op, b, std::max(5, iters / 10), iters});
    }
  }
  return plan;
}

// per_rank[r][i]: rank r's time of iteration i in microseconds.
inline std::vector<double> per_iteration_max(const std::vector<double>& all, int ranks, int iters) {
  std::vector<double> m(static_cast<size_t>(iters), 0.0);
  for (int r = 0; r < ranks; ++r)
    for (int i = 0; i < iters; ++i) m[i] = std::max(m[i], all[static_cast<size_t>(r) * iters + i]);
  return m;
}

inline double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t k =
      std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
  return v[k];
}

// "RESULT <op> <bytes> <median_us> <p10_us> <p90_us> <iters>"
inline void print_result(const Plan& p, const std::vector<double>& per_iter_max_us) {
  std::printf("RESULT %s %zu %.3f %.3f %.3f %d\n", p.op.c_str(), p.bytes,
              percentile(per_iter_max_us, 0.5), percentile(per_iter_max_us, 0.1),
              percentile(per_iter_max_us, 0.9), p.iters);
  std::fflush(stdout);
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = s.find(sep, start);
    const std::string part =
        s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!part.empty()) out.push_back(part);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace hpcless::probe
