// `hpcless comm-bench`: OSU-style micro-benchmarks of hpcless channels, Open MPI and Gloo on this
// machine (docs/comm-bench.md). Also the rank mode the launcher re-executes itself in
// (`hpcless comm-bench --rank R --store HOST:PORT --group G ...`).
#pragma once

namespace hpcless::cli {

// argv[0] == "comm-bench". Returns 0 on success, 1 when the run fails (a rank died, a deadline
// passed, ...), 2 for bad options; a rank process returns its rank exit code (0, 1 or 3).
int comm_bench_main(int argc, char** argv);

}  // namespace hpcless::cli
