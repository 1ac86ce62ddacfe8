// hpcless-comm-probe: times allreduce (float sum) and bcast on N ranks (processes on loopback)
// over the hpcless direct channel and, in the same run, over Open MPI's TCP transport, and
// prints the medians side by side. Not a test; the full OSU-style `hpcless comm-bench` comes
// later.
//
//   hpcless-comm-probe [--ranks 4] [--ops allreduce,bcast] [--sizes 8,65536,4194304]
//                      [--scale 1.0] [--rounds 3] [--no-mpi] [--mpirun "CMD"] [--spin-us N]
//
// Each round runs hpcless then MPI; a row reports the median over rounds of each system's median
// (over iterations) of the per-iteration time of the slowest rank. Collective algorithms follow
// HPCLESS_COMM_* variables (inherited by the ranks).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "comm/communicator/communicator.hpp"
#include "comm/communicator/probe/probe_common.hpp"
#include "comm/rendezvous/tcp_store.hpp"

using namespace hpcless;
using namespace hpcless::comm;
using namespace hpcless::probe;

namespace {

struct Config {
  int ranks = 4;
  std::string ops = "allreduce,bcast";
  std::string sizes = "8,65536,4194304";
  double scale = 1.0;
  int rounds = 3;
  bool mpi = true;
  std::string mpirun =
      "mpirun --allow-run-as-root --oversubscribe --mca pml ob1 --mca btl tcp,self "
      "--mca btl_tcp_if_include lo --mca oob_tcp_if_include lo";
  int spin_us = -1;  // -1: the library default (DirectOptions::spin)
  // child mode
  bool child = false;
  std::string store;
  std::string group;
  int rank = -1;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "hpcless-comm-probe: %s\nusage: hpcless-comm-probe [--ranks N] [--ops a,b] "
               "[--sizes 8,65536,...] [--scale X] [--rounds R] [--no-mpi] [--mpirun CMD] "
               "[--spin-us US]\n",
               why);
  std::exit(2);
}

Config parse(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + k).c_str());
      return argv[++i];
    };
    if (k == "--ranks")
      c.ranks = std::atoi(val().c_str());
    else if (k == "--ops")
      c.ops = val();
    else if (k == "--sizes")
      c.sizes = val();
    else if (k == "--scale")
      c.scale = std::atof(val().c_str());
    else if (k == "--rounds")
      c.rounds = std::atoi(val().c_str());
    else if (k == "--no-mpi")
      c.mpi = false;
    else if (k == "--mpirun")
      c.mpirun = val();
    else if (k == "--spin-us")
      c.spin_us = std::atoi(val().c_str());
    else if (k == "--child")
      c.child = true;
    else if (k == "--store")
      c.store = val();
    else if (k == "--group")
      c.group = val();
    else if (k == "--rank")
      c.rank = std::atoi(val().c_str());
    else
      usage(("unknown option " + k).c_str());
  }
  if (c.ranks < 1 || c.rounds < 1 || c.scale <= 0) usage("bad numeric option");
  for (const auto& op : split(c.ops, ','))
    if (op != "allreduce" && op != "bcast") usage("ops are allreduce and bcast");
  return c;
}

std::vector<size_t> parse_sizes(const std::string& s) {
  std::vector<size_t> out;
  for (const auto& x : split(s, ',')) out.push_back(std::strtoull(x.c_str(), nullptr, 10));
  return out;
}

// ---------------------------------------------------------------------------------------------
// One rank.

