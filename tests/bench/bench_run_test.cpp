// `hpcless bench run` end to end (the CLI against a real executor, redis-server and s3rver): the
// results folder and its files; and the runner's handling of failures (recorded, never dropped).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "comm/base/json.hpp"
#include "experiments/bench/bench_runner.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "tests/bench/bench_fixture.hpp"

namespace hpcless::benchtest {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(BenchCli, RunWritesTheResultsFolder) {
  Services services;
  Executor exec(services.storage_file());
  const std::string out = services.dir() + "/results";
  const auto r = run_to_exit({cli_binary(),
                              "bench",
                              "run",
                              "010.sleep",
                              "110.dynamic-html",
                              "120.uploader",
                              "130.crud-api",
                              "--size",
                              "test",
                              "--repetitions",
                              "3",
                              "--address",
                              exec.address(),
                              "--config",
                              services.storage_file(),
                              "--packages",
                              packages_dir(),
                              "--out",
                              out,
                              "--timeout-ms",
                              "60000"},
                             150s);
  ASSERT_EQ(r.exit_code(), 0) << r.out << r.err;

  for (const char* f : {"invocations.jsonl", "summary.csv", "metadata.json", "phases.gp",
                        "phases.png", "phases.svg"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f << "\n" << r.err;

  const auto records = read_jsonl(out + "/invocations.jsonl");
  ASSERT_EQ(records.size(), 12u);
  std::map<std::string, int> cold, valid;
  for (const auto& j : records) {
    EXPECT_EQ(j["schema"], "hpcless.bench.invocation.v1");
    EXPECT_EQ(j["status"], "ok") << j.dump();
    EXPECT_EQ(j["size_class"], "test");
    const std::string b = j["benchmark"];
    if (j["cold"].get<bool>()) {
      ++cold[b];
      EXPECT_EQ(j["rep"], 0) << "the cold invocation is the first one: " << j.dump();
    }
    if (j["validation"]["ok"].get<bool>()) ++valid[b];
    ASSERT_TRUE(j["phases_ns"].is_object()) << j.dump();
    for (const char* k : {"download", "compute", "upload"})
      EXPECT_TRUE(j["phases_ns"][k].is_number_unsigned()) << j.dump();
    if (b == "120.uploader") {
      EXPECT_GT(j["phases_ns"]["download"].get<uint64_t>(), 0u);
      EXPECT_GT(j["phases_ns"]["upload"].get<uint64_t>(), 0u);
    }
    EXPECT_TRUE(j["latency_us"].is_number());
    EXPECT_TRUE(j["function_us"].is_number());
  }
  for (const char* b : {"010.sleep", "110.dynamic-html", "120.uploader", "130.crud-api"}) {
    EXPECT_EQ(cold[b], 1) << b;
    EXPECT_EQ(valid[b], 3) << b;
  }

  const std::string csv = read_file(out + "/summary.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "benchmark,size,kind,count,failures,invalid,p50_us,p90_us,p99_us,p999_us,mean_us,"
            "min_us,max_us,function_p50_us,download_p50_us,compute_p50_us,upload_p50_us");
  EXPECT_NE(csv.find("120.uploader,test,cold,1,0,0,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("120.uploader,test,warm,2,0,0,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("130.crud-api,test,warm,2,0,0,"), std::string::npos) << csv;

  const std::string meta_text = read_file(out + "/metadata.json");
  const auto meta = nlohmann::json::parse(meta_text);
  EXPECT_EQ(meta["experiment"], "bench");
  EXPECT_EQ(meta["config"]["size_class"], "test");
  EXPECT_EQ(meta["records"], 12);
  EXPECT_TRUE(meta["benchmarks"]["120.uploader"]["package_load_us"].is_number());
  // Secrets never reach the results (s3rver's key and secret are both "S3RVER").
  EXPECT_EQ(meta_text.find("S3RVER"), std::string::npos) << meta_text;
  EXPECT_TRUE(meta["config"]["storage"]["s3"].is_object());

  // A second run into the same folder is refused: results are never overwritten.
  const auto again = run_to_exit({cli_binary(), "bench", "run", "010.sleep", "--address",
                                  exec.address(), "--packages", packages_dir(), "--out", out},
                                 30s);
  EXPECT_EQ(again.exit_code(), 2) << again.err;
  EXPECT_NE(again.err.find("already holds a run"), std::string::npos) << again.err;
}

TEST(BenchRunner, FailuresAreRecordedNeverDropped) {
  Services services;
  Executor exec;  // no storage on the executor: the storage benchmarks fail there
  test::TempDir dir("hpcless-benchfail");
  bench::BenchRunOptions o;
  o.benchmarks = {"120.uploader", "010.sleep"};
  o.size = bench::SizeClass::kTest;
  o.repetitions = 3;
  o.address = exec.address();
  o.storage_config = services.storage_file();
  o.out_dir = dir.path() + "/run";
  o.packages_dir = packages_dir();
  o.timeout = 30s;
  const auto res = bench::run_benchmarks(bench::all_benchmarks(), o, nullptr);
  EXPECT_EQ(res.records, 6u);
  EXPECT_EQ(res.failures, 3u);
  EXPECT_EQ(res.invalid, 0u);
  const auto recs = read_jsonl(o.out_dir.string() + "/invocations.jsonl");
  ASSERT_EQ(recs.size(), 6u);
  for (const auto& j : recs) {
    if (j["benchmark"] == "120.uploader") {
      EXPECT_NE(j["status"].get<std::string>().find("function failed: "), std::string::npos);
      EXPECT_NE(j["status"].get<std::string>().find("no object storage"), std::string::npos);
      EXPECT_TRUE(j["validation"].is_null());
    } else {
      EXPECT_EQ(j["status"], "ok");
    }
  }

  // No packages where they are looked for: every planned invocation is recorded as failed.
  o.out_dir = dir.path() + "/run2";
  o.packages_dir = dir.path() + "/nowhere";
  o.benchmarks = {"010.sleep"};
  const auto res2 = bench::run_benchmarks(bench::all_benchmarks(), o, nullptr);
  EXPECT_EQ(res2.records, 3u);
  EXPECT_EQ(res2.failures, 3u);
  const auto recs2 = read_jsonl(o.out_dir.string() + "/invocations.jsonl");
  ASSERT_EQ(recs2.size(), 3u);
  EXPECT_NE(recs2[0]["status"].get<std::string>().find("package load failed"), std::string::npos)
      << recs2[0].dump();
  const std::string csv = read_file(o.out_dir.string() + "/summary.csv");
  EXPECT_NE(csv.find("010.sleep,test,warm,0,3,0"), std::string::npos) << csv;
}

}  // namespace
}  // namespace hpcless::benchtest
