// `hpcless comm-bench` and `hpcless experiment comm` end to end: the hpcless binary launches
// real rank processes on loopback (and mpirun / Gloo ranks for the baselines). Each command has
// a deadline (the test kills it and fails) besides ctest's TIMEOUT.
#include "experiments/comm/comm_bench.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "comm/base/json.hpp"
#include "comm/communicator/cost_model.hpp"
#include "tests/comm_bench/run_command.hpp"

namespace hpcless::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kLimit = 60s;  // per command; far above the few seconds each takes

struct Table {
  bool header = false;
  bool bandwidth = false;
  std::vector<std::vector<double>> rows;  // numbers of each data line
};

// Parses OSU output: comment lines, the header, then data lines of numbers.
Table parse_table(const std::string& out) {
  static const std::regex latency_header(
      R"(^# Size\s+Avg Latency\(us\)\s+Min Latency\(us\)\s+Max Latency\(us\)\s+Iterations$)");
  static const std::regex bandwidth_header(R"(^# Size\s+Bandwidth \(MB/s\)$)");
  Table t;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (std::regex_match(line, latency_header)) {
      t.header = true;
      continue;
    }
    if (std::regex_match(line, bandwidth_header)) {
      t.header = t.bandwidth = true;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::vector<double> nums;
    double v;
    while (ls >> v) nums.push_back(v);
    t.rows.push_back(nums);
  }
  return t;
}

// Checks a latency table: the given sizes in order, positive times, min <= avg <= max.
void expect_latency_table(const std::string& out, const std::vector<size_t>& sizes,
                          int iterations) {
  const Table t = parse_table(out);
  ASSERT_TRUE(t.header) << out;
  ASSERT_FALSE(t.bandwidth) << out;
  ASSERT_EQ(t.rows.size(), sizes.size()) << out;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const auto& r = t.rows[i];
    ASSERT_EQ(r.size(), 5u) << out;
    EXPECT_EQ(static_cast<size_t>(r[0]), sizes[i]) << out;
    EXPECT_GT(r[1], 0) << out;
    EXPECT_GT(r[2], 0) << out;
    EXPECT_LE(r[2], r[1] + 0.005) << out;  // printed with 2 decimals
    EXPECT_LE(r[1], r[3] + 0.005) << out;
    EXPECT_EQ(static_cast<int>(r[4]), iterations) << out;
  }
}

std::vector<std::string> bench(std::vector<std::string> args) {
  args.insert(args.begin(), {HPCLESS_CLI, "comm-bench"});
  args.insert(args.end(), {"--timeout-ms", "20000", "--watchdog-s", "50"});
  return args;
}

fs::path temp_dir(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("hpcless-comm-bench-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

bool have_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string d;
  while (std::getline(dirs, d, ':'))
    if (!d.empty() && ::access((d + "/" + name).c_str(), X_OK) == 0) return true;
  return false;
}

bool mpi_usable() {
  return have_program("mpirun") && !experiments::comm_bench::mpi_program().empty();
}

TEST(CommBench, AllreduceOnDirectPrintsAnOsuTableAndCsv) {
  const fs::path dir = temp_dir("allreduce");
  const std::string csv = (dir / "a.csv").string();
  Command c(bench(
      {"--op", "allreduce", "--ranks", "3", "-m", "1:64", "-i", "20", "-x", "2", "--csv", csv}));
  const auto code = c.wait(kLimit);
  ASSERT_TRUE(code.has_value()) << c.err();
  ASSERT_EQ(*code, 0) << c.out() << c.err();
  // Reductions use floats: sizes below 4 bytes are skipped, as in OSU.
  expect_latency_table(c.out(), {4, 8, 16, 32, 64}, 20);
  EXPECT_NE(c.out().find("hpcless-direct, 3 ranks"), std::string::npos) << c.out();

  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "system,op,ranks,size_bytes,avg_us,min_us,max_us,iterations,bandwidth_mb_s");
  int rows = 0;
  while (std::getline(in, line)) {
    EXPECT_EQ(line.rfind("hpcless-direct,allreduce,3,", 0), 0u) << line;
    ++rows;
  }
  EXPECT_EQ(rows, 5);
  fs::remove_all(dir);
}

