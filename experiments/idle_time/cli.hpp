// Command-line entry of the idle-time experiment: `hpcless experiment idle-time ...` with
// argv[0] == "idle-time".
#pragma once

namespace hpcless::experiments {

// Returns 0 on success (failed invocations are recorded and reported), 1 when the run fails,
// 2 for bad options.
int idle_time_main(int argc, char** argv);

}  // namespace hpcless::experiments
