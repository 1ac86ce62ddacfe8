// The compute-only benchmarks (501, 502, 503, 601, 602, 603) through a real standalone executor:
// size `test` for each (output validated, phases reported, same measurement keys, a corrupted copy
// of the output rejected by the validator, malformed inputs answered with a clear failure), size
// `small` for matmul, stream and pagerank, and the igraph lock across packages.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <thread>

#include "functions/abi/hpcless_function.h"
#include "tests/bench_compute/bench_harness.hpp"

namespace hpcless::benchtest {
namespace {

using bench::SizeClass;
using nlohmann::json;
using namespace std::chrono_literals;

// One corruption per benchmark: a plausible-looking output with one wrong number.
using Corruption = std::function<void(json&)>;
const std::map<std::string, std::vector<Corruption>>& corruptions() {
  static const std::map<std::string, std::vector<Corruption>> m = {
      {"501.graph-pagerank",
       {[](json& o) { o["result"]["first"][3] = o["result"]["first"][3].get<double>() * 1.01; },
        [](json& o) { o["result"]["sum"] = 0.98; },
        [](json& o) { o["result"]["projection"] = o["result"]["projection"].get<double>() + 1e-4; },
        [](json& o) { o["result"]["eigenvalue"] = "one"; }}},
      {"502.graph-mst",
       {[](json& o) {
          o["result"]["total_weight"] = o["result"]["total_weight"].get<double>() + 0.01;
        },
        [](json& o) { o["result"]["tree_edges"] = o["result"]["tree_edges"].get<int64_t>() - 1; },
        [](json& o) { o["result"]["digest"] = "0000000000000000"; }}},
      {"503.graph-bfs",
       {[](json& o) {
          // Vertex 5's parent becomes itself: not one layer closer to the root.
          o["result"]["parents"][5] = 5;
        },
        [](json& o) { o["result"]["visited"] = o["result"]["visited"].get<int64_t>() - 1; },
        [](json& o) { o["result"]["parents"][7] = 1000000; },
        [](json& o) { o["result"]["parents"][2] = "one"; }}},
      {"601.matmul",
       {[](json& o) { o["result"]["checksum"] = o["result"]["checksum"].get<double>() + 1e-3; },
        [](json& o) {
          auto& v = o["result"]["samples"][4]["value"];
          v = v.get<double>() * (1 + 1e-6);
        },
        [](json& o) { o["result"]["samples"][0]["i"] = "zero"; }}},
      {"602.jacobi",
       {[](json& o) {
          o["result"]["checksum"] = o["result"]["checksum"].get<double>() * (1 + 1e-9);
        },
        [](json& o) {
          auto& v = o["result"]["samples"][2]["value"];
          v = v.get<double>() + 1e-9;
        },
        [](json& o) { o["result"]["samples"][1]["j"] = nullptr; }}},
      {"603.stream",
       {[](json& o) { o["result"]["sum_a"] = o["result"]["sum_a"].get<double>() * (1 + 1e-9); },
        [](json& o) {
          auto& v = o["result"]["samples"][3]["c"];
          v = v.get<double>() * (1 + 1e-12);
        },
        [](json& o) { o["result"]["samples"][0]["a"] = json::array(); }}},
  };
  return m;
}

class ComputeAtTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ComputeAtTest, ValidOutputPhasesAndSchemaAndCorruptionsCaught) {
  const auto& s = spec(GetParam());
  itest::ExecutorProcess exec(options_for(s));
  const Outcome o = run(exec, s, SizeClass::kTest, bench::StorageAccess{});
  ASSERT_TRUE(o.result.ok()) << o.result.error_message();
  EXPECT_TRUE(o.validation.ok) << o.validation.message;
  ASSERT_TRUE(has_measurement_schema(o.output));
  EXPECT_EQ(o.output["benchmark"], s.name);
  // The compute phase is timed by the executor (and reported in the reply), nothing else is.
  EXPECT_GT(o.result.phases.ns[HPCLESS_PHASE_COMPUTE], 0u);
  EXPECT_EQ(o.result.phases.ns[HPCLESS_PHASE_DOWNLOAD], 0u);
  EXPECT_EQ(o.result.phases.ns[HPCLESS_PHASE_UPLOAD], 0u);
  EXPECT_GT(o.output["measurement"]["compute_us"].get<double>(), 0.0);

