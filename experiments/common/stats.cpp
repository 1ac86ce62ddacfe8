#include "experiments/common/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "comm/base/error.hpp"

namespace hpcless::experiments {

double percentile_sorted(std::span<const double> sorted, double p) {
  HPCLESS_CHECK(p > 0 && p <= 100, "percentile must be in (0, 100]");
  if (sorted.empty()) return 0;
  const double n = static_cast<double>(sorted.size());
  // The small tolerance keeps decimal percentiles such as 99.9 from rounding up a whole rank
  // when p * n / 100 is an integer that binary floating point cannot hit exactly.
  const double exact = p / 100.0 * n;
  auto rank = static_cast<size_t>(std::ceil(exact - 1e-9 * std::max(1.0, exact)));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

Summary summarize(std::span<const double> samples) {
  Summary s;
  s.count = samples.size();
  if (samples.empty()) return s;
  std::vector<double> sorted(samples.begin(), samples.end());
  std::sort(sorted.begin(), sorted.end());
  s.p50 = percentile_sorted(sorted, 50);
  s.p90 = percentile_sorted(sorted, 90);
  s.p99 = percentile_sorted(sorted, 99);
  s.p999 = percentile_sorted(sorted, 99.9);
  s.min = sorted.front();
  s.max = sorted.back();
  s.mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(sorted.size());
  return s;
}

}  // namespace hpcless::experiments
