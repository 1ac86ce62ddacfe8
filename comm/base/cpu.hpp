// CPU pinning helpers.
#pragma once

#include <string_view>
#include <vector>

namespace hpcless {

// Parses "0-3,6,8-9" into {0,1,2,3,6,8,9}. Throws ConfigError on malformed input.
std::vector<int> parse_core_list(std::string_view text);

// Pins the calling thread to one core. Throws SystemError when the core is not usable.
void pin_current_thread(int core);

// Number of cores this process may run on (sched_getaffinity).
int usable_core_count();

}  // namespace hpcless
