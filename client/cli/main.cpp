// hpcless: the command-line tool. Subcommands:
//   hpcless invoke --address HOST:PORT --function NAME [--input TEXT | --input-file F] ...
//   hpcless experiment invocation-overhead --address HOST:PORT --out DIR ...
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "client/cli/invoke_command.hpp"
#include "experiments/invocation_overhead/cli.hpp"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: hpcless <command> [options]\n"
               "\n"
               "commands:\n"
               "  invoke                          run one function on a worker and print its output\n"
               "  experiment invocation-overhead  hpcless vs raw TCP and gRPC latency (hot, warm)\n"
               "  version                         print the version\n"
               "\n"
               "Run 'hpcless <command> --help' for the options of a command.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string_view cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    usage(stdout);
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::printf("hpcless %s\n", HPCLESS_VERSION);
    return 0;
  }
  if (cmd == "invoke") return hpcless::cli::invoke_main(argc - 1, argv + 1);
  if (cmd == "experiment") {
    if (argc < 3 || std::strcmp(argv[2], "--help") == 0 || std::strcmp(argv[2], "-h") == 0) {
      std::fprintf(argc < 3 ? stderr : stdout,
                   "usage: hpcless experiment <name> [options]\n\nexperiments:\n"
                   "  invocation-overhead   hpcless vs raw TCP and gRPC latency (hot, warm)\n");
      return argc < 3 ? 2 : 0;
    }
    const std::string_view name = argv[2];
    if (name == "invocation-overhead")
      return hpcless::experiments::invocation_overhead_main(argc - 2, argv + 2);
    std::fprintf(stderr, "hpcless: unknown experiment '%s' (try 'hpcless experiment --help')\n",
                 argv[2]);
    return 2;
  }
  std::fprintf(stderr, "hpcless: unknown command '%s' (try 'hpcless --help')\n", argv[1]);
  return 2;
}
