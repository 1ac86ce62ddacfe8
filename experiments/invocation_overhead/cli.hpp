// Command-line entry of the invocation-overhead experiment, called by
// `hpcless experiment invocation-overhead ...` with argv[0] == "invocation-overhead".
#pragma once

namespace hpcless::experiments {

// Parses the options, runs the experiment, prints the comparison table (stdout) and where the
// results went. Returns 0 on success (failed invocations are recorded and reported, not fatal),
// 1 when the run fails (executor unreachable, ...), 2 for bad options. Errors are one line on
// stderr.
int invocation_overhead_main(int argc, char** argv);

}  // namespace hpcless::experiments
