// `hpcless node list`: the nodes the manager knows, optionally waiting until enough are alive
// (batch scripts wait with it for their executors to register).
#pragma once

namespace hpcless::cli {

// argv[0] is "node". Exit code: 0 success, 1 the manager failed or the wait timed out, 2 bad
// options.
int node_main(int argc, char** argv);

}  // namespace hpcless::cli
