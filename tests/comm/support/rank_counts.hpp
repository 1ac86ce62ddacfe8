// Group sizes of the multi-rank batteries (CollectivesOnThreads, CollectivesOnProcesses): every
// size from 1 to 8, or, in sanitizer builds (HPCLESS_SANITIZER_BUILD, several times slower),
// 1, 2, 3, 5 and 8: one rank, a pair, non-powers of two folding into 2 and into 4 ranks, and three
// doubling rounds. Measured with gcov, these sizes reach every line and branch of comm/ that 1-8
// reach; the Release stage still runs them all.
#pragma once

#include <gtest/gtest.h>

namespace hpcless::comm::testing {

inline ::testing::internal::ParamGenerator<int> rank_counts() {
#ifdef HPCLESS_SANITIZER_BUILD
  return ::testing::Values(1, 2, 3, 5, 8);
#else
  return ::testing::Range(1, 9);
#endif
}

}  // namespace hpcless::comm::testing
