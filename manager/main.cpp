// hpcless-manager: the resource manager daemon (REST API, leases, SQLite ledger, metrics).
//   hpcless-manager --config config/manager.json [--listen H:P] [--db PATH] [--ready-file F]
// SIGTERM or SIGINT stop it cleanly (exit code 0).
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cxxopts.hpp>
#include <fstream>

#include "comm/base/error.hpp"
#include "comm/base/log.hpp"
#include "manager/config/manager_config.hpp"
#include "manager/manager.hpp"

using namespace hpcless;

namespace {

// Written to a temporary name and renamed, so a script polling for the file never reads half.
void write_ready_file(const std::string& path, const std::string& address) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << address << "\n";
    if (!out.flush()) throw ConfigError("--ready-file: cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw ConfigError("--ready-file: cannot rename to '" + path + "': " + std::strerror(errno));
}

}  // namespace

int main(int argc, char** argv) {
  log::set_program("hpcless-manager");
  // glibc gives each new thread its own malloc arena, and a burst of HTTP connections (one thread
  // each) would leave ~1 MB per arena behind after the pool shrinks. A few arenas suffice: the
  // threads spend their time in I/O, not in malloc.
  mallopt(M_ARENA_MAX, 2);
  cxxopts::Options opts("hpcless-manager",
                        "hpcless resource manager: nodes, leases, tokens, ledger, rendezvous");
  opts.add_options()("config", "JSON config file (see config/manager.json)",
                     cxxopts::value<std::string>())(
      "listen", "HOST:PORT to serve on, overrides the config (port 0: any free port)",
      cxxopts::value<std::string>())("db", "SQLite state file, overrides the config",
                                     cxxopts::value<std::string>())(
      "ready-file", "write the bound HOST:PORT here once serving", cxxopts::value<std::string>())(
      "verbose", "log debug messages")("h,help", "show this help");
  try {
    auto args = opts.parse(argc, argv);
    if (args.count("help")) {
      std::printf("%s\n", opts.help().c_str());
      return 0;
    }
    if (args.count("verbose")) log::set_level(log::Level::kDebug);
    manager::ManagerConfig c;
    if (args.count("config")) c = manager::load_manager_config(args["config"].as<std::string>());
    if (args.count("listen")) c.listen = args["listen"].as<std::string>();
    if (args.count("db")) c.db = args["db"].as<std::string>();

    // Signals are taken synchronously by this thread; every thread started later inherits the
    // blocked mask, so none of them is interrupted.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the daemon

    manager::Manager m;
    const uint16_t port = m.start(c);
    const std::string host = manager::parse_host_port(m.config().listen, "listen").host;
    const std::string address = host + ":" + std::to_string(port);
    if (args.count("ready-file")) write_ready_file(args["ready-file"].as<std::string>(), address);

    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    log::info(std::string("stopping on ") + strsignal(sig));
    m.stop();
    return 0;
  } catch (const cxxopts::exceptions::exception& e) {
    std::fprintf(stderr, "hpcless-manager: %s (see --help)\n", e.what());
    return 2;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "hpcless-manager: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpcless-manager: %s\n", e.what());
    return 1;
  }
}
