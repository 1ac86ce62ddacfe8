// Figures, not a test: every compute benchmark at size small on a fresh standalone executor (one
// worker), N invocations over one warm connection, each validated; prints cold (the worker's
// first run of the function) and warm p50 of the function time with its phase breakdown and the
// headline figure. Disabled by default (it takes about a minute and its numbers depend on the
// machine's load); run it with
//   integration_bench_compute_tests --gtest_also_run_disabled_tests --gtest_filter='*Figures*'
// Set HPCLESS_FIGURES_REPS (default 5) and HPCLESS_FIGURES_SIZE (default small).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tests/bench_compute/bench_harness.hpp"

namespace hpcless::benchtest {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

double p50(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

double ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

TEST(BenchComputeFigures, DISABLED_EveryComputeBenchmark) {
  const int reps =
      std::getenv("HPCLESS_FIGURES_REPS") ? std::atoi(std::getenv("HPCLESS_FIGURES_REPS")) : 5;
  const bench::SizeClass size = bench::parse_size_class(
      std::getenv("HPCLESS_FIGURES_SIZE") ? std::getenv("HPCLESS_FIGURES_SIZE") : "small");
  ASSERT_GE(reps, 2);
  Storage st;
  std::printf("\n%-22s %4s %9s %9s | warm p50 (ms): %9s %9s %9s %9s | %s\n", "benchmark", "ok",
              "cold ms", "warm p50", "download", "compute", "upload", "generate",
              "figure (warm p50)");
  for (const char* name :
       {"210.thumbnailer", "311.compression", "501.graph-pagerank", "502.graph-mst",
        "503.graph-bfs", "504.dna-visualisation", "601.matmul", "602.jacobi", "603.stream"}) {
    const auto& s = bench::all_benchmarks().find(name);
    itest::ExecutorOptions o;
    o.package = package_path(s);
    itest::ExecutorProcess exec(o);
    const auto in = s.prepare(size, st.access());
    auto conn = exec.connect(itest::Mode::kWarm);
    const uint32_t fid = conn->function_id(s.function);
    double cold = 0;
    int valid = 0;
    std::vector<double> total, phase[3], generate;
    std::map<std::string, std::vector<double>> figures;  // headline numbers, per key
    for (int i = 0; i < reps; ++i) {
      client::InvocationResult r;
      conn->invoke(fid, std::as_bytes(std::span(in.payload)), r, Deadline::after(170s));
      ASSERT_TRUE(r.ok()) << name << ": " << r.error_message();
      const auto v = s.validate(size, in, r.output, st.access());
      EXPECT_TRUE(v.ok) << v.message;
      valid += v.ok;
      const double t = ms(r.server.end_ns - r.server.start_ns);
      const json out = json::parse(r.output_text());
      const json& m = out["measurement"];
      if (i == 0) {
        EXPECT_TRUE(r.cold) << name << ": the first invocation on a fresh worker is cold";
        cold = t;
        continue;
      }
      EXPECT_FALSE(r.cold);
      total.push_back(t);
      for (int p = 0; p < 3; ++p) phase[p].push_back(ms(r.phases.ns[p]));
      generate.push_back(m.value("generate_us", 0.0) / 1e3);
      for (const char* k : {"gflops", "mlups", "copy_gbs", "scale_gbs", "add_gbs", "triad_gbs",
                            "compression_ratio", "compress_mbps"})
        if (m.contains(k)) figures[k].push_back(m[k].get<double>());
    }
    std::string fig;
    for (const auto& [k, v] : figures) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%s%s %.2f", fig.empty() ? "" : ", ", k.c_str(), p50(v));
      fig += buf;
    }
    std::printf("%-22s %2d/%d %9.2f %9.2f | %24.2f %9.2f %9.2f %9.2f | %s\n", name, valid, reps,
                cold, p50(total), p50(phase[0]), p50(phase[1]), p50(phase[2]), p50(generate),
                fig.c_str());
  }
}

}  // namespace
}  // namespace hpcless::benchtest
