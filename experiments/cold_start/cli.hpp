// Command-line entry of the cold-start experiment: `hpcless experiment cold-start ...` with
// argv[0] == "cold-start".
#pragma once

namespace hpcless::experiments {

// Returns 0 on success (failed repetitions are recorded and reported), 1 when the run fails,
// 2 for bad options.
int cold_start_main(int argc, char** argv);

}  // namespace hpcless::experiments
