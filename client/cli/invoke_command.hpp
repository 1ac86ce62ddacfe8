#pragma once

namespace hpcless::cli {
// `hpcless invoke ...`; argv[0] is "invoke". Returns the process exit code.
int invoke_main(int argc, char** argv);
}  // namespace hpcless::cli
