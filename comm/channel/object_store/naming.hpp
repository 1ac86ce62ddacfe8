// Run ids and argument checks shared by the object-store channels.
#pragma once

#include <string>
#include <string_view>

#include "comm/base/clock.hpp"
#include "comm/rendezvous/store.hpp"

namespace hpcless::comm::objstore {

// A fresh random run id (16 hex digits).
std::string random_run_id();

// The rendezvous key under which rank 0 publishes the run id: "<kind>-run/<group>".
std::string run_key(std::string_view kind, const std::string& group);

// Checks rank, size, group (non-empty, at most 512 bytes, no control characters) and run (only
// [A-Za-z0-9._-]). Throws ConfigError.
void check_args(int rank, int size, const std::string& group, const std::string& run);

// The run id to use: `run` when set (checked), else agreed through `store` (rank 0 draws one
// and publishes it; the others wait until the deadline). Throws ConfigError when neither is
// given, TimeoutError when rank 0 does not publish in time.
std::string resolve_run(int rank, int size, const std::string& group, rendezvous::Store* store,
                        const std::string& run, std::string_view kind, Deadline deadline);

}  // namespace hpcless::comm::objstore