  const auto& list = corruptions().at(s.name);
  for (size_t i = 0; i < list.size(); ++i) {
    json bad = o.output;
    list[i](bad);
    const auto v = validate(s, SizeClass::kTest, o.input, bad.dump(), {});
    EXPECT_FALSE(v.ok) << s.name << ": corruption " << i << " was accepted";
    EXPECT_NE(v.message.find(s.name), std::string::npos) << v.message;
  }
  // The unmodified output still passes (the corruptions worked on copies).
  EXPECT_TRUE(validate(s, SizeClass::kTest, o.input, o.output.dump(), {}).ok);
}

TEST_P(ComputeAtTest, MalformedInputsFailWithAClearMessage) {
  const auto& s = spec(GetParam());
  itest::ExecutorProcess exec(options_for(s));
  for (std::string_view bad :
       {std::string_view("not json"), std::string_view("{}"), std::string_view("[1]"),
        std::string_view("{\"n\": -5, \"size\": -5}"),
        std::string_view("{\"n\": 1e12, \"size\": 1e12}")}) {
    const auto r = invoke_raw(exec, s, bad);
    EXPECT_EQ(r.status, protocol::Status::kFunctionFailed) << s.name << " on '" << bad << "'";
    EXPECT_NE(r.error_message().find(s.name.substr(0, 3)), std::string::npos)
        << s.name << " on '" << bad << "': " << r.error_message();
  }
  // Still serving after the failures.
  EXPECT_TRUE(run(exec, s, SizeClass::kTest, {}).validation.ok);
}

INSTANTIATE_TEST_SUITE_P(BenchCompute, ComputeAtTest,
                         ::testing::Values("501.graph-pagerank", "502.graph-mst", "503.graph-bfs",
                                           "601.matmul", "602.jacobi", "603.stream"),
                         [](const auto& info) {
                           std::string n = std::string(info.param).substr(4);
                           for (char& c : n)
                             if (c == '-' || c == '.') c = '_';
                           return n;
                         });

// Size small for the quick ones: validated, and the headline figure is plausible.
class ComputeAtSmall : public ::testing::TestWithParam<const char*> {};

TEST_P(ComputeAtSmall, ValidOutput) {
  const auto& s = spec(GetParam());
  itest::ExecutorProcess exec(options_for(s));
  const Outcome o = run(exec, s, SizeClass::kSmall, {}, 150s);
  ASSERT_TRUE(o.result.ok()) << o.result.error_message();
  EXPECT_TRUE(o.validation.ok) << o.validation.message;
  ASSERT_TRUE(has_measurement_schema(o.output));
  const json& m = o.output["measurement"];
  std::printf("[ figures  ] %s small: compute %.1f ms", s.name.c_str(),
              m["compute_us"].get<double>() / 1e3);
  if (m.contains("gflops")) std::printf(", %.2f GFLOP/s", m["gflops"].get<double>());
  if (m.contains("gbs")) std::printf(", triad %.2f GB/s", m["gbs"].get<double>());
  std::printf("\n");
  if (m.contains("gflops")) {
    EXPECT_GT(m["gflops"].get<double>(), 0.01);
  }
  if (m.contains("gbs")) {
    EXPECT_GT(m["gbs"].get<double>(), 0.01);
  }
}

INSTANTIATE_TEST_SUITE_P(BenchCompute, ComputeAtSmall,
                         ::testing::Values("501.graph-pagerank", "601.matmul", "603.stream"),
                         [](const auto& info) {
                           std::string n = std::string(info.param).substr(4);
                           for (char& c : n)
                             if (c == '-' || c == '.') c = '_';
                           return n;
                         });

std::vector<std::byte> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(c.size());
  std::memcpy(b.data(), c.data(), c.size());
  return b;
}

// igraph is not thread-safe; the graph packages share one process-wide lock even when several of
// them are loaded into one worker process. Two worker threads run PageRank (the executor's
// package) and BFS (shipped over the connection) at the same time, repeatedly, on 10,000-vertex
// graphs: every result must validate and the worker must not crash.
TEST(BenchComputeGraphLock, TwoGraphPackagesInOneWorkerRunConcurrently) {
  const auto& pr = spec("501.graph-pagerank");
  const auto& bfs = spec("503.graph-bfs");
  itest::ExecutorProcess exec(options_for(pr, /*workers=*/2));
  const auto pr_in = pr.prepare(SizeClass::kSmall, {});
  const auto bfs_in = bfs.prepare(SizeClass::kSmall, {});
  const auto bfs_package = read_bytes(package_path(bfs));
  ASSERT_FALSE(bfs_package.empty());
  constexpr int kRounds = 4;
  std::atomic<int> valid{0};
  std::string failure;
  std::mutex failure_mu;
  auto worker = [&](const bench::BenchmarkSpec& s, const bench::PreparedInput& in, bool ship) {
    try {
      auto conn = exec.connect(itest::Mode::kWarm);
      if (ship) conn->load_package(bfs_package, Deadline::after(30s));
      const uint32_t fid = conn->function_id(s.function);
      for (int i = 0; i < kRounds; ++i) {
        client::InvocationResult r;
        conn->invoke(fid, std::as_bytes(std::span(in.payload)), r, Deadline::after(120s));
        const auto v = r.ok() ? s.validate(SizeClass::kSmall, in, r.output, {})
                              : bench::Validation{false, r.error_message()};
        if (v.ok) {
          ++valid;
        } else {
          std::lock_guard<std::mutex> lk(failure_mu);
          failure = s.name + ": " + v.message;
        }
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lk(failure_mu);
      failure = s.name + ": " + e.what();
    }
  };
  std::thread a(worker, std::cref(pr), std::cref(pr_in), false);
  std::thread b(worker, std::cref(bfs), std::cref(bfs_in), true);
  a.join();
  b.join();
  EXPECT_EQ(valid.load(), 2 * kRounds) << failure;
  EXPECT_TRUE(failure.empty()) << failure;
}

}  // namespace
}  // namespace hpcless::benchtest
