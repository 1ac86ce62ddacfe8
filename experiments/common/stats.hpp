// Latency statistics for experiment summaries.
//
// Percentiles use the nearest-rank method on a sorted copy: the p-th percentile of n samples is
// the sample at rank ceil(p/100 * n) (1-based). It always returns an observed value, which is what
// tail-latency tables conventionally report, and needs no interpolation choices.
#pragma once

#include <cstddef>
#include <span>

namespace hpcless::experiments {

struct Summary {
  size_t count = 0;
  // All zero when count == 0 (callers check count before reporting).
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0;
  double mean = 0, min = 0, max = 0;
};

// Nearest-rank percentile of already sorted (ascending) samples; p in (0, 100].
// Returns 0 for an empty span.
double percentile_sorted(std::span<const double> sorted, double p);

// Sorts a copy of `samples` and computes every statistic of Summary.
Summary summarize(std::span<const double> samples);

}  // namespace hpcless::experiments