class EveryOperation : public ::testing::TestWithParam<const char*> {};

TEST_P(EveryOperation, RunsOnDirectWithTheRightSizes) {
  const std::string op = GetParam();
  std::vector<std::string> args = {"--op", op, "-i", "10", "-x", "1"};
  std::vector<size_t> sizes = {8, 16, 32};
  if (op == "barrier") {
    sizes = {0};  // one row of size 0 (osu_barrier has no size column)
  } else if (op == "latency") {
    sizes = {0, 1, 2, 4};
    args.insert(args.end(), {"-m", "0:4"});
  } else {
    args.insert(args.end(), {"-m", "8:32"});
  }
  if (op != "latency") args.insert(args.end(), {"--ranks", "3"});
  Command c(bench(args));
  const auto code = c.wait(kLimit);
  ASSERT_TRUE(code.has_value()) << c.err();
  ASSERT_EQ(*code, 0) << c.out() << c.err();
  expect_latency_table(c.out(), sizes, 10);
}

INSTANTIATE_TEST_SUITE_P(Ops, EveryOperation,
                         ::testing::Values("latency", "barrier", "bcast", "reduce", "gather",
                                           "scatter", "allgather", "alltoall"));

TEST(CommBench, BandwidthPrintsMegabytesPerSecond) {
  Command c(bench({"--op", "bandwidth", "-m", "1K:4K", "-i", "5", "-x", "1", "-W", "8"}));
  const auto code = c.wait(kLimit);
  ASSERT_TRUE(code.has_value()) << c.err();
  ASSERT_EQ(*code, 0) << c.out() << c.err();
  const Table t = parse_table(c.out());
  ASSERT_TRUE(t.bandwidth) << c.out();
  ASSERT_EQ(t.rows.size(), 3u) << c.out();
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(t.rows[i].size(), 2u);
    EXPECT_EQ(static_cast<size_t>(t.rows[i][0]), size_t{1024} << i);
    EXPECT_GT(t.rows[i][1], 0);
  }
}

TEST(CommBench, BadOptionsAreRejectedWithAClearMessage) {
  {
    Command c(bench({"--op", "latency", "--ranks", "3"}));
    EXPECT_EQ(c.wait(kLimit), 2);
    EXPECT_NE(c.err().find("use 2 ranks"), std::string::npos) << c.err();
  }
  {
    Command c(bench({"--op", "allscatter"}));
    EXPECT_EQ(c.wait(kLimit), 2);
    EXPECT_NE(c.err().find("unknown operation 'allscatter'"), std::string::npos) << c.err();
  }
  {
    Command c(bench({"--op", "bcast", "--channel", "carrier-pigeon"}));
    EXPECT_EQ(c.wait(kLimit), 2);
    EXPECT_NE(c.err().find("unknown channel"), std::string::npos) << c.err();
  }
}

// Children of `pid` whose command line contains "--rank\0<rank>\0".
pid_t find_rank(pid_t pid, int rank) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t child;
  const std::string want = std::string("--rank") + '\0' + std::to_string(rank) + '\0';
  while (in >> child) {
    std::ifstream cmd("/proc/" + std::to_string(child) + "/cmdline");
    std::stringstream ss;
    ss << cmd.rdbuf();
    if (ss.str().find(want) != std::string::npos) return child;
  }
  return -1;
}

