// MPI offloading end to end (docs/offload.md): hpcless-offload-mpi through mpirun against a real
// hpcless-manager and a managed executor (the fixture of tests/lease_client), and `hpcless
// experiment offload`. The executor serves the core package, so the ranks ship the offload
// package themselves. Problems are tiny (n <= 100): the tests check results and failure
// behaviour, not speed. Every process has a deadline; ctest's TIMEOUT is the watchdog.
// Skipped, with the reason, when mpirun is not installed.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "client/lib/lease_session.hpp"
#include "comm/base/clock.hpp"
#include "comm/base/fd.hpp"
#include "comm/base/json.hpp"
#include "experiments/comm/comm_bench.hpp"
#include "functions/601.matmul/matmul_common.hpp"
#include "functions/offload/tile_format.hpp"
#include "tests/lease_client/lease_test_support.hpp"

using namespace hpcless;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string p = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0)
      return p;
  }
  return "";
}

struct MpiRun {
  int exit_code = -1;  // -1: killed after the timeout or by a signal
  std::string out, err;
  double seconds = 0;
};

// mpirun (the comm experiment's loopback flags) -np `ranks` hpcless-offload-mpi `args`.
MpiRun run_mpi(int ranks, const std::vector<std::string>& args,
               const std::vector<std::string>& env = {}, std::chrono::milliseconds timeout = 60s) {
  ltest::ScratchDir tmp;
  executor::SpawnOptions o;
  std::istringstream words(experiments::comm_bench::kDefaultMpirun);
  std::string w;
  while (words >> w) o.argv.push_back(w);
  o.argv[0] = find_on_path(o.argv[0]);
  o.argv.insert(o.argv.end(), {"-np", std::to_string(ranks), HPCLESS_OFFLOAD_MPI_BIN});
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.extra_env = env;
  o.stdout_path = (tmp.path() / "out").string();
  o.stderr_path = (tmp.path() / "err").string();
  const uint64_t t0 = now_ns();
  auto proc = executor::ChildProcess::spawn(o);
  MpiRun r;
  const auto status = proc.wait(Deadline::after(timeout));
  if (!status) {
    proc.stop(std::chrono::milliseconds(2000));
    r.err = "(killed after the timeout) ";
  } else if (WIFEXITED(*status)) {
    r.exit_code = WEXITSTATUS(*status);
  }
  r.seconds = static_cast<double>(now_ns() - t0) / 1e9;
  r.out = ltest::read_text(tmp.path() / "out");
  r.err += ltest::read_text(tmp.path() / "err");
  return r;
}

json result_line(const MpiRun& r) {
  std::istringstream in(r.out);
  std::string line;
  json found;
  while (std::getline(in, line))
    if (!line.empty() && line.front() == '{') found = json::parse(line);
  return found;
}

// A loopback port nobody listens on (bound, then closed).
int closed_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

std::vector<std::byte> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(c.size());
  std::memcpy(b.data(), c.data(), c.size());
  return b;
}

std::span<const std::byte> as_bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// The checks every successful run gets: verification passed, and the checksum also matches
// the closed form of 601.matmul's generator (independent of any DGEMM).
void expect_correct_product(const json& j, uint32_t n) {
  ASSERT_TRUE(j.is_object()) << "no result line";
  ASSERT_TRUE(j.contains("verify")) << j.dump();
  const json& v = j["verify"];
  EXPECT_TRUE(v["ok"].get<bool>()) << j.dump();
  EXPECT_LE(v["max_abs_error"].get<double>(), 1e-12 * n) << j.dump();
  EXPECT_NEAR(j["checksum"].get<double>(), v["reference_checksum"].get<double>(),
              1e-12 * std::max(1.0, std::fabs(v["reference_checksum"].get<double>())));
  bench::matmul::Params p;
  p.n = static_cast<int>(n);
  p.seed = j["seed"].get<uint64_t>();
  const auto closed = bench::matmul::reference_checksum(p);
  EXPECT_NEAR(j["checksum"].get<double>(), closed.value, 1e-12 * closed.scale) << j.dump();
}

