#include "experiments/common/results.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "comm/base/error.hpp"
#include "experiments/common/plot.hpp"

namespace hpcless::experiments {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ResultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           ("hpcless-results-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::vector<std::string> lines_of(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  fs::path dir_;
};

InvocationRecord hpcless_record() {
  InvocationRecord r;
  r.system = "hpcless";
  r.mode = "hot";
  r.function = "echo";
  r.payload_bytes = 64;
  r.output_bytes = 64;
  r.rep = 3;
  r.client_send_ns = 1'000'000;
  r.client_recv_ns = 1'012'500;
  r.server = protocol::ServerTimestamps{1'004'000, 1'004'100, 1'004'300, 1'004'400};
  r.worker = 0;
  r.node = "node-a";
  return r;
}

TEST_F(ResultsTest, SummaryCsvHeaderIsExactAndRowsFormat) {
  ResultsWriter w(dir_);
  SummaryRow row;
  row.system = "hpcless";
  row.mode = "hot";
  row.payload_bytes = 64;
  row.stats = summarize(std::vector<double>{10, 20, 30, 40});
  row.failures = 1;
  SummaryRow empty;
  empty.system = "raw-tcp";
  empty.mode = "warm";
  empty.payload_bytes = 1024;
  empty.failures = 5;
  const std::vector<SummaryRow> rows{row, empty};
  w.write_summary(rows);

  const auto lines = lines_of(dir_ / "summary.csv");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            "system,transport,mode,payload_bytes,count,p50_us,p90_us,p99_us,p999_us,mean_us,"
            "min_us,max_us,failures");
  EXPECT_EQ(lines[1], "hpcless,tcp,hot,64,4,20.000,40.000,40.000,40.000,25.000,10.000,40.000,1");
  EXPECT_EQ(lines[2], "raw-tcp,tcp,warm,1024,0,,,,,,,,5");
}

TEST_F(ResultsTest, JsonlLinesParseAndCarryTheSchema) {
  {
    ResultsWriter w(dir_);
    w.append(hpcless_record());
    InvocationRecord raw;
    raw.system = "raw-tcp";
    raw.mode = "warm";
    raw.function = "echo";
    raw.payload_bytes = 1;
    raw.client_send_ns = 5'000;
    raw.client_recv_ns = 0;  // failed before the reply
    raw.status = "raw-tcp server closed the connection";
    w.append(raw);
    w.flush();
    EXPECT_EQ(w.records_written(), 2u);
  }
  const auto lines = lines_of(dir_ / "invocations.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& line : lines) {
    const json j = json::parse(line);  // throws (fails the test) on bad JSON
    EXPECT_EQ(j.at("schema"), "hpcless.invocation.v1");
    for (const char* key :
         {"system", "transport", "mode", "payload_bytes", "rep", "client_send_ns", "client_recv_ns",
          "server_recv_ns", "server_start_ns", "server_end_ns", "server_send_ns", "latency_us",
          "status", "cold", "worker", "node", "function"})
      EXPECT_TRUE(j.contains(key)) << key;
  }
  const json a = json::parse(lines[0]);
  EXPECT_EQ(a["system"], "hpcless");
  EXPECT_EQ(a["transport"], "tcp");
  EXPECT_EQ(a["status"], "ok");
  EXPECT_EQ(a["cold"], false);
  EXPECT_EQ(a["server_recv_ns"], 1'004'000u);
  EXPECT_EQ(a["server_send_ns"], 1'004'400u);
  EXPECT_DOUBLE_EQ(a["latency_us"].get<double>(), 12.5);
  EXPECT_EQ(a["worker"], 0);
  const json b = json::parse(lines[1]);
  EXPECT_TRUE(b["server_send_ns"].is_null());
  EXPECT_TRUE(b["worker"].is_null());
  EXPECT_TRUE(b["latency_us"].is_null());
  EXPECT_EQ(b["status"], "raw-tcp server closed the connection");
}

TEST_F(ResultsTest, MetadataHasGitRevisionConfigAndClockOffset) {
  ResultsWriter w(dir_);
  ClockOffsetEstimator clock;
  const auto r = hpcless_record();
  clock.add(r.client_send_ns, *r.server, r.client_recv_ns);
  // ((1'004'000 - 1'000'000) + (1'004'400 - 1'012'500)) / 2 = (4000 - 8100) / 2
  ASSERT_TRUE(clock.median_ns().has_value());
  EXPECT_DOUBLE_EQ(*clock.median_ns(), -2050.0);

  const json config = {{"repetitions", 5}, {"address", "127.0.0.1:7000"}};
  const auto t0 = std::chrono::system_clock::now();
  w.write_metadata(make_metadata("invocation-overhead", config, t0, t0, clock));

  std::ifstream in(dir_ / "metadata.json");
  const json m = json::parse(in);
  EXPECT_EQ(m["experiment"], "invocation-overhead");
  EXPECT_EQ(m["git_revision"], HPCLESS_GIT_REVISION);
  EXPECT_EQ(m["build"]["git_revision"], HPCLESS_GIT_REVISION);
  EXPECT_FALSE(m["git_revision"].get<std::string>().empty());
  EXPECT_EQ(m["config"], config);
  EXPECT_EQ(m["clock_offset"]["note"], "same host, CLOCK_MONOTONIC");
  EXPECT_EQ(m["clock_offset"]["samples"], 1);
  for (const char* key : {"hostname", "kernel", "cpu_model", "cores_online"})
    EXPECT_TRUE(m["host"].contains(key)) << key;
  for (const char* key : {"compiler", "build_type", "hpcless_version"})
    EXPECT_TRUE(m["build"].contains(key)) << key;
  EXPECT_EQ(m["start_utc"].get<std::string>().back(), 'Z');
}