TEST(CommBench, AKilledRankMakesTheRunFailPromptlyNamingIt) {
  // Endless iterations: only the failure can end the run.
  Command c(
      bench({"--op", "allreduce", "--ranks", "3", "-m", "64:64", "-i", "100000000", "-x", "0"}));
  const Deadline ready = Deadline::after(30s);
  while (c.out().find("# Size") == std::string::npos) {  // rank 0 is connected and timing
    ASSERT_FALSE(ready.expired()) << "no table header\n" << c.out() << c.err();
    std::this_thread::sleep_for(20ms);
  }
  const pid_t victim = find_rank(c.pid(), 2);
  ASSERT_GT(victim, 0);
  const uint64_t t0 = now_ns();
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  const auto code = c.wait(15s);
  const double secs = static_cast<double>(now_ns() - t0) / 1e9;
  ASSERT_TRUE(code.has_value()) << "comm-bench did not end after a rank was killed\n" << c.err();
  EXPECT_EQ(*code, 1) << c.err();
  EXPECT_LT(secs, 10.0);
  EXPECT_NE(c.err().find("rank 2 was killed by signal 9 (SIGKILL)"), std::string::npos) << c.err();
  // The survivors saw the broken links and say so.
  EXPECT_NE(c.err().find("rank 0:"), std::string::npos) << c.err();
}

TEST(CommBenchBaselines, OpenMpiPrintsTheSameTable) {
  if (!mpi_usable()) GTEST_SKIP() << "mpirun or the MPI baseline is missing";
  Command c(bench({"--system", "mpi", "--op", "allreduce", "--ranks", "2", "-m", "4:64", "-i", "10",
                   "-x", "1"}));
  const auto code = c.wait(kLimit);
  ASSERT_TRUE(code.has_value()) << c.err();
  ASSERT_EQ(*code, 0) << c.out() << c.err();
  expect_latency_table(c.out(), {4, 8, 16, 32, 64}, 10);
  EXPECT_NE(c.out().find("openmpi-tcp, 2 ranks"), std::string::npos) << c.out();
}

TEST(CommBenchBaselines, GlooPrintsTheSameTable) {
  if (experiments::comm_bench::gloo_program().empty()) GTEST_SKIP() << "Gloo baseline not built";
  {
    Command c(bench({"--system", "gloo", "--op", "allreduce", "--ranks", "3", "-m", "4:64", "-i",
                     "10", "-x", "1"}));
    const auto code = c.wait(kLimit);
    ASSERT_TRUE(code.has_value()) << c.err();
    ASSERT_EQ(*code, 0) << c.out() << c.err();
    expect_latency_table(c.out(), {4, 8, 16, 32, 64}, 10);
    EXPECT_NE(c.out().find("gloo-tcp, 3 ranks"), std::string::npos) << c.out();
  }
  {
    Command c(bench({"--system", "gloo", "--op", "latency", "-m", "1:8", "-i", "10", "-x", "1"}));
    const auto code = c.wait(kLimit);
    ASSERT_TRUE(code.has_value()) << c.err();
    ASSERT_EQ(*code, 0) << c.out() << c.err();
    expect_latency_table(c.out(), {1, 2, 4, 8}, 10);
  }
}

