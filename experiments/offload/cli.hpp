// Command-line entry of the offload experiment: `hpcless experiment offload ...` with
// argv[0] == "offload".
#pragma once

namespace hpcless::experiments::offload {

// Returns 0 when every run succeeded, 1 when some failed (the results are written regardless)
// or the experiment could not run, 2 for bad options.
int offload_experiment_main(int argc, char** argv);

}  // namespace hpcless::experiments::offload
