#include "client/cli/comm_bench_command.hpp"

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

#include "comm/base/error.hpp"
#include "experiments/comm/comm_bench.hpp"
#include "experiments/comm/hpcless_rank.hpp"

namespace hpcless::cli {

namespace {

namespace cb = experiments::comm_bench;

constexpr const char* kProgram = "hpcless comm-bench";

void comm_bench_usage(FILE* out) {
  std::fprintf(
      out,
      "usage: hpcless comm-bench --op OP [--ranks N] [--system hpcless|mpi|gloo]\n"
      "                          [--channel direct|direct-rdma|redis|s3] [--config FILE]\n"
      "                          [--rdma-address ADDR] [-m MIN:MAX]\n"
      "                          [--sizes A,B,...] [-i ITERS] [-x WARMUP] [-W WINDOW] [--csv "
      "FILE]\n"
      "\n"
      "OSU-style micro-benchmark on N processes of this machine; rank 0 prints the OSU table.\n"
      "\n"
      "  --op OP            %s\n"
      "  --ranks N          processes (default 2 for latency/bandwidth, else 4)\n"
      "  --system S         hpcless (default), mpi (Open MPI, TCP on loopback) or gloo (TCP)\n"
      "  --channel C        hpcless channel: direct (default), direct-rdma, redis, s3\n"
      "  --rdma-address A   direct-rdma: IP address of this host's RDMA interface\n"
      "                     (default $HPCLESS_RDMA_ADDRESS; see `rdma link`)\n"
      "  --config FILE      storage settings for redis/s3 (e.g. config/local.json)\n"
      "  -m MIN:MAX         message sizes, doubling (default 1:1M; reductions start at 4)\n"
      "  --sizes A,B,...    explicit message sizes instead of -m (e.g. 8,64K,4M)\n"
      "  -i ITERS, -x N     timed and warm-up iterations (default: OSU's, by size)\n"
      "  -W WINDOW          bandwidth window (default 64)\n"
      "  --csv FILE         also write the rows as CSV\n"
      "  --spin-us US       direct channels: poll this long before sleeping (default 0)\n"
      "  --timeout-ms MS    deadline of every blocking call (default 60000)\n"
      "  --watchdog-s S     stop the run after S seconds (default 1800)\n"
      "  --mpirun CMD       mpirun command (default: %s)\n"
      "  --mpi-args ARGS    extra mpirun arguments, e.g. \"--mca mpi_yield_when_idle 1\"\n"
      "  --label NAME       system name in the table and CSV\n",
      osu::op_list().c_str(), cb::kDefaultMpirun);
}

struct Parsed {
  cb::CommBenchConfig config;
  bool help = false;
  bool op_given = false;
  bool ranks_given = false;
  // rank mode
  int rank = -1;
  std::string store;
  std::string group;
};

int parse_int(const std::string& v, const char* what, int min, int max) {
  const int n = osu::parse_count(v, what, min);
  if (n > max)
    throw std::invalid_argument(std::string(what) + " must be at most " + std::to_string(max));
  return n;
}

Parsed parse(int argc, char** argv) {
  Parsed p;
  auto& c = p.config;
  for (int i = 1; i < argc;) {
    const std::string_view k = argv[i];
    if (k == "-h" || k == "--help") {
      p.help = true;
      ++i;
      continue;
    }
    if (k == "--op") p.op_given = true;
    const int used = osu::consume_option(argc, argv, i, c.bench);
    if (used > 0) {
      i += used;
      continue;
    }
    if (i + 1 >= argc)
      throw std::invalid_argument("unknown option or missing value: " + std::string(k));
    const std::string v = argv[i + 1];
    if (k == "--ranks") {
      c.ranks = parse_int(v, "--ranks", 1, 1024);
      p.ranks_given = true;
    } else if (k == "--system") {
      c.system = v;
    } else if (k == "--channel") {
      c.channel.channel = v;
    } else if (k == "--config") {
      c.channel.config_path = v;
    } else if (k == "--rdma-address") {
      c.channel.rdma_address = v;
    } else if (k == "--spin-us") {
      c.channel.spin = std::chrono::microseconds(parse_int(v, "--spin-us", 0, 100'000'000));
    } else if (k == "--timeout-ms") {
      c.channel.timeout = std::chrono::milliseconds(parse_int(v, "--timeout-ms", 1, 86'400'000));
    } else if (k == "--watchdog-s") {
      c.launch.watchdog = std::chrono::seconds(parse_int(v, "--watchdog-s", 1, 604'800));
    } else if (k == "--mpirun") {
      c.mpirun = v;
    } else if (k == "--mpi-args") {
      c.mpi_args = v;
    } else if (k == "--label") {
      c.label = v;
    } else if (k == "--rank") {
      p.rank = parse_int(v, "--rank", 0, 1023);
    } else if (k == "--store") {
      p.store = v;
    } else if (k == "--group") {
      p.group = v;
    } else {
      throw std::invalid_argument("unknown option '" + std::string(k) + "'");
    }
    i += 2;
  }
  if (!p.ranks_given && osu::is_point_to_point(c.bench.op)) c.ranks = 2;
  return p;
}

}  // namespace

int comm_bench_main(int argc, char** argv) {
  Parsed p;
  try {
    p = parse(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", kProgram, e.what());
    return 2;
  }
  if (p.help) {
    comm_bench_usage(stdout);
    return 0;
  }
  auto& c = p.config;

  if (p.rank >= 0) {  // rank mode, started by the launcher below
    if (p.store.empty() || p.group.empty() || p.rank >= c.ranks) {
      std::fprintf(stderr, "%s: rank mode needs --store, --group and --rank < --ranks\n", kProgram);
      return cb::kRankFailed;
    }
    cb::RankConfig rc;
    rc.rank = p.rank;
    rc.size = c.ranks;
    rc.store = p.store;
    rc.group = p.group;
    rc.channel = c.channel;
    rc.bench = c.bench;
    return cb::run_hpcless_rank(rc);
  }

  if (!p.op_given) {
    std::fprintf(stderr, "%s: --op is required (one of: %s)\n", kProgram, osu::op_list().c_str());
    return 2;
  }
  try {
    c.self_exe = cb::self_executable();
    const auto res = cb::run_comm_bench(c);
    if (!res.ok) {
      std::fprintf(stderr, "%s: %s failed: %s\n", kProgram, cb::default_label(c).c_str(),
                   res.error.c_str());
      return 1;
    }
    return 0;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s: %s\n", kProgram, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", kProgram, e.what());
    return 1;
  }
}

}  // namespace hpcless::cli
