// Checks of every collective against locally computed results: all algorithms (forced through
// the tuning), sizes 0, 1, 13, 1000 and a large size, several roots, every built-in op on int32,
// int64, float and double, and a non-commutative user op (2x2 matrix product mod a prime) whose
// results must come out in rank order. Used by the thread tests and the process helper.
#pragma once

#include <cstddef>

#include "comm/communicator/communicator.hpp"

namespace hpcless::comm::testing {

struct BatteryOptions {
  size_t large_elems = 300'001;  // int32 elements of the large cases (0 = skip them)
};

// Throws std::runtime_error naming the case and the first wrong element.
void run_collective_battery(Communicator& c, const BatteryOptions& options = {});

}  // namespace hpcless::comm::testing
