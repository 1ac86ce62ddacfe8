// `hpcless experiment cold-start` and `idle-time` on a real manager and executor: short runs
// that check the results folder (records, summaries, metadata, plot scripts) and that the
// idle-time states come out as the lease's hot timeout and expiry dictate.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "client/lib/lease_client.hpp"
#include "comm/base/json.hpp"
#include "experiments/cold_start/lease_experiment.hpp"
#include "tests/lease_client/lease_test_support.hpp"

namespace hpcless {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<json> json_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::vector<std::string> lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

class LeaseExperimentsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mgr_ = new ltest::ManagerProcess({{"heartbeat_interval_ms", 200}, {"dead_after_ms", 5000}});
    exec_ = new ltest::ExecutorProcess(*mgr_, "x1", "1", 1500);
    client::LeaseClient c(mgr_->options());
    ltest::wait_for_nodes(c, {"x1"});
  }
  static void TearDownTestSuite() {
    delete exec_;
    delete mgr_;
  }
  void TearDown() override {
    if (HasFailure())
      std::fprintf(stderr, "--- manager log ---\n%s\n--- executor log ---\n%s\n",
                   mgr_->log().c_str(), exec_->log().c_str());
  }
  std::vector<std::string> env() const {
    return {std::string("HPCLESS_API_TOKEN=") + ltest::kApiToken};
  }
  static inline ltest::ManagerProcess* mgr_ = nullptr;
  static inline ltest::ExecutorProcess* exec_ = nullptr;
};

TEST_F(LeaseExperimentsTest, ColdStartWritesPhasesSummaryAndPlot) {
  ltest::ScratchDir dir;
  const fs::path out = dir.path() / "cold";
  auto r = ltest::run_cli({"experiment", "cold-start", "--manager", mgr_->url(), "--out",
                           out.string(), "--repetitions", "4", "--warmup", "1", "--pause-ms", "0"},
                          env());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("connect-spawn"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("worker-package-load"), std::string::npos) << r.out;

  const auto records = json_lines(out / "invocations.jsonl");
  ASSERT_EQ(records.size(), 5u);
  for (const auto& rec : records) {
    EXPECT_EQ(rec["schema"], "hpcless.invocation.v1");
    EXPECT_EQ(rec["mode"], "cold");
    EXPECT_EQ(rec["status"], "ok");
    EXPECT_EQ(rec["node"], "x1");
    EXPECT_TRUE(rec["cold"].get<bool>());
  }
  const auto phases = json_lines(out / "phases.jsonl");
  ASSERT_EQ(phases.size(), 5u);
  std::set<std::string> leases;
  for (const auto& p : phases) {
    leases.insert(p["lease"].get<std::string>());
    const double sum = p["grant_us"].get<double>() + p["connect_spawn_us"].get<double>() +
                       p["first_invocation_us"].get<double>();
    EXPECT_LE(sum, p["total_us"].get<double>() + 1.0);  // the phases lie inside the total
    EXPECT_GT(p["connect_spawn_us"].get<double>(), 0.0);
    EXPECT_TRUE(p["package_load_us"].is_null());
    // Every lease got a fresh worker, which reported its spawn; the spawn happened while the
    // connection waited, so it lies inside connect-spawn, and connect is the rest.
    ASSERT_TRUE(p["spawn_us"].is_number()) << p.dump();
    EXPECT_GT(p["spawn_us"].get<double>(), 0.0);
    EXPECT_GT(p["worker_package_load_us"].get<double>(), 0.0);
    EXPECT_LT(p["worker_package_load_us"].get<double>(), p["spawn_us"].get<double>());
    EXPECT_LE(p["spawn_us"].get<double>(), p["connect_spawn_us"].get<double>());
    EXPECT_NEAR(p["spawn_us"].get<double>() + p["connect_us"].get<double>(),
                p["connect_spawn_us"].get<double>(), 1.0);
  }
  EXPECT_EQ(leases.size(), 5u);  // a fresh lease every time

  const auto csv = lines(out / "summary.csv");
  ASSERT_GE(csv.size(), 6u);
  std::set<std::string> modes;
  for (size_t i = 1; i < csv.size(); ++i) {
    std::stringstream ss(csv[i]);
    std::string system, transport, mode, payload, count;
    std::getline(ss, system, ',');
    std::getline(ss, transport, ',');
    std::getline(ss, mode, ',');
    std::getline(ss, payload, ',');
    std::getline(ss, count, ',');
    modes.insert(mode);
    EXPECT_EQ(count, "4") << csv[i];  // warm-up repetitions are not summarized
  }
  EXPECT_EQ(modes, (std::set<std::string>{"grant", "spawn", "worker-package-load", "connect",
                                          "connect-spawn", "first-invocation", "total",
                                          "release"}));
  const json meta = json::parse(ltest::read_text(out / "metadata.json"));
  EXPECT_EQ(meta["experiment"], "cold-start");
  EXPECT_TRUE(meta["aborted"].is_null());
  EXPECT_EQ(meta["config"]["manager_state"]["nodes"][0]["name"], "x1");
  EXPECT_EQ(ltest::read_text(out / "metadata.json").find(ltest::kApiToken), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "cold_start.gp"));
  if (!ltest::read_text(out / "cold_start.gp").empty() && fs::exists("/usr/bin/gnuplot")) {
    EXPECT_TRUE(fs::exists(out / "cold_start.png"))
        << ltest::read_text(out / "cold_start.gnuplot.log");
  }

  // Every lease was released.
  client::LeaseClient c(mgr_->options());
  for (const auto& id : leases) EXPECT_EQ(c.get(id).state, "released") << id;
}

