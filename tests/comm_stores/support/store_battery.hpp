// Every collective of a Communicator checked against locally computed results, for the
// object-store channels: sizes 0, 1, 13 (not divisible by the rank counts), larger ones, several
// roots, built-in ops on int32/int64/float/double, a non-commutative user op (2x2 matrix product
// mod a prime) whose results must come out in rank order, v-variants with empty blocks.
#pragma once

#include <cstddef>
#include <vector>

#include "comm/communicator/communicator.hpp"

namespace hpcless::comm::stores_test {

struct BatteryOptions {
  std::vector<size_t> sizes = {0, 1, 13, 1000};
  // false (S3: every request costs milliseconds): fewer roots, types and repetitions; every
  // collective still runs with every size and a non-commutative op.
  bool thorough = true;
  size_t large = 0;              // int32 elements of the large cases (0 = skip)
  bool reductions_only = false;  // reduce, allreduce, reduce_scatter, scan only
};

// Throws std::runtime_error naming the case and the first wrong element (after aborting the
// communicator so that the other ranks stop too).
void run_battery(Communicator& c, const BatteryOptions& options);

}  // namespace hpcless::comm::stores_test
