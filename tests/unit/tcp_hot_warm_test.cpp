// Unit tests of the hot/warm idle policy with explicit clock values (no sleeping).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "comm/transport/tcp/hot_warm.hpp"

namespace hpcless::tcp {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kT0 = 5'000'000'000'000ull;  // an arbitrary monotonic "now"

TEST(HotWarmPolicy, DefaultIsAlwaysHot) {
  HotWarmPolicy p;
  EXPECT_TRUE(p.hot());
  EXPECT_EQ(p.timeout_ms(), -1);
}

TEST(HotWarmPolicy, MinusOneNeverTurnsWarm) {
  HotWarmPolicy p(-1);
  p.start(kT0);
  EXPECT_TRUE(p.hot());
  for (uint64_t idle :
       {uint64_t{0}, 1 * kMs, 3'600'000 * kMs, std::numeric_limits<uint64_t>::max() - kT0}) {
    EXPECT_FALSE(p.check_idle(kT0 + idle));
    EXPECT_TRUE(p.hot());
  }
  p.on_activity(kT0);
  EXPECT_TRUE(p.hot());
}

TEST(HotWarmPolicy, OtherNegativeTimeoutsMeanAlwaysHot) {
  HotWarmPolicy p(-7);
  p.start(kT0);
  EXPECT_EQ(p.timeout_ms(), -1);
  EXPECT_FALSE(p.check_idle(kT0 + 1'000'000 * kMs));
  EXPECT_TRUE(p.hot());
}

TEST(HotWarmPolicy, ZeroStartsWarmAndStaysWarm) {
  HotWarmPolicy p(0);
  EXPECT_FALSE(p.hot());
  EXPECT_EQ(p.timeout_ms(), 0);
  p.start(kT0);
  EXPECT_FALSE(p.hot());
  p.on_activity(kT0 + 1);  // activity does not make an always-warm connection poll
  EXPECT_FALSE(p.hot());
  EXPECT_FALSE(p.check_idle(kT0 + 10 * kMs));  // it never "just turned" warm
  EXPECT_FALSE(p.hot());
}

TEST(HotWarmPolicy, TurnsWarmAfterExactlyTheTimeout) {
  HotWarmPolicy p(5);
  EXPECT_EQ(p.timeout_ms(), 5);
  p.start(kT0);
  EXPECT_TRUE(p.hot());
  EXPECT_FALSE(p.check_idle(kT0));
  EXPECT_FALSE(p.check_idle(kT0 + 5 * kMs - 1));
  EXPECT_TRUE(p.hot());
  EXPECT_TRUE(p.check_idle(kT0 + 5 * kMs));  // reports the transition once
  EXPECT_FALSE(p.hot());
  EXPECT_FALSE(p.check_idle(kT0 + 6 * kMs));
  EXPECT_FALSE(p.hot());
}

TEST(HotWarmPolicy, ActivityMakesItHotAgainAndRestartsTheClock) {
  HotWarmPolicy p(5);
  p.start(kT0);
  ASSERT_TRUE(p.check_idle(kT0 + 7 * kMs));
  ASSERT_FALSE(p.hot());
  const uint64_t t1 = kT0 + 20 * kMs;
  p.on_activity(t1);
  EXPECT_TRUE(p.hot());
  EXPECT_FALSE(p.check_idle(t1 + 5 * kMs - 1));
  EXPECT_TRUE(p.check_idle(t1 + 5 * kMs));
  EXPECT_FALSE(p.hot());
}

TEST(HotWarmPolicy, ActivityWhileHotPostponesWarm) {
  HotWarmPolicy p(10);
  p.start(kT0);
  for (uint64_t t = kT0 + 4 * kMs; t < kT0 + 100 * kMs; t += 4 * kMs) {
    EXPECT_FALSE(p.check_idle(t)) << "at " << (t - kT0) / kMs << " ms";
    p.on_activity(t);
  }
  EXPECT_TRUE(p.hot());
}

TEST(HotWarmPolicy, ClockValuesBeforeTheLastActivityAreNotIdle) {
  // A timestamp taken on another thread may lag the one recorded as activity.
  HotWarmPolicy p(1);
  p.start(kT0);
  EXPECT_FALSE(p.check_idle(kT0 - 10 * kMs));
  EXPECT_TRUE(p.hot());
}

TEST(HotWarmPolicy, ResetSwitchesMode) {
  HotWarmPolicy p(5);
  p.start(kT0);
  p.reset(0);
  EXPECT_FALSE(p.hot());
  EXPECT_EQ(p.timeout_ms(), 0);
  p.reset(-1);
  EXPECT_TRUE(p.hot());
  EXPECT_FALSE(p.check_idle(kT0 + 1'000 * kMs));
  p.reset(3);
  EXPECT_TRUE(p.hot());
  p.start(kT0);
  EXPECT_TRUE(p.check_idle(kT0 + 3 * kMs));
}

TEST(HotWarmPolicy, LargestTimeoutKeepsItsValue) {
  HotWarmPolicy p(std::numeric_limits<int32_t>::max());
  EXPECT_EQ(p.timeout_ms(), std::numeric_limits<int32_t>::max());
  p.start(kT0);
  const uint64_t timeout_ns = static_cast<uint64_t>(std::numeric_limits<int32_t>::max()) * kMs;
  EXPECT_FALSE(p.check_idle(kT0 + timeout_ns - 1));
  EXPECT_TRUE(p.check_idle(kT0 + timeout_ns));
}

}  // namespace
}  // namespace hpcless::tcp