int run_child(const Config& cfg) {
  auto store = std::make_shared<rendezvous::TcpStore>(tcp::parse_endpoint(cfg.store));
  CommOptions o;
  o.timeout = std::chrono::seconds(60);
  if (cfg.spin_us >= 0) o.direct.spin = std::chrono::microseconds(cfg.spin_us);
  Communicator c(cfg.rank, cfg.ranks, cfg.group, store, o);
  if (c.rank() == 0) {
    std::printf("TUNING %s\n", c.tuning().describe().c_str());
    std::fflush(stdout);
  }
  const auto plan = make_plan(split(cfg.ops, ','), parse_sizes(cfg.sizes), cfg.scale);
  for (const auto& p : plan) {
    const size_t count = std::max<size_t>(1, p.bytes / sizeof(float));
    std::vector<float> in(count, 1.0f), out(count);
    std::vector<std::byte> buf(p.bytes);
    std::vector<double> t(static_cast<size_t>(p.iters));
    for (int i = 0; i < p.warmup + p.iters; ++i) {
      c.barrier();
      const uint64_t t0 = mono_ns();
      if (p.op == "allreduce") {
        c.allreduce(in, out, Op::kSum);
      } else {
        c.bcast(buf, 0);
      }
      const uint64_t t1 = mono_ns();
      if (i >= p.warmup) t[i - p.warmup] = static_cast<double>(t1 - t0) / 1e3;
    }
    if (p.op == "allreduce" && out[0] != static_cast<float>(cfg.ranks)) {
      std::fprintf(stderr, "allreduce gave %f, expected %d\n", out[0], cfg.ranks);
      return 1;
    }
    std::vector<double> all(c.rank() == 0 ? static_cast<size_t>(cfg.ranks) * p.iters : 0);
    c.gather(t, all, 0);
    if (c.rank() == 0) print_result(p, per_iteration_max(all, cfg.ranks, p.iters));
  }
  // How unexpected messages were handled (summed over ranks): "drained" ones cost a copy.
  const auto& st = static_cast<DirectChannel&>(c.channel()).stats();
  const int64_t mine[4] = {static_cast<int64_t>(st.buffered), static_cast<int64_t>(st.stalled),
                           static_cast<int64_t>(st.resumed), static_cast<int64_t>(st.drained)};
  int64_t sum[4];
  c.reduce(mine, sum, Op::kSum, 0);
  if (c.rank() == 0) {
    std::printf("STATS buffered=%lld stalled=%lld resumed=%lld drained=%lld\n",
                static_cast<long long>(sum[0]), static_cast<long long>(sum[1]),
                static_cast<long long>(sum[2]), static_cast<long long>(sum[3]));
    std::fflush(stdout);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The driver.

struct Row {
  double median = 0, p10 = 0, p90 = 0;
};
using Results = std::map<std::pair<std::string, size_t>, Row>;

void parse_results(const std::string& text, Results& out, std::string* tuning) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (tuning != nullptr && line.rfind("TUNING ", 0) == 0) *tuning = line.substr(7);
    if (line.rfind("STATS ", 0) == 0)
      std::fprintf(stderr, "# hpcless unexpected messages: %s\n", line.substr(6).c_str());
    if (line.rfind("RESULT ", 0) != 0) continue;
    std::istringstream ls(line.substr(7));
    std::string op;
    size_t bytes;
    Row r;
    int iters;
    if (ls >> op >> bytes >> r.median >> r.p10 >> r.p90 >> iters) out[{op, bytes}] = r;
  }
}