class OffloadMpi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mpirun_ = find_on_path("mpirun");
    if (mpirun_.empty()) return;
    mgr_ = new ltest::ManagerProcess({{"heartbeat_interval_ms", 200}, {"dead_after_ms", 5000}});
    exec_ = new ltest::ExecutorProcess(*mgr_, "x1", "0,1", 500);
    client_ = new client::LeaseClient(mgr_->options());
    ltest::wait_for_nodes(*client_, {"x1"});
  }
  static void TearDownTestSuite() {
    delete client_;
    delete exec_;
    delete mgr_;
    client_ = nullptr;
    exec_ = nullptr;
    mgr_ = nullptr;
  }
  void SetUp() override {
    // Open MPI is a dependency (scripts/install-deps.sh): its absence is a failure, not a skip.
    ASSERT_FALSE(mpirun_.empty()) << "mpirun not found on PATH: install Open MPI (openmpi-bin, "
                                     "scripts/install-deps.sh) to run the MPI offloading tests";
  }
  void TearDown() override {
    if (HasFailure() && mgr_ != nullptr)
      std::fprintf(stderr, "--- manager log ---\n%s\n--- executor log ---\n%s\n",
                   mgr_->log().c_str(), exec_->log().c_str());
  }
  static std::vector<std::string> token_env() {
    return {std::string("HPCLESS_API_TOKEN=") + ltest::kApiToken};
  }
  static client::LeaseInfo acquire(int cores) {
    client::LeaseRequest req;
    req.cores = cores;
    req.seconds = 120;
    req.hot_timeout_ms = 0;
    return client_->acquire(req);
  }
  static size_t active_leases() { return client_->list("active").size(); }

  static inline std::string mpirun_;
  static inline ltest::ManagerProcess* mgr_ = nullptr;
  static inline ltest::ExecutorProcess* exec_ = nullptr;
  static inline client::LeaseClient* client_ = nullptr;
};

TEST_F(OffloadMpi, HalfOffloadedOnTwoRanksGivesTheLocalDgemmProduct) {
  const auto lease = acquire(1);
  // 7 tiles (the last of 4 rows): rank 0 offloads 2 of 3, rank 1 2 of 4.
  const auto r = run_mpi(2,
                         {"--n", "100", "--tile", "16", "--fraction", "0.5", "--lease", lease.id,
                          "--manager", mgr_->url(), "--verify", "--timeout-ms", "30000"},
                         token_env());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json j = result_line(r);
  expect_correct_product(j, 100);
  EXPECT_EQ(j["tiles"], 7);
  EXPECT_EQ(j["ranks"], 2);
  EXPECT_EQ(j["tiles_offloaded"], 4);
  EXPECT_EQ(j["lease"], lease.id);
  EXPECT_FALSE(j["lease_acquired_here"].get<bool>());
  EXPECT_GT(j["time_to_solution_s"].get<double>(), 0);
  EXPECT_GT(j["offload_bytes_sent"].get<uint64_t>(), 4u * 100 * 100 * 8);  // B with every tile
  // An attached lease is not the application's to release.
  EXPECT_EQ(client_->get(lease.id).state, "active");
  client_->release(lease.id);
}

TEST_F(OffloadMpi, EverythingOffloadedOnALeaseTheApplicationAcquires) {
  const auto r = run_mpi(1,
                         {"--n", "100", "--tile", "16", "--fraction", "1", "--manager",
                          mgr_->url(), "--lease-cores", "2", "--verify", "--timeout-ms", "30000"},
                         token_env());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json j = result_line(r);
  expect_correct_product(j, 100);
  EXPECT_EQ(j["tiles_offloaded"], 7);
  EXPECT_TRUE(j["lease_acquired_here"].get<bool>());
  EXPECT_EQ(j["workers"], 2);  // one connection per leased core
  EXPECT_GE(j["local_compute_s"].get<double>(), 0.0);  // no local rows: nothing to compute
  // Rank 0 acquired it, so rank 0 released it.
  EXPECT_EQ(client_->get(j["lease"].get<std::string>()).state, "released");
}

