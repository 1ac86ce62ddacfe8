// The storage and web benchmarks through a real standalone executor, against real redis-server
// and s3rver: each at size `test` with validation, the cold flag and phases at the client, a
// corrupted output caught by validation, and a clear error when the executor has no storage.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "comm/base/json.hpp"
#include "comm/storage/s3_client.hpp"
#include "comm/storage/storage_config.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/storage_session.hpp"
#include "tests/bench/bench_fixture.hpp"

namespace hpcless::benchtest {
namespace {

using namespace std::chrono_literals;
using bench::SizeClass;

constexpr auto kCallTimeout = 60s;

std::span<const std::byte> bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

class BenchFunction : public ::testing::TestWithParam<std::string> {};

TEST_P(BenchFunction, RunsAtSizeTestValidatedWithColdFlagAndPhases) {
  Services services;
  Executor exec(services.storage_file());
  auto session = bench::StorageSession::from_file(services.storage_file());
  const auto& spec = bench::all_benchmarks().find(GetParam());
  const auto input = spec.prepare(SizeClass::kTest, session.access());
  auto loaded = load_benchmark(exec, spec);

  client::InvocationResult r;
  for (int call = 0; call < 3; ++call) {
    loaded.conn->invoke(loaded.function_id, bytes(input.payload), r, Deadline::after(kCallTimeout));
    ASSERT_TRUE(r.ok()) << "call " << call << ": " << r.error_message();
    EXPECT_EQ(r.cold, call == 0) << "call " << call;
    const auto v = spec.validate(SizeClass::kTest, input, r.output, session.access());
    EXPECT_TRUE(v.ok) << "call " << call << ": " << v.message;
    const auto& ph = r.phases;
    const uint64_t function_ns = r.server.end_ns - r.server.start_ns;
    EXPECT_LE(ph.download_ns() + ph.compute_ns() + ph.upload_ns(), function_ns);
    if (spec.name == "010.sleep") {
      EXPECT_GE(ph.compute_ns(), 1'000'000u);  // 1 ms at size test
      EXPECT_EQ(ph.download_ns(), 0u);
    } else if (spec.name == "110.dynamic-html") {
      EXPECT_GT(ph.compute_ns(), 0u);
      EXPECT_EQ(ph.upload_ns(), 0u);
    } else if (spec.name == "120.uploader") {
      EXPECT_GT(ph.download_ns(), 0u);
      EXPECT_GT(ph.upload_ns(), 0u);
    } else if (spec.name == "130.crud-api") {
      EXPECT_GT(ph.download_ns(), 0u);
      EXPECT_GT(ph.compute_ns(), 0u);
      EXPECT_GT(ph.upload_ns(), 0u);
    }
  }
  // A second connection to the same worker process: still warm.
  auto again = load_benchmark(exec, spec);
  again.conn->invoke(again.function_id, bytes(input.payload), r, Deadline::after(kCallTimeout));
  ASSERT_TRUE(r.ok()) << r.error_message();
  EXPECT_FALSE(r.cold);
}

INSTANTIATE_TEST_SUITE_P(StorageAndWeb, BenchFunction,
                         ::testing::Values("010.sleep", "110.dynamic-html", "120.uploader",
                                           "130.crud-api"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(BenchValidation, CorruptedOutputsAreCaught) {
  Services services;
  Executor exec(services.storage_file());
  auto session = bench::StorageSession::from_file(services.storage_file());
  const auto& st = session.access();
  client::InvocationResult r;

  {  // 120.uploader: corrupt the object the function wrote, then validate.
    const auto& spec = bench::all_benchmarks().find("120.uploader");
    const auto input = spec.prepare(SizeClass::kTest, st);
    auto l = load_benchmark(exec, spec);
    l.conn->invoke(l.function_id, bytes(input.payload), r, Deadline::after(kCallTimeout));
    ASSERT_TRUE(r.ok()) << r.error_message();
    const auto out = nlohmann::json::parse(r.output_text());
    const std::string key = out["key"];
    std::string copy = st.s3->get_object("bench", key);
    copy[copy.size() / 2] = static_cast<char>(copy[copy.size() / 2] ^ 0x01);
    st.s3->put_object("bench", key, copy);
    auto v = spec.validate(SizeClass::kTest, input, r.output, st);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.message.find("SHA-256"), std::string::npos) << v.message;
    st.s3->delete_object("bench", key);
    v = spec.validate(SizeClass::kTest, input, r.output, st);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.message.find("missing"), std::string::npos) << v.message;
  }
  {  // 130.crud-api: a wrong cart total in the function's real output.
    const auto& spec = bench::all_benchmarks().find("130.crud-api");
    const auto input = spec.prepare(SizeClass::kTest, st);
    auto l = load_benchmark(exec, spec);
    l.conn->invoke(l.function_id, bytes(input.payload), r, Deadline::after(kCallTimeout));
    ASSERT_TRUE(r.ok()) << r.error_message();
    ASSERT_TRUE(spec.validate(SizeClass::kTest, input, r.output, st).ok);
    auto out = nlohmann::json::parse(r.output_text());
    out["results"].back()["total_cents"] = out["results"].back()["total_cents"].get<int64_t>() + 1;
    const std::string bad = out.dump();
    const auto v = spec.validate(SizeClass::kTest, input, bytes(bad), st);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.message.find("query"), std::string::npos) << v.message;
  }
  {  // 110.dynamic-html: one digit of the real page changed.
    const auto& spec = bench::all_benchmarks().find("110.dynamic-html");
    const auto input = spec.prepare(SizeClass::kTest, st);
    auto l = load_benchmark(exec, spec);
    l.conn->invoke(l.function_id, bytes(input.payload), r, Deadline::after(kCallTimeout));
    ASSERT_TRUE(r.ok()) << r.error_message();
    ASSERT_TRUE(spec.validate(SizeClass::kTest, input, r.output, st).ok);
    std::string page(r.output_text());
    const size_t li = page.find("<li>") + 4;
    page[li] = page[li] == '1' ? '2' : '1';
    EXPECT_FALSE(spec.validate(SizeClass::kTest, input, bytes(page), st).ok);
  }
}

TEST(BenchStorage, UnconfiguredStorageIsAClearFunctionError) {
  Services services;  // the client has storage (so inputs can be prepared) ...
  Executor exec;      // ... but the executor has none
  auto session = bench::StorageSession::from_file(services.storage_file());
  client::InvocationResult r;
  for (const auto& [name, expect] :
       {std::pair<std::string, std::string>{"120.uploader", "no object storage (S3) is configured"},
        std::pair<std::string, std::string>{"130.crud-api",
                                            "no key-value storage (Redis) is configured"}}) {
    const auto& spec = bench::all_benchmarks().find(name);
    const auto input = spec.prepare(SizeClass::kTest, session.access());
    auto l = load_benchmark(exec, spec);
    l.conn->invoke(l.function_id, bytes(input.payload), r, Deadline::after(kCallTimeout));
    EXPECT_EQ(r.status, protocol::Status::kFunctionFailed) << name;
    EXPECT_NE(r.output_text().find(expect), std::string::npos) << r.output_text();
    EXPECT_NE(r.output_text().find("HPCLESS_STORAGE_CONFIG"), std::string::npos) << r.output_text();
    // The failed invocation still says whether it was the function's first run.
    EXPECT_TRUE(r.cold) << name;
  }
  // The connection and the worker stay usable.
  const auto& sleep = bench::all_benchmarks().find("010.sleep");
  auto l = load_benchmark(exec, sleep);
  const auto in = sleep.prepare(SizeClass::kTest, {});
  l.conn->invoke(l.function_id, bytes(in.payload), r, Deadline::after(kCallTimeout));
  EXPECT_TRUE(r.ok()) << r.error_message();
}

TEST(BenchStorage, ABadStorageSectionStopsTheExecutorAtStartUp) {
  test::TempDir dir("hpcless-benchcfg");
  const std::string cfg = dir.path() + "/bad.json";
  {
    std::ofstream out(cfg);
    out << R"({"storage": {"s3": {"endpoint": "http://127.0.0.1:1", "bukket": "x"}}})";
  }
  const auto r = run_to_exit({executor_binary(), "--standalone", "--listen", "127.0.0.1:0",
                              "--package", core_package(), "--config", cfg},
                             20s);
  EXPECT_EQ(r.exit_code(), 2) << r.err;
  EXPECT_NE(r.err.find("bukket"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hpcless::benchtest
