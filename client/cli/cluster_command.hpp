// `hpcless cluster up|down|status`: a manager and N executors on this machine, optionally each
// executor in its own network namespace (see cluster_netns.hpp), for tests and experiments.
#pragma once

namespace hpcless::cli {

// `hpcless cluster ...`; argv[0] is "cluster". Returns the process exit code: 0 success, 1 a
// failure (details on stderr), 2 bad options.
int cluster_main(int argc, char** argv);

}  // namespace hpcless::cli
