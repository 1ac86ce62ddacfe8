// The cores a managed executor lends: a list, or "auto" (the affinity mask), limited to N.
#include <gtest/gtest.h>
#include <sched.h>

#include "comm/base/error.hpp"
#include "executor/daemon/node_cores.hpp"

namespace hpcless::executor {
namespace {

TEST(NodeCores, ListsAndLimits) {
  EXPECT_EQ(resolve_node_cores("0-3", 0), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(resolve_node_cores("0-3", 2), (std::vector<int>{0, 1}));
  EXPECT_EQ(resolve_node_cores("5,7", 1), std::vector<int>{5});
  EXPECT_THROW(resolve_node_cores("0-1", 3), ConfigError);
  EXPECT_THROW(resolve_node_cores("", 0), ConfigError);
  EXPECT_THROW(resolve_node_cores("a-b", 0), ConfigError);
  EXPECT_EQ(limit_cores({4, 6, 8}, 2, "x"), (std::vector<int>{4, 6}));
}

TEST(NodeCores, AutoIsTheAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  std::vector<int> mask;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) mask.push_back(c);
  EXPECT_EQ(resolve_node_cores("auto", 0), mask);
  EXPECT_EQ(resolve_node_cores("auto", 1), std::vector<int>{mask.front()});
  EXPECT_THROW(resolve_node_cores("auto", mask.size() + 1), ConfigError);
}

}  // namespace
}  // namespace hpcless::executor
