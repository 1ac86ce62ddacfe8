// 603.stream, client side: input per size class and validation of the function's output.
//
// Checks: sampled elements equal an exact replay of their operations; the last Triad holds
// (a == b + s*c) on every sample exactly and on the sums within rounding; the sums match
// factor * sum(initial a), where each array is the initial a scaled by a constant factor up to
// rounding (the factors come from replaying a = 1).
#include <cmath>
#include <optional>
#include <string>

#include "comm/base/json.hpp"
#include "functions/603.stream/stream_common.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/result_checks.hpp"

namespace hpcless::bench {

namespace {

using nlohmann::json;

stream::Params params_for(SizeClass s) {
  stream::Params p;
  p.seed = 42;
  p.ntimes = 10;
  p.scalar = 3.0;
  // test: 3 x 32 KiB, in cache, not a bandwidth; small: 3 x 64 MiB, 2x the 32 MiB L3 per array;
  // large: 3 x 256 MiB, STREAM's 4x-cache rule.
  p.n = by_size_class<uint64_t>(s, 4096, 8u << 20, 32u << 20);
  return p;
}

Validation fail(std::string why) { return {false, "603.stream: " + std::move(why)}; }

// Each element's chain of 4 * ntimes roundings moves it by at most ~1e-14 relative from the
// factor model; sums add n-fold summation error. 1e-11 keeps a wide margin.
constexpr double kSumTolerance = 1e-11;

// Samples are replayed operation by operation: they match to the last bit unless one side fuses
// b + s*c into an FMA (a build with -march=native); allow a few ulps for that.
bool same(double got, double want) { return std::fabs(got - want) <= 1e-15 * std::fabs(want); }

PreparedInput prepare(SizeClass s, const StorageAccess&) {
  const stream::Params p = params_for(s);
  PreparedInput in;
  in.payload =
      json{{"n", p.n}, {"ntimes", p.ntimes}, {"scalar", p.scalar}, {"seed", p.seed}}.dump();
  double sum_a0 = 0;
  for (uint64_t i = 0; i < p.n; ++i) sum_a0 += stream::initial_a(p, i);
  // Factors: replay an element whose initial a is 1.
  stream::Element f{1.0, stream::kInitialB, stream::kInitialC};
  for (int k = 0; k < p.ntimes; ++k) {
    f.c = f.a;
    f.b = p.scalar * f.c;
    f.c = f.a + f.b;
    f.a = f.b + p.scalar * f.c;
  }
  json samples = json::array();
  for (uint64_t i : stream::sample_indices(p)) {
    const auto e = stream::replay(p, i);
    samples.push_back({{"i", i}, {"a", e.a}, {"b", e.b}, {"c", e.c}});
  }
  in.expected = json{
      {"n", p.n},
      {"ntimes", p.ntimes},
      {"scalar", p.scalar},
      {"sum_a", f.a * sum_a0},
      {"sum_b", f.b * sum_a0},
      {"sum_c", f.c * sum_a0},
      {"samples",
       samples}}.dump();
  return in;
}

Validation validate(SizeClass, const PreparedInput& in, std::span<const std::byte> output,
                    const StorageAccess&) {
  const json exp = json::parse(in.expected);
  const std::optional<json> result = result_object(output);
  if (!result) return fail("output is not a JSON object with a \"result\"");
  const json& r = *result;
  if (auto why = first_mismatch(r, exp, {"n", "ntimes"}); !why.empty()) return fail(why);
  const double s = exp["scalar"].get<double>();
  for (const char* k : {"sum_a", "sum_b", "sum_c"}) {
    if (!r.contains(k) || !r[k].is_number()) return fail(std::string("result.") + k + " missing");
    const double got = r[k].get<double>(), want = exp[k].get<double>();
    if (!(std::fabs(got - want) <= kSumTolerance * std::fabs(want)))
      return fail(std::string(k) + " = " + json_number(got) + ", reference " + json_number(want));
  }
  const double sa = r["sum_a"].get<double>(), sb = r["sum_b"].get<double>(),
               sc = r["sum_c"].get<double>();
  if (!(std::fabs(sa - (sb + s * sc)) <= kSumTolerance * std::fabs(sa)))
    return fail("sum_a != sum_b + scalar * sum_c: the last Triad is wrong");
  const json& es = exp["samples"];
  if (!holds_array(r, "samples", es.size()))
    return fail("result.samples must hold " + std::to_string(es.size()) + " elements");
  for (size_t k = 0; k < es.size(); ++k) {
    const json& got = r["samples"][k];
    if (!got.is_object() || !got.contains("i") || got["i"] != es[k]["i"])
      return fail("sample " + std::to_string(k) + " is not element " + es[k]["i"].dump());
    for (const char* arr : {"a", "b", "c"})
      if (!got.contains(arr) || !got[arr].is_number() ||
          !same(got[arr].get<double>(), es[k][arr].get<double>()))
        return fail(std::string(arr) + "[" + es[k]["i"].dump() +
                    "] = " + (got.contains(arr) ? got[arr].dump() : "missing") + ", replay gives " +
                    es[k][arr].dump());
    const double a = got["a"].get<double>(), b = got["b"].get<double>(), c = got["c"].get<double>();
    if (!same(a, b + s * c))
      return fail("a[" + es[k]["i"].dump() + "] != b + scalar * c after the last Triad");
  }
  return {true, {}};
}

}  // namespace

void register_603(Registry& r) {
  r.add(benchmark_spec("603.stream", "stream",
                       "STREAM Copy/Scale/Add/Triad on one core, 3 arrays of 4Ki / 8Mi / 32Mi "
                       "doubles, 10 passes; reports GB/s (best of passes 2-10)",
                       Storage::kNotNeeded, prepare, validate));
}

}  // namespace hpcless::bench