TEST(CommExperiment, TinyRunWritesEveryFile) {
  const fs::path dir = temp_dir("experiment") / "run";
  std::string series = "direct";
  if (mpi_usable()) series += ",mpi";
  if (!experiments::comm_bench::gloo_program().empty()) series += ",gloo";
  Command c({HPCLESS_CLI,
             "experiment",
             "comm",
             "--out",
             dir.string(),
             "--ranks",
             "2",
             "--ops",
             "allreduce,bcast",
             "--sizes",
             "8,1024",
             "-i",
             "5",
             "-x",
             "1",
             "--rounds",
             "1",
             "--series",
             series,
             "--timeout-ms",
             "20000",
             "--watchdog-s",
             "40"});
  const auto code = c.wait(120s);
  ASSERT_TRUE(code.has_value()) << c.err();
  ASSERT_EQ(*code, 0) << c.out() << c.err();
  for (const char* f : {"metadata.json", "results.csv", "summary.csv", "summary.txt",
                        "allreduce.csv", "bcast.csv", "allreduce.gp", "bcast.gp"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  if (have_program("gnuplot")) {
    EXPECT_GT(fs::file_size(dir / "allreduce.png"), 0u);
    EXPECT_TRUE(fs::exists(dir / "bcast.svg"));
  }
  std::ifstream op_csv(dir / "allreduce.csv");
  std::string header, row8, row1024;
  std::getline(op_csv, header);
  std::getline(op_csv, row8);
  std::getline(op_csv, row1024);
  EXPECT_EQ(header, "size_bytes," + series);
  EXPECT_EQ(row8.rfind("8,", 0), 0u) << row8;
  EXPECT_EQ(row1024.rfind("1024,", 0), 0u) << row1024;
  EXPECT_EQ(row8.find(",,"), std::string::npos) << "a series has no value: " << row8;

  std::ifstream meta_in(dir / "metadata.json");
  const auto meta = nlohmann::json::parse(meta_in);
  EXPECT_EQ(meta["experiment"], "comm");
  const size_t n_series = static_cast<size_t>(std::count(series.begin(), series.end(), ',') + 1);
  EXPECT_EQ(meta["runs"].size(), 2 * n_series);
  for (const auto& run : meta["runs"]) EXPECT_TRUE(run["ok"].get<bool>()) << run.dump();
  EXPECT_TRUE(meta["host"].contains("cores_online"));
  EXPECT_NE(c.out().find("allreduce"), std::string::npos) << c.out();

  // cost_model.json: the fit of this run's medians, loadable for the auto channel.
  ASSERT_TRUE(fs::exists(dir / "cost_model.json"));
  std::ifstream model_in(dir / "cost_model.json");
  const auto model = nlohmann::json::parse(model_in);
  EXPECT_EQ(model["version"], 1);
  EXPECT_NE(model["source"].get<std::string>().find("direct/allreduce"), std::string::npos)
      << model.dump();
  const auto m = hpcless::comm::CostModel::load((dir / "cost_model.json").string());
  EXPECT_EQ(m.get(hpcless::comm::ChannelKind::kDirect, hpcless::comm::OpClass::kAllreduce)->ranks,
            model["channels"]["direct"]["allreduce"]["ranks"].get<int>());
  fs::remove_all(dir.parent_path());
}

// True when something accepts TCP connections on 127.0.0.1:port.
bool port_open(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

TEST(CommExperiment, RedisAndS3ChannelsRunAgainstServersItStartsAndStops) {
  const fs::path dir = temp_dir("services") / "run";
  Command c({HPCLESS_CLI,
             "experiment",
             "comm",
             "--out",
             dir.string(),
             "--ranks",
             "2",
             "--ops",
             "allreduce",
             "--sizes",
             "8,4K",
             "-i",
             "3",
             "-x",
             "1",
             "--rounds",
             "1",
             "--series",
             "redis,s3",
             "--start-services",
             "--timeout-ms",
             "20000",
             "--watchdog-s",
             "40"});
  const auto code = c.wait(120s);
  ASSERT_TRUE(code.has_value()) << c.err();
  ASSERT_EQ(*code, 0) << c.out() << c.err();
  std::ifstream op_csv(dir / "allreduce.csv");
  std::string header, row8, row4k;
  std::getline(op_csv, header);
  std::getline(op_csv, row8);
  std::getline(op_csv, row4k);
  EXPECT_EQ(header, "size_bytes,redis,s3");
  EXPECT_EQ(row8.rfind("8,", 0), 0u) << row8;
  EXPECT_EQ(row4k.rfind("4096,", 0), 0u) << row4k;
  EXPECT_EQ(row8.find(",,"), std::string::npos) << row8;
  EXPECT_NE(row8.back(), ',') << row8;
  // The servers it started are gone.
  std::ifstream svc_in(dir / "raw" / "services" / "services.json");
  const auto svc = nlohmann::json::parse(svc_in);
  EXPECT_FALSE(port_open(svc["storage"]["redis"]["port"].get<int>()));
  std::ifstream meta_in(dir / "metadata.json");
  EXPECT_TRUE(nlohmann::json::parse(meta_in)["config"]["start_services"].get<bool>());
  fs::remove_all(dir.parent_path());
}

}  // namespace
}  // namespace hpcless::test
