// Command-line entry of the comm experiment, called by `hpcless experiment comm ...` with
// argv[0] == "comm".
#pragma once

namespace hpcless::experiments::comm_bench {

// Parses the options, runs the experiment, prints the summary table (stdout) and where the
// results went. Returns 0 on success, 1 when a run failed (results are still written), 2 for
// bad options. Errors are one line on stderr.
int comm_experiment_main(int argc, char** argv);

}  // namespace hpcless::experiments::comm_bench