TEST_F(OffloadMpi, NothingOffloadedNeedsNoManager) {
  const auto r = run_mpi(2, {"--n", "100", "--tile", "16", "--fraction", "0", "--verify",
                             "--manager", "http://127.0.0.1:" + std::to_string(closed_port())});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json j = result_line(r);
  expect_correct_product(j, 100);
  EXPECT_EQ(j["tiles_offloaded"], 0);
  EXPECT_TRUE(j["lease"].is_null());
}

TEST_F(OffloadMpi, BadOptionsFailWithAClearMessage) {
  auto r = run_mpi(2, {"--fraction", "1.5"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("--fraction must be in [0, 1], got 1.5"), std::string::npos) << r.err;
  r = run_mpi(1, {"--no-such-option"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("no-such-option"), std::string::npos) << r.err;
  r = run_mpi(1, {"--n", "64", "--tile", "128"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--tile 128 is larger than --n 64"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("hpcless.offload.v1"), std::string::npos) << r.out;
}

TEST_F(OffloadMpi, UnreachableManagerOrUnknownLeaseFailsPromptly) {
  const std::string url = "http://127.0.0.1:" + std::to_string(closed_port());
  auto r = run_mpi(2, {"--n", "64", "--tile", "16", "--fraction", "0.5", "--manager", url},
                   token_env(), 30s);
  EXPECT_GT(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find(url.substr(7)), std::string::npos) << r.err;  // names the manager
  EXPECT_LT(r.seconds, 20.0);

  r = run_mpi(2,
              {"--n", "64", "--tile", "16", "--fraction", "0.5", "--manager", mgr_->url(),
               "--lease", "L999999"},
              token_env(), 30s);
  EXPECT_GT(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("L999999"), std::string::npos) << r.err;
  EXPECT_LT(r.seconds, 20.0);
}

TEST_F(OffloadMpi, TileFunctionRejectsMalformedInputAndKeepsServing) {
  client::LeaseRequest req;
  req.cores = 1;
  req.seconds = 60;
  req.hot_timeout_ms = 0;
  client::SessionOptions so;
  so.connect.busy_poll = false;
  so.connect.hot_timeout_ms = 0;
  auto lease = client::Lease::acquire(*client_, req, so);
  const Deadline d = Deadline::after(10s);
  lease.load_package(file_bytes(HPCLESS_OFFLOAD_PACKAGE), d);

  client::InvocationResult res;
  lease.invoke("dgemm.tile", as_bytes("too short"), res, d);
  EXPECT_EQ(res.status, protocol::Status::kFunctionFailed);
  EXPECT_NE(res.error_message().find("shorter than the 32-byte header"), std::string::npos)
      << res.error_message();

  // 2x3 * 3x2 with one byte missing.
  const std::vector<double> a = {1, 2, 3, 4, 5, 6}, b = {7, 8, 9, 10, 11, 12};
  offload::TileEncoder enc(2, 3, b);
  const auto good = enc.encode(a, 2);
  std::vector<std::byte> cut(good.begin(), good.end() - 1);
  lease.invoke("dgemm.tile", cut, res, d);
  EXPECT_EQ(res.status, protocol::Status::kFunctionFailed);
  EXPECT_NE(res.error_message().find("m=2 n=2 k=3 needs"), std::string::npos)
      << res.error_message();

  // The worker is still there and computes.
  const auto again = enc.encode(a, 2);
  lease.invoke("dgemm.tile", again, res, d);
  ASSERT_EQ(res.status, protocol::Status::kOk) << res.error_message();
  ASSERT_EQ(res.output.size(), 4 * sizeof(double));
  double c[4];
  std::memcpy(c, res.output.data(), sizeof(c));
  EXPECT_DOUBLE_EQ(c[0], 1 * 7 + 2 * 9 + 3 * 11);
  EXPECT_DOUBLE_EQ(c[1], 1 * 8 + 2 * 10 + 3 * 12);
  EXPECT_DOUBLE_EQ(c[2], 4 * 7 + 5 * 9 + 6 * 11);
  EXPECT_DOUBLE_EQ(c[3], 4 * 8 + 5 * 10 + 6 * 12);
}

TEST_F(OffloadMpi, ExperimentWritesEveryFileOfItsResultsFolder) {
  ltest::ScratchDir dir;
  const fs::path out = dir.path() / "offload";
  const size_t active_before = active_leases();
  auto r = ltest::run_cli({"experiment", "offload", "--out", out.string(), "--manager",
                           mgr_->url(), "--n", "64", "--tile", "16", "--ranks", "1",
                           "--lease-cores", "1", "--fractions", "0,0.5,1", "--repetitions", "2",
                           "--verify", "--timeout-ms", "30000"},
                          token_env(), 120s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("speedup"), std::string::npos) << r.out;

  std::ifstream runs(out / "runs.jsonl");
  std::string line;
  size_t n = 0;
  while (std::getline(runs, line)) {
    const json j = json::parse(line);
    EXPECT_EQ(j["schema"], "hpcless.offload.run.v1");
    EXPECT_TRUE(j["ok"].get<bool>()) << line;
    EXPECT_TRUE(j["app"]["verify"]["ok"].get<bool>()) << line;
    if (j["fraction"].get<double>() > 0) {
      EXPECT_GT(j["lease_core_s"].get<double>(), 0) << line;
      EXPECT_GE(j["lease_held_s"].get<double>(), j["wall_s"].get<double>()) << line;
    } else {
      EXPECT_TRUE(j["lease"].is_null()) << line;
    }
    ++n;
  }
  EXPECT_EQ(n, 6u);

  const std::string csv = ltest::read_text(out / "summary.csv");
  EXPECT_EQ(csv.rfind("fraction,runs,failures,tiles_offloaded,time_to_solution_s", 0), 0u) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  EXPECT_NE(csv.find("\n0.0000,2,0,0,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n1.0000,2,0,4,"), std::string::npos) << csv;

  const json meta = json::parse(ltest::read_text(out / "metadata.json"));
  EXPECT_EQ(meta["experiment"], "offload");
  EXPECT_EQ(meta["config"]["n"], 64);
  EXPECT_TRUE(meta.contains("accounting"));
  EXPECT_EQ(meta["runs"], 6);
  EXPECT_EQ(meta.dump().find(ltest::kApiToken), std::string::npos);  // no secrets

  EXPECT_TRUE(fs::exists(out / "offload.gp"));
  if (!find_on_path("gnuplot").empty()) {
    EXPECT_TRUE(fs::exists(out / "offload.png")) << r.err;
    EXPECT_TRUE(fs::exists(out / "offload.svg")) << r.err;
  }
  // Every lease the experiment took was released after its run.
  EXPECT_EQ(active_leases(), active_before);
}

TEST_F(OffloadMpi, ExperimentRejectsBadOptions) {
  ltest::ScratchDir dir;
  auto r = ltest::run_cli({"experiment", "offload", "--out", (dir.path() / "x").string(),
                           "--fractions", "0,2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("invalid --fractions entry '2'"), std::string::npos) << r.err;
  r = ltest::run_cli({"experiment", "offload", "--out", (dir.path() / "y").string(), "--mpirun",
                      "no-such-mpirun-here"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'no-such-mpirun-here' not found"), std::string::npos) << r.err;
}

}  // namespace
