// Placement policies and the memory split, as pure functions.
#include "manager/core/placement.hpp"

#include <gtest/gtest.h>

namespace hpcless::manager {
namespace {

NodeCapacity node(size_t index, std::vector<int> free, std::optional<uint64_t> mem = std::nullopt) {
  return NodeCapacity{index, std::move(free), mem};
}

TEST(Placement, FirstFitFillsNodesInOrder) {
  const std::vector<NodeCapacity> nodes = {node(0, {0, 1}), node(1, {0, 1, 2, 3}), node(2, {5})};
  auto p = place({3, 0, Policy::kFirstFit}, nodes);
  ASSERT_TRUE(p.ok()) << p.refusal;
  ASSERT_EQ(p.allocations.size(), 2u);
  EXPECT_EQ(p.allocations[0].index, 0u);
  EXPECT_EQ(p.allocations[0].cores, (std::vector<int>{0, 1}));
  EXPECT_EQ(p.allocations[1].index, 1u);
  EXPECT_EQ(p.allocations[1].cores, (std::vector<int>{0}));
}

TEST(Placement, SpreadTakesFromTheNodeWithMostFreeCores) {
  const std::vector<NodeCapacity> nodes = {node(0, {0, 1}), node(1, {0, 1, 2, 3}),
                                           node(2, {4, 5, 6})};
  auto p = place({4, 0, Policy::kSpread}, nodes);
  ASSERT_TRUE(p.ok()) << p.refusal;
  // 4 free -> take (3 left); 3 vs 3: node 1 first (registered earlier) -> 2; then node 2 -> 2;
  // then 2,2,2 -> node 0.
  ASSERT_EQ(p.allocations.size(), 3u);
  EXPECT_EQ(p.allocations[0].cores, (std::vector<int>{0}));
  EXPECT_EQ(p.allocations[1].cores, (std::vector<int>{0, 1}));
  EXPECT_EQ(p.allocations[2].cores, (std::vector<int>{4}));
}

TEST(Placement, RefusesWholeWithTheReason) {
  const std::vector<NodeCapacity> nodes = {node(0, {0, 1, 2})};
  auto p = place({8, 0, Policy::kFirstFit}, nodes);
  EXPECT_FALSE(p.ok());
  EXPECT_TRUE(p.allocations.empty());
  EXPECT_EQ(p.refusal, "need 8 cores, 3 free on 1 alive node");
  EXPECT_EQ(place({1, 0, Policy::kSpread}, {}).refusal, "need 1 core, 0 free on 0 alive nodes");
}

TEST(Placement, MemoryIsSplitInProportionToCoresAndAddsUp) {
  const std::vector<NodeCapacity> nodes = {node(0, {0}), node(1, {0, 1})};
  auto p = place({3, 1000, Policy::kFirstFit}, nodes);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p.allocations.size(), 2u);
  EXPECT_EQ(p.allocations[0].memory_mb + p.allocations[1].memory_mb, 1000u);
  EXPECT_EQ(p.allocations[0].memory_mb, 333u);
  EXPECT_EQ(p.allocations[1].memory_mb, 667u);
}

TEST(Placement, NodeMemoryLimitsHowManyCoresItTakes) {
  // 100 MB per core; node 0 has free memory for 1 core only.
  const std::vector<NodeCapacity> nodes = {node(0, {0, 1, 2}, 150), node(1, {0, 1, 2}, 1000)};
  auto p = place({4, 400, Policy::kFirstFit}, nodes);
  ASSERT_TRUE(p.ok()) << p.refusal;
  ASSERT_EQ(p.allocations.size(), 2u);
  EXPECT_EQ(p.allocations[0].cores.size(), 1u);
  EXPECT_EQ(p.allocations[1].cores.size(), 3u);
  EXPECT_LE(p.allocations[0].memory_mb, 150u);
  auto refused = place({6, 600, Policy::kFirstFit}, nodes);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.refusal.find("free memory backs only 4"), std::string::npos) << refused.refusal;
}

}  // namespace
}  // namespace hpcless::manager