TEST_F(LeaseExperimentsTest, IdleTimeShowsHotWarmAndExpiredStates) {
  ltest::ScratchDir dir;
  const fs::path out = dir.path() / "idle";
  // Hot timeout 400 ms: a 1 ms gap stays hot and a 1 s gap goes warm even when this loaded
  // machine deschedules the client for a while. Lease 2 s, executor grace 1.5 s: a 2.5 s gap ends
  // after the expiry but before the worker stops, so the worker answers `token expired`.
  auto r =
      ltest::run_cli({"experiment", "idle-time", "--manager", mgr_->url(), "--out", out.string(),
                      "--gaps", "1ms,1s,2.5s", "--repetitions", "2", "--hot-timeout-ms", "400",
                      "--lease-seconds", "2", "--renew-margin-ms", "500"},
                     env(), std::chrono::seconds(90));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::map<double, std::multiset<std::string>> states;
  for (const auto& s : json_lines(out / "gaps.jsonl"))
    states[s["gap_ms"].get<double>()].insert(s["state"].get<std::string>());
  EXPECT_EQ(states[1], (std::multiset<std::string>{"hot", "hot"}));
  EXPECT_EQ(states[1000], (std::multiset<std::string>{"warm", "warm"}));
  EXPECT_EQ(states[2500], (std::multiset<std::string>{"lease-expired", "lease-expired",
                                                      "re-lease-cold", "re-lease-cold"}));
  for (const auto& s : json_lines(out / "gaps.jsonl")) {
    if (s["state"] == "warm") {
      EXPECT_GE(s["server_idle_ms"].get<double>(), 400.0);
    }
    if (s["state"] == "hot") {
      EXPECT_LT(s["server_idle_ms"].get<double>(), 400.0);
    }
    if (s["state"] == "lease-expired") {
      EXPECT_NE(s["status"].get<std::string>(), "ok");
    }
  }
  const auto csv = lines(out / "idle_time.csv");
  EXPECT_EQ(csv.front(), "gap_ms,state,count,p50_us,p90_us,p99_us,mean_us,min_us,max_us");
  EXPECT_EQ(csv.size(), 5u);  // hot, warm, lease-expired, re-lease-cold
  const json meta = json::parse(ltest::read_text(out / "metadata.json"));
  EXPECT_EQ(meta["experiment"], "idle-time");
  EXPECT_TRUE(fs::exists(out / "idle_time.gp"));
  if (fs::exists("/usr/bin/gnuplot")) {
    EXPECT_TRUE(fs::exists(out / "idle_time.png"))
        << ltest::read_text(out / "idle_time.gnuplot.log");
  }
  EXPECT_NE(r.out.find("lease-expired"), std::string::npos) << r.out;
}

TEST(LeaseExperimentHelpers, DurationsParseAndFormat) {
  using experiments::format_duration_ms;
  using experiments::parse_duration_ms;
  EXPECT_DOUBLE_EQ(parse_duration_ms("1ms", "x"), 1);
  EXPECT_DOUBLE_EQ(parse_duration_ms("2.5s", "x"), 2500);
  EXPECT_DOUBLE_EQ(parse_duration_ms("250us", "x"), 0.25);
  EXPECT_DOUBLE_EQ(parse_duration_ms("40", "x"), 40);
  for (const char* bad : {"", "ms", "-1ms", "1h", "2 s", "5000s"})
    EXPECT_THROW(parse_duration_ms(bad, "--gaps"), ConfigError) << bad;
  EXPECT_EQ(format_duration_ms(1), "1 ms");
  EXPECT_EQ(format_duration_ms(10000), "10 s");
  EXPECT_EQ(format_duration_ms(0.5), "500 us");
}

TEST(LeaseExperimentHelpers, BadOptionsAreRefused) {
  auto r = ltest::run_cli({"experiment", "idle-time", "--manager", "http://127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
  r = ltest::run_cli({"experiment", "idle-time", "--manager", "http://127.0.0.1:1", "--out",
                      "/tmp/x", "--gaps", "1ms,soon"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("soon"), std::string::npos) << r.err;
  r = ltest::run_cli({"experiment", "cold-start", "--out", "/tmp/x", "--repetitions", "0"},
                     {"HPCLESS_MANAGER=http://127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace hpcless
