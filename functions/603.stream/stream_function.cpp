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
#include <stdexcept>
#include <string>
#include <vector>

#include "comm/base/json.hpp"
#include "functions/603.stream/stream_common.hpp"
#include "functions/abi/hpcless_function.hpp"
#include "functions/common/package_io.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;
using hpcless::fn::Phase;
using nlohmann::json;
namespace io = hpcless::bench::package_io;
namespace st = hpcless::bench::stream;

st::Params parse_input(std::span<const std::byte> in) {
  const json j = io::parse_input_object(in, "603.stream");
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
  io::read_seed(j, "603.stream", params.seed);
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
  const json result = {{"n", p.n},
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
                         {"triad", triad.to_json(st::kTriadBytes * nd)}}}};
  json measurement = io::generated_input_measurement(g0, g1, g2);
  measurement["gbs"] = triad.best_gbs(st::kTriadBytes * nd);
  measurement["copy_gbs"] = copy.best_gbs(st::kCopyBytes * nd);
  measurement["scale_gbs"] = scale.best_gbs(st::kScaleBytes * nd);
  measurement["add_gbs"] = add.best_gbs(st::kAddBytes * nd);
  measurement["triad_gbs"] = triad.best_gbs(st::kTriadBytes * nd);
  return io::append_output(ctx, out, "603.stream", result, measurement);
}

}  // namespace

HPCLESS_PACKAGE("hpcless-bench-603-stream", HPCLESS_FUNCTION(stream))
