// hpcless-executor: the node daemon. Two modes:
//   --manager URL   register with hpcless-manager and run one worker process per lease;
//   --standalone    no manager: serve one function package to whoever connects (tests, demos).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cxxopts.hpp>

#include "comm/base/error.hpp"
#include "comm/base/log.hpp"
#include "comm/base/cpu.hpp"
#include "executor/daemon/managed_executor.hpp"
#include "executor/daemon/node_cores.hpp"
#include "executor/daemon/standalone_config.hpp"
#include "executor/daemon/standalone_executor.hpp"
#ifdef HPCLESS_HAVE_RDMA
#include "comm/transport/rdma/rdma_link.hpp"
#endif

using namespace hpcless;

int main(int argc, char** argv) {
  log::set_program("hpcless-executor");
  cxxopts::Options opts("hpcless-executor", "hpcless node daemon: runs functions for clients");
  opts.add_options()("standalone", "serve without a manager")(
      "manager", "register with the manager at http://HOST:PORT and serve its leases",
      cxxopts::value<std::string>())(
      "name", "node name (managed mode; default: the host name)",
      cxxopts::value<std::string>()->default_value(""))(
      "advertise", "HOST:PORT registered for clients (managed; default: the bound listen address)",
      cxxopts::value<std::string>()->default_value(""))(
      "memory-mb", "memory this node lends (managed mode)",
      cxxopts::value<uint64_t>()->default_value("0"))(
      "grace-ms", "a lease's worker stops this long after the lease ends (managed mode)",
      cxxopts::value<int64_t>()->default_value("2000"))(
      "walltime-end-ms", "end of this node's batch job, Unix ms (managed mode; 0: none)",
      cxxopts::value<int64_t>()->default_value("0"))(
      "slurm-job",
      "Slurm job this node runs in (auto: $SLURM_JOB_ID): its end, less --drain-s, is the "
      "node's walltime, followed with squeue; at SIGTERM leases fail with the job's fate",
      cxxopts::value<std::string>()->default_value(""))(
      "drain-s", "with --slurm-job: stop granting and drain this long before the job ends",
      cxxopts::value<int64_t>()->default_value("30"))(
      "slurm-poll-ms", "with --slurm-job: how often to ask squeue for the job's end",
      cxxopts::value<int64_t>()->default_value("10000"))(
      "log-dir", "write each lease worker's stderr to LOG_DIR/worker-<lease>.log (managed mode)",
      cxxopts::value<std::string>()->default_value(""))(
      "storage-config", "JSON file with a \"storage\" section for functions (S3, Redis)",
      cxxopts::value<std::string>()->default_value(""))(
      "config", "JSON file with the settings below (flags given override it)",
      cxxopts::value<std::string>())(
      "listen", "HOST:PORT to accept clients on (port 0: any free port)",
      cxxopts::value<std::string>()->default_value("127.0.0.1:7000"))(
      "package", "function package (shared library) to serve", cxxopts::value<std::string>())(
      "workers", "worker threads", cxxopts::value<uint32_t>()->default_value("1"))(
      "cores", "cores to pin workers to, one per worker, e.g. 1 or 0-3 (default: no pinning); "
      "managed mode: the cores this node lends, or auto (this process's affinity mask)",
      cxxopts::value<std::string>()->default_value(""))(
      "cores-limit", "managed mode: lend only the first N of those cores (0: all)",
      cxxopts::value<size_t>()->default_value("0"))(
      "exit-when-idle-s", "managed mode: after S seconds without a lease, deregister and exit "
      "(on-demand executors give their allocation back; 0: never)",
      cxxopts::value<double>()->default_value("0"))(
      "max-payload", "largest request or result in bytes",
      cxxopts::value<uint32_t>()->default_value("67108864"))(
      "max-inflight", "requests a client may have outstanding per connection",
      cxxopts::value<uint32_t>()->default_value("256"))(
      "node-name", "name reported to clients", cxxopts::value<std::string>()->default_value(""))(
      "ready-file", "write the bound HOST:PORT here once serving",
      cxxopts::value<std::string>()->default_value(""))(
      "worker-binary", "path of hpcless-worker (default: next to this program)",
      cxxopts::value<std::string>()->default_value(""))(
      "rdma-address", "numeric address of an interface with an RDMA device: workers also serve "
      "clients over RDMA there, and the node offers transport rdma (default: TCP only)",
      cxxopts::value<std::string>()->default_value(""))("h,help", "show this help");
  try {
    auto args = opts.parse(argc, argv);
    if (args.count("help")) {
      std::printf("%s\n", opts.help().c_str());
      return 0;
    }
    if (args.count("standalone") == args.count("manager"))
      throw ConfigError("choose one mode: --manager http://HOST:PORT or --standalone");
    if (!args["storage-config"].as<std::string>().empty() &&
        setenv("HPCLESS_STORAGE_CONFIG", args["storage-config"].as<std::string>().c_str(), 1) != 0)
      throw ConfigError("cannot set HPCLESS_STORAGE_CONFIG");
    auto node_name = [&] {
      std::string n = args["name"].as<std::string>();
      if (n.empty() && args.count("node-name")) n = args["node-name"].as<std::string>();
      if (n.empty()) {
        char host[256] = {};
        gethostname(host, sizeof(host) - 1);
        n = host;
      }
      return n;
    };
    // RDMA: checked here, once, so that a wrong address fails the daemon's start with the reason
    // instead of every worker's.
    std::vector<std::string> rdma_args;
    const std::string rdma_address = args["rdma-address"].as<std::string>();
    if (!rdma_address.empty()) {
#ifdef HPCLESS_HAVE_RDMA
      const std::string device = rdma::probe_device(rdma_address);
      log::info("RDMA: " + rdma_address + " is served by device " + device);
      rdma_args = {"--rdma-address", rdma_address};
#else
      throw ConfigError("--rdma-address: this build has no RDMA transport (install "
                        "libibverbs-dev and librdmacm-dev, then reconfigure)");
#endif
    }
    if (args.count("manager")) {
      executor::ManagedConfig m;
      m.manager_url = args["manager"].as<std::string>();
      const char* api = std::getenv("HPCLESS_API_TOKEN");
      const char* secret = std::getenv("HPCLESS_TOKEN_SECRET");
      m.api_token = api == nullptr ? "" : api;
      m.token_secret = secret == nullptr ? "" : secret;
      m.name = node_name();
      m.listen = tcp::parse_endpoint(args["listen"].as<std::string>());
      m.advertise = args["advertise"].as<std::string>();
      m.cores = executor::resolve_node_cores(args["cores"].as<std::string>(),
                                             args["cores-limit"].as<size_t>());
      const double idle_s = args["exit-when-idle-s"].as<double>();
      if (!(idle_s >= 0 && idle_s <= 1e7))
        throw ConfigError("--exit-when-idle-s must be a number of seconds >= 0");
      m.exit_when_idle = std::chrono::milliseconds(static_cast<int64_t>(idle_s * 1000));
      m.memory_mb = args["memory-mb"].as<uint64_t>();
      if (!args.count("package")) throw ConfigError("--package PATH is required");
      m.package_path = args["package"].as<std::string>();
      m.worker_binary = args["worker-binary"].as<std::string>();
      m.ready_file = args["ready-file"].as<std::string>();
      m.log_dir = args["log-dir"].as<std::string>();
      m.max_payload = args["max-payload"].as<uint32_t>();
      m.max_inflight = args["max-inflight"].as<uint32_t>();
      m.grace = std::chrono::milliseconds(args["grace-ms"].as<int64_t>());
      m.walltime_end_ms = args["walltime-end-ms"].as<int64_t>();
      m.slurm_job = args["slurm-job"].as<std::string>();
      if (m.slurm_job == "auto") {
        const char* job = std::getenv("SLURM_JOB_ID");
        if (job == nullptr || *job == '\0')
          throw ConfigError("--slurm-job auto: SLURM_JOB_ID is not set (not inside a Slurm job)");
        m.slurm_job = job;
      }
      if (!m.slurm_job.empty() && m.walltime_end_ms != 0)
        throw ConfigError("--slurm-job and --walltime-end-ms exclude each other");
      if (args["drain-s"].as<int64_t>() < 0 || args["slurm-poll-ms"].as<int64_t>() < 100)
        throw ConfigError("--drain-s must be >= 0 and --slurm-poll-ms >= 100");
      m.drain = std::chrono::seconds(args["drain-s"].as<int64_t>());
      m.slurm_poll = std::chrono::milliseconds(args["slurm-poll-ms"].as<int64_t>());
      // Set by slurm/hpcless-executor.sbatch: when the job began, for the manager's on-demand
      // timings (queue wait vs. executor start). Ignored when malformed: it is only a figure.
      if (const char* started = std::getenv("HPCLESS_JOB_STARTED_MS"))
        m.job_started_ms = std::max<int64_t>(0, std::strtoll(started, nullptr, 10));
      m.worker_args.insert(m.worker_args.end(), rdma_args.begin(), rdma_args.end());
      if (!rdma_args.empty()) m.transports.push_back("rdma");
      executor::ManagedExecutor exec(std::move(m));
      return exec.run();
    }
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
    if (args.count("node-name") || c.node_name.empty()) c.node_name = node_name();
    if (given("ready-file")) c.ready_file = args["ready-file"].as<std::string>();
    if (given("worker-binary")) c.worker_binary = args["worker-binary"].as<std::string>();
    c.worker_args.insert(c.worker_args.end(), rdma_args.begin(), rdma_args.end());
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
