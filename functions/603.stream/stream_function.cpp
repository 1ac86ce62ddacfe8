// 603.stream: STREAM Copy/Scale/Add/Triad memory bandwidth on one core (stream_common.hpp).
//
// Input (JSON): {"n": 8388608, "ntimes": 10, "scalar": 3.0, "seed": 42}
// Output (JSON): {"benchmark": "603.stream",
//                 "result": {"n", "ntimes", "scalar", "seed", "sum_a", "sum_b", "sum_c",
//                            "samples": [{"i","a","b","c"}],
//                            "kernels": {"copy"|"scale"|"add"|"triad":
//                                        {"best_gbs","min_us","avg_us","max_us"}}},
//                 "measurement": {"download_us", "compute_us", "upload_us", "download_bytes",
//                                 "upload_bytes", "generate_us", "gbs" (best Triad),
//                                 "copy_gbs", "scale_gbs", "add_gbs", "triad_gbs"}}
// As in STREAM, the rates use the best time of iterations 2..ntimes (the first one warms up).
#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "functions/603.stream/stream_common.hpp"
#include "functions/abi/hpcless_function.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;
using hpcless::fn::Phase;
using nlohmann::json;
namespace st = hpcless::bench::stream;

st::Params parse_input(std::span<const std::byte> in) {
  const auto* p = reinterpret_cast<const char*>(in.data());
  const json j = json::parse(p, p + in.size(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw std::invalid_argument("603.stream: input is not valid JSON");
  if (!j.is_object()) throw std::invalid_argument("603.stream: input must be a JSON object");
  st::Params params;
  const auto n = j.find("n");
  if (n == j.end() || !n->is_number_unsigned() || n->get<uint64_t>() < 1 ||
      n->get<uint64_t>() > st::kMaxN)
    throw std::invalid_argument(
        "603.stream: \"n\" (elements per array) must be an integer in [1, " +
        std::to_string(st::kMaxN) + "]");
  params.n = n->get<uint64_t>();
  if (const auto t = j.find("ntimes"); t != j.end()) {
    if (!t->is_number_integer() || t->get<int64_t>() < 2 || t->get<int64_t>() > st::kMaxTimes)
      throw std::invalid_argument("603.stream: \"ntimes\" must be an integer in [2, " +
                                  std::to_string(st::kMaxTimes) + "]");
    params.ntimes = t->get<int>();
  }
  if (const auto s = j.find("scalar"); s != j.end()) {
    if (!s->is_number()) throw std::invalid_argument("603.stream: \"scalar\" must be a number");
    params.scalar = s->get<double>();
  }
  if (const auto s = j.find("seed"); s != j.end()) {
    if (!s->is_number_unsigned()) throw std::invalid_argument("603.stream: \"seed\" must be >= 0");
    params.seed = s->get<uint64_t>();
  }
  return params;
}

// Keeps the compiler from moving or dropping the kernels' stores around the timer calls.
inline void clobber(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

struct KernelTimes {
  double min_ns = std::numeric_limits<double>::infinity();
  double max_ns = 0;
  double sum_ns = 0;
  int count = 0;
  void add(uint64_t ns) {
    const auto t = static_cast<double>(ns);
    min_ns = std::min(min_ns, t);
    max_ns = std::max(max_ns, t);
    sum_ns += t;
    ++count;
  }
  double best_gbs(double bytes) const { return min_ns > 0 ? bytes / min_ns : 0.0; }  // B/ns = GB/s
  json to_json(double bytes) const {
    return {{"best_gbs", best_gbs(bytes)},
            {"min_us", min_ns / 1e3},
            {"avg_us", count ? sum_ns / count / 1e3 : 0.0},
            {"max_us", max_ns / 1e3}};
  }
};

double us(uint64_t ns) { return static_cast<double>(ns) / 1e3; }

int stream(Context& ctx, std::span<const std::byte> in, Output& out) {
  const st::Params p = parse_input(in);
  const size_t n = p.n;
  const double s = p.scalar;

  const uint64_t g0 = ctx.now_ns();
  std::vector<double> va(n), vb(n), vc(n);
  double* __restrict a = va.data();
  double* __restrict b = vb.data();
  double* __restrict c = vc.data();
  for (size_t i = 0; i < n; ++i) {
    a[i] = st::initial_a(p, i);
    b[i] = st::kInitialB;
    c[i] = st::kInitialC;
  }
  const uint64_t g1 = ctx.now_ns();

  KernelTimes copy, scale, add, triad;
  {
    Phase phase(ctx, HPCLESS_PHASE_COMPUTE);
    for (int k = 0; k < p.ntimes; ++k) {
      uint64_t t = ctx.now_ns();
      for (size_t i = 0; i < n; ++i) c[i] = a[i];
      clobber(c);
      uint64_t t2 = ctx.now_ns();
      if (k > 0) copy.add(t2 - t);

      t = t2;
      for (size_t i = 0; i < n; ++i) b[i] = s * c[i];
      clobber(b);
      t2 = ctx.now_ns();
      if (k > 0) scale.add(t2 - t);

      t = t2;
      for (size_t i = 0; i < n; ++i) c[i] = a[i] + b[i];
      clobber(c);
      t2 = ctx.now_ns();
      if (k > 0) add.add(t2 - t);

      t = t2;
      for (size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
      clobber(a);
      t2 = ctx.now_ns();
      if (k > 0) triad.add(t2 - t);
    }
  }
  const uint64_t g2 = ctx.now_ns();

  double sa = 0, sb = 0, sc = 0;
  for (size_t i = 0; i < n; ++i) {
    sa += a[i];
    sb += b[i];
    sc += c[i];
  }
  json samples = json::array();
  for (uint64_t i : st::sample_indices(p))
    samples.push_back({{"i", i}, {"a", a[i]}, {"b", b[i]}, {"c", c[i]}});

  const double nd = static_cast<double>(n);
  const json result = {{"benchmark", "603.stream"},
                       {"result",
                        {{"n", p.n},
                         {"ntimes", p.ntimes},
                         {"scalar", p.scalar},
                         {"seed", p.seed},
                         {"sum_a", sa},
                         {"sum_b", sb},
                         {"sum_c", sc},
                         {"samples", samples},
                         {"kernels",
                          {{"copy", copy.to_json(st::kCopyBytes * nd)},
                           {"scale", scale.to_json(st::kScaleBytes * nd)},
                           {"add", add.to_json(st::kAddBytes * nd)},
                           {"triad", triad.to_json(st::kTriadBytes * nd)}}}}},
                       {"measurement",
                        {{"download_us", 0.0},
                         {"compute_us", us(g2 - g1)},
                         {"upload_us", 0.0},
                         {"download_bytes", 0},
                         {"upload_bytes", 0},
                         {"generate_us", us(g1 - g0)},
                         {"gbs", triad.best_gbs(st::kTriadBytes * nd)},
                         {"copy_gbs", copy.best_gbs(st::kCopyBytes * nd)},
                         {"scale_gbs", scale.best_gbs(st::kScaleBytes * nd)},
                         {"add_gbs", add.best_gbs(st::kAddBytes * nd)},
                         {"triad_gbs", triad.best_gbs(st::kTriadBytes * nd)}}}};
  return out.append(result.dump()) ? 0 : ctx.fail("603.stream: output exceeds the payload limit");
}

}  // namespace

HPCLESS_PACKAGE("hpcless-bench-603-stream", HPCLESS_FUNCTION(stream))
