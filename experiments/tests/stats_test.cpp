#include "experiments/common/stats.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

namespace hpcless::experiments {
namespace {

std::vector<double> one_to(int n) {
  std::vector<double> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 1.0);
  return v;
}

TEST(Stats, NearestRankOnOneToHundred) {
  auto v = one_to(100);
  std::shuffle(v.begin(), v.end(), std::mt19937(42));  // summarize sorts a copy
  const Summary s = summarize(v);
  EXPECT_EQ(s.count, 100u);
  EXPECT_DOUBLE_EQ(s.p50, 50);
  EXPECT_DOUBLE_EQ(s.p90, 90);
  EXPECT_DOUBLE_EQ(s.p99, 99);
  EXPECT_DOUBLE_EQ(s.p999, 100);  // rank ceil(99.9) = 100
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 100);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
}

TEST(Stats, DecimalPercentileDoesNotRoundUpARank) {
  const auto v = one_to(1000);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 99.9), 999);  // exactly rank 999, not 1000
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 99), 990);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 50), 500);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 100), 1000);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.01), 1);
}

TEST(Stats, NearestRankPicksObservedValues) {
  const std::vector<double> v{15, 20, 35, 40, 50};  // the textbook example
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 30), 20);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 40), 20);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 50), 35);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 100), 50);
}

TEST(Stats, SingleAndEmpty) {
  const std::vector<double> one{7.5};
  const Summary s = summarize(one);
  EXPECT_EQ(s.count, 1u);
  EXPECT_DOUBLE_EQ(s.p50, 7.5);
  EXPECT_DOUBLE_EQ(s.p999, 7.5);
  EXPECT_DOUBLE_EQ(s.mean, 7.5);

  const Summary e = summarize(std::vector<double>{});
  EXPECT_EQ(e.count, 0u);
  EXPECT_DOUBLE_EQ(e.p50, 0);
}

TEST(Stats, InputIsNotModified) {
  const std::vector<double> v{3, 1, 2};
  const std::vector<double> copy = v;
  summarize(v);
  EXPECT_EQ(v, copy);
}

}  // namespace
}  // namespace hpcless::experiments
