#pragma once

namespace hpcless::cli {
// `hpcless bench list|prepare|run ...`; argv[0] is "bench". Returns the process exit code.
int bench_main(int argc, char** argv);
}  // namespace hpcless::cli
