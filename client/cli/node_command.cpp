#include "client/cli/node_command.hpp"

#include <cinttypes>
#include <cstdio>
#include <cxxopts.hpp>
#include <string>
#include <thread>

#include "client/cli/lease_command.hpp"
#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"

namespace hpcless::cli {

namespace {

constexpr const char* kNodeUsage =
    "usage: hpcless node list [--json] [--wait-alive N [--timeout-s T]]\n"
    "\n"
    "Lists the nodes registered with the manager (--manager URL or $HPCLESS_MANAGER).\n"
    "--wait-alive N first waits until at least N nodes are alive (default deadline 60 s).\n";

int list(int argc, char** argv) {
  cxxopts::Options opts("hpcless node list", "");
  add_manager_options(opts);
  opts.add_options()("json", "print the manager's answer as JSON")(
      "wait-alive", "wait until at least N nodes are alive", cxxopts::value<int>())(
      "timeout-s", "deadline of --wait-alive", cxxopts::value<double>()->default_value("60"))(
      "h,help", "show this help");
  const auto args = opts.parse(argc, argv);
  if (args.count("help")) {
    std::printf("%s\n", opts.help().c_str());
    return 0;
  }
  if (!args.unmatched().empty())
    throw ConfigError("unexpected argument '" + args.unmatched().front() + "'");
  const client::LeaseClient manager(manager_options(args));
  std::vector<client::NodeInfo> nodes;
  if (args.count("wait-alive")) {
    const int want = args["wait-alive"].as<int>();
    const double secs = args["timeout-s"].as<double>();
    if (want < 1 || !(secs > 0) || secs > 86400)
      throw ConfigError("--wait-alive N needs N >= 1 and --timeout-s in (0, 86400]");
    const auto deadline = Deadline::after(std::chrono::milliseconds(static_cast<int64_t>(secs * 1000)));
    std::string last_error;
    int alive = 0;
    while (true) {
      try {
        nodes = manager.nodes();
        alive = 0;
        for (const auto& n : nodes) alive += n.state == "alive" ? 1 : 0;
        if (alive >= want) break;
      } catch (const IoError& e) {
        last_error = e.what();  // the manager may not listen yet
      }
      if (deadline.expired())
        throw TimeoutError(std::to_string(alive) + " of " + std::to_string(want) +
                           " nodes alive after " + std::to_string(static_cast<int64_t>(secs)) + " s" +
                           (last_error.empty() ? "" : " (" + last_error + ")") +
                           "; check the executors' logs");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  } else {
    nodes = manager.nodes();
  }
  if (args.count("json")) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& n : nodes)
      arr.push_back({{"name", n.name},
                     {"address", n.address},
                     {"cores", n.cores},
                     {"free_cores", n.free_cores},
                     {"memory_mb", n.memory_mb},
                     {"state", n.state},
                     {"last_heartbeat_ms", n.last_heartbeat_ms}});
    std::printf("%s\n", nlohmann::json{{"nodes", arr}}.dump(2).c_str());
    return 0;
  }
  std::printf("%-20s %-24s %-6s %5s %5s\n", "node", "address", "state", "cores", "free");
  for (const auto& n : nodes)
    std::printf("%-20s %-24s %-6s %5zu %5d\n", n.name.c_str(), n.address.c_str(), n.state.c_str(),
                n.cores.size(), n.free_cores);
  return 0;
}

}  // namespace

int node_main(int argc, char** argv) {
  try {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
      std::fputs(kNodeUsage, argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
    if (std::string(argv[1]) != "list") {
      std::fprintf(stderr, "hpcless node: unknown command '%s'\n%s", argv[1], kNodeUsage);
      return 2;
    }
    return list(argc - 1, argv + 1);
  } catch (const cxxopts::exceptions::exception& e) {
    std::fprintf(stderr, "hpcless node: %s (see --help)\n", e.what());
    return 2;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "hpcless node: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpcless node: %s\n", e.what());
    return 1;
  }
}

}  // namespace hpcless::cli
