// hpcless-executor: the node daemon. For now only --standalone (no manager): it serves one
// function package to whoever connects.
#include <unistd.h>

#include <cstdio>
#include <cxxopts.hpp>

#include "comm/base/error.hpp"
#include "comm/base/log.hpp"
#include "executor/daemon/standalone_config.hpp"
#include "executor/daemon/standalone_executor.hpp"

using namespace hpcless;

int main(int argc, char** argv) {
  log::set_program("hpcless-executor");
  cxxopts::Options opts("hpcless-executor", "hpcless node daemon: runs functions for clients");
  opts.add_options()("standalone", "serve without a manager (required for now)")(
      "config", "JSON file with the settings below (flags given override it)",
      cxxopts::value<std::string>())(
      "listen", "HOST:PORT to accept clients on (port 0: any free port)",
      cxxopts::value<std::string>()->default_value("127.0.0.1:7000"))(
      "package", "function package (shared library) to serve", cxxopts::value<std::string>())(
      "workers", "worker threads", cxxopts::value<uint32_t>()->default_value("1"))(
      "cores", "cores to pin workers to, one per worker, e.g. 1 or 0-3 (default: no pinning)",
      cxxopts::value<std::string>()->default_value(""))(
      "max-payload", "largest request or result in bytes",
      cxxopts::value<uint32_t>()->default_value("67108864"))(
      "max-inflight", "requests a client may have outstanding per connection",
      cxxopts::value<uint32_t>()->default_value("256"))(
      "node-name", "name reported to clients", cxxopts::value<std::string>()->default_value(""))(
      "ready-file", "write the bound HOST:PORT here once serving",
      cxxopts::value<std::string>()->default_value(""))(
      "worker-binary", "path of hpcless-worker (default: next to this program)",
      cxxopts::value<std::string>()->default_value(""))("h,help", "show this help");
  try {
    auto args = opts.parse(argc, argv);
    if (args.count("help")) {
      std::printf("%s\n", opts.help().c_str());
      return 0;
    }
    if (!args.count("standalone"))
      throw ConfigError("only --standalone mode exists in this version (no manager yet)");
    executor::StandaloneConfig c;
    if (args.count("config")) c = executor::load_standalone_config(args["config"].as<std::string>());
    // A flag given on the command line wins over the file; defaults apply only without a file.
    auto given = [&](const char* name) { return args.count(name) > 0 || !args.count("config"); };
    if (given("listen")) c.listen = tcp::parse_endpoint(args["listen"].as<std::string>());
    if (args.count("package")) c.package_path = args["package"].as<std::string>();
    if (c.package_path.empty()) throw ConfigError("--package PATH is required");
    if (given("workers")) c.workers = args["workers"].as<uint32_t>();
    if (given("cores")) c.cores = args["cores"].as<std::string>();
    if (given("max-payload")) c.max_payload = args["max-payload"].as<uint32_t>();
    if (given("max-inflight")) c.max_inflight = args["max-inflight"].as<uint32_t>();
    if (args.count("node-name")) c.node_name = args["node-name"].as<std::string>();
    if (c.node_name.empty()) {
      char host[256] = {};
      gethostname(host, sizeof(host) - 1);
      c.node_name = host;
    }
    if (given("ready-file")) c.ready_file = args["ready-file"].as<std::string>();
    if (given("worker-binary")) c.worker_binary = args["worker-binary"].as<std::string>();
    executor::StandaloneExecutor exec(std::move(c));
    return exec.run();
  } catch (const cxxopts::exceptions::exception& e) {
    std::fprintf(stderr, "hpcless-executor: %s (see --help)\n", e.what());
    return 2;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "hpcless-executor: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpcless-executor: %s\n", e.what());
    return 1;
  }
}