TEST_F(ResultsTest, ClockOffsetIsTheMedian) {
  ClockOffsetEstimator c;
  EXPECT_FALSE(c.median_ns().has_value());
  // Offsets 0, 100 and 1000 ns: the median ignores the outlier.
  c.add(1000, {1500, 0, 0, 1600}, 2100);  // (500 + -500)/2 = 0
  c.add(1000, {1600, 0, 0, 1700}, 2100);  // (600 + -400)/2 = 100
  c.add(1000, {3500, 0, 0, 3600}, 2100);  // (2500 + 1500)/2 = 2000
  EXPECT_DOUBLE_EQ(*c.median_ns(), 100);
  c.add(1000, {1700, 0, 0, 1800}, 2100);  // (700 + -300)/2 = 200 -> median of 4 = 150
  EXPECT_DOUBLE_EQ(*c.median_ns(), 150);
}

TEST_F(ResultsTest, RefusesToOverwriteARun) {
  { ResultsWriter w(dir_); }
  EXPECT_THROW(ResultsWriter again(dir_), ConfigError);
}

// A summary row with two samples, the common start of the plot tests.
SummaryRow hot_row(const char* system, size_t payload_bytes) {
  SummaryRow r;
  r.system = system;
  r.mode = "hot";
  r.payload_bytes = payload_bytes;
  r.stats = summarize(std::vector<double>{10, 11});
  return r;
}

TEST(PlotScript, HasP50AndDashedP99PerSeries) {
  const SummaryRow a = hot_row("hpcless", 64);
  SummaryRow b = a;
  b.system = "raw-tcp";
  b.mode = "warm";
  b.payload_bytes = 1 << 20;
  const std::vector<SummaryRow> rows{a, b};
  const std::string s = latency_gnuplot_script(rows);
  EXPECT_NE(s.find("set logscale xy"), std::string::npos);
  EXPECT_NE(s.find("title 'hpcless hot p50'"), std::string::npos);
  EXPECT_NE(s.find("title 'raw-tcp warm p99'"), std::string::npos);
  EXPECT_NE(s.find("dt 2"), std::string::npos);
  EXPECT_NE(s.find("'1M' 1048576"), std::string::npos);
  EXPECT_EQ(s.find("raw-tcp hot"), std::string::npos);  // absent series are left out
}

TEST(PlotScript, GrpcSeriesHaveTheirOwnColourAndTitle) {
  const SummaryRow a = hot_row("hpcless", 64);
  SummaryRow g = a;
  g.system = "grpc";
  SummaryRow gw = g;
  gw.mode = "warm";
  const std::vector<SummaryRow> rows{a, g, gw};
  const std::string s = latency_gnuplot_script(rows);
  EXPECT_NE(s.find("$grpc_hot << EOD"), std::string::npos);
  EXPECT_NE(s.find("title 'grpc hot p50'"), std::string::npos);
  EXPECT_NE(s.find("title 'grpc warm p99'"), std::string::npos);
  EXPECT_NE(s.find("#9467bd"), std::string::npos);
  EXPECT_NE(s.find("hpcless vs gRPC (p50 solid"), std::string::npos);  // no raw-tcp rows
}

// run.sh passes a relative results folder; gnuplot runs inside it. gnuplot is installed by
// scripts/install-deps.sh, so its absence is a failure here.
TEST(PlotRun, WritesPngIntoARelativeFolder) {
  const SummaryRow a = hot_row("hpcless", 64);
  SummaryRow b = a;
  b.payload_bytes = 4096;
  const std::vector<SummaryRow> rows{a, b};
  const std::filesystem::path rel = "plot-run-test-" + std::to_string(::getpid());
  std::filesystem::remove_all(rel);
  std::filesystem::create_directories(rel);
  const PlotResult r = plot_latency(rel, rows, std::chrono::seconds(60));
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_GT(std::filesystem::file_size(rel / "latency.png"), 1000u);
  std::filesystem::remove_all(rel);
}

}  // namespace
}  // namespace hpcless::experiments