std::string read_all(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

// Runs the hpcless ranks as child processes of this program; returns rank 0's output.
std::string run_hpcless_round(const Config& cfg, int round) {
  rendezvous::StoreServer server;
  const std::string group = "probe-" + std::to_string(::getpid()) + "-" + std::to_string(round);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw_system_error("pipe2");
  std::vector<pid_t> pids;
  for (int r = 0; r < cfg.ranks; ++r) {
    std::vector<std::string> args = {"/proc/self/exe", "--child",
                                     "--store",        server.endpoint().to_string(),
                                     "--group",        group,
                                     "--rank",         std::to_string(r),
                                     "--ranks",        std::to_string(cfg.ranks),
                                     "--ops",          cfg.ops,
                                     "--sizes",        cfg.sizes,
                                     "--scale",        std::to_string(cfg.scale),
                                     "--spin-us",      std::to_string(cfg.spin_us)};
    const pid_t pid = ::fork();
    if (pid < 0) throw_system_error("fork");
    if (pid == 0) {
      if (r == 0) {
        ::dup2(pipefd[1], STDOUT_FILENO);
      } else {
        const int devnull = ::open("/dev/null", O_WRONLY);
        ::dup2(devnull, STDOUT_FILENO);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      _exit(127);
    }
    pids.push_back(pid);
  }
  ::close(pipefd[1]);
  const std::string out = read_all(pipefd[0]);  // EOF once rank 0 exits
  ::close(pipefd[0]);
  bool ok = true;
  const uint64_t give_up = now_ns() + 120'000'000'000ull;
  for (pid_t pid : pids) {
    int st = 0;
    while (::waitpid(pid, &st, WNOHANG) == 0) {
      if (now_ns() > give_up) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &st, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  if (!ok) std::fprintf(stderr, "hpcless-comm-probe: a rank failed in round %d\n", round);
  return out;
}

std::string run_mpi_round(const Config& cfg) {
  const std::string cmd = "timeout 300 " + cfg.mpirun + " -np " + std::to_string(cfg.ranks) + " " +
                          HPCLESS_COMM_PROBE_MPI + " " + cfg.ops + " " + cfg.sizes + " " +
                          std::to_string(cfg.scale) + " 2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) throw_system_error("popen");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const int rc = ::pclose(f);
  if (rc != 0)
    std::fprintf(stderr, "hpcless-comm-probe: mpirun failed (%d):\n%s\n", rc, out.c_str());
  return out;
}

double median_of(std::vector<double> v) { return percentile(std::move(v), 0.5); }

int run_driver(const Config& cfg) {
#ifndef HPCLESS_COMM_PROBE_MPI
  if (cfg.mpi) {
    std::fprintf(stderr, "hpcless-comm-probe: built without MPI; use --no-mpi\n");
    return 2;
  }
#endif
  std::map<std::pair<std::string, size_t>, std::vector<double>> ours, theirs;
  std::string tuning;
  for (int round = 0; round < cfg.rounds; ++round) {
    Results a;
    parse_results(run_hpcless_round(cfg, round), a, &tuning);
    for (auto& [k, r] : a) ours[k].push_back(r.median);
#ifdef HPCLESS_COMM_PROBE_MPI
    if (cfg.mpi) {
      Results b;
      parse_results(run_mpi_round(cfg), b, nullptr);
      for (auto& [k, r] : b) theirs[k].push_back(r.median);
    }
#endif
  }
  double load[3] = {0, 0, 0};
  std::ifstream("/proc/loadavg") >> load[0] >> load[1] >> load[2];
  std::printf(
      "# hpcless-comm-probe: %d ranks (processes, loopback TCP), %d round(s), %u cores, "
      "load %.2f %.2f %.2f\n",
      cfg.ranks, cfg.rounds, std::thread::hardware_concurrency(), load[0], load[1], load[2]);
  const long spin =
      cfg.spin_us >= 0 ? cfg.spin_us : static_cast<long>(DirectOptions{}.spin.count());
  std::printf("# hpcless: direct channel, spin %ld us; %s\n", spin, tuning.c_str());
  if (cfg.mpi) std::printf("# mpi: %s -np %d\n", cfg.mpirun.c_str(), cfg.ranks);
  std::printf(
      "# time = median over rounds of the median over iterations of the slowest rank's "
      "time (barrier before each call)\n");
  std::printf("%-10s %10s %14s %14s %8s   %s\n", "# op", "bytes", "hpcless_us", "mpi_us", "ratio",
              "per-round hpcless / mpi (us)");
  for (auto& [k, v] : ours) {
    const double h = median_of(v);
    const auto it = theirs.find(k);
    const double m = it == theirs.end() ? 0 : median_of(it->second);
    std::string rounds;
    for (size_t i = 0; i < v.size(); ++i) {
      char b[64];
      std::snprintf(b, sizeof(b), "%s%.1f/%.1f", i ? " " : "", v[i],
                    it == theirs.end() || i >= it->second.size() ? 0.0 : it->second[i]);
      rounds += b;
    }
    if (m > 0) {
      std::printf("%-10s %10zu %14.1f %14.1f %8.2f   %s\n", k.first.c_str(), k.second, h, m, h / m,
                  rounds.c_str());
    } else {
      std::printf("%-10s %10zu %14.1f %14s %8s   %s\n", k.first.c_str(), k.second, h, "-", "-",
                  rounds.c_str());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse(argc, argv);
  try {
    return cfg.child ? run_child(cfg) : run_driver(cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpcless-comm-probe%s: %s\n",
                 cfg.child ? (" rank " + std::to_string(cfg.rank)).c_str() : "", e.what());
    return 1;
  }
}
