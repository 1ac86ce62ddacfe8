// 601.matmul, client side: input per size class and validation of the function's output.
#include <cmath>
#include <optional>
#include <string>

#include "comm/base/json.hpp"
#include "functions/601.matmul/matmul_common.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/result_checks.hpp"

namespace hpcless::bench {

namespace {

using nlohmann::json;

matmul::Params params_for(SizeClass s) {
  matmul::Params p;
  p.seed = 42;
  p.n = by_size_class(s, 64, 512, 2048);
  return p;
}

// Rounding error of a dot product of length n is at most about n * eps * sum|terms|; allow
// a generous multiple of that (BLAS may reorder the sums).
double tolerance(double scale, int n) { return 1e-15 * 8.0 * n * scale + 1e-300; }

Validation fail(std::string why) { return {false, "601.matmul: " + std::move(why)}; }

PreparedInput prepare(SizeClass s, const StorageAccess&) {
  const matmul::Params p = params_for(s);
  PreparedInput in;
  in.payload = json{{"n", p.n}, {"seed", p.seed}}.dump();
  const auto sum = matmul::reference_checksum(p);
  json samples = json::array();
  for (const auto& [i, j] : matmul::sample_positions(p)) {
    const auto r = matmul::reference_element(p, i, j);
    samples.push_back(
        {{"i", i}, {"j", j}, {"value", r.value}, {"tolerance", tolerance(r.scale, p.n)}});
  }
  in.expected = json{
      {"n", p.n},
      {"checksum", sum.value},
      {"checksum_tolerance", tolerance(sum.scale, p.n)},
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
  if (auto why = first_mismatch(r, exp, {"n"}); !why.empty()) return fail(why);
  if (auto why = first_missing_number(r, {"checksum"}); !why.empty()) return fail(why);
  const double sum = r["checksum"].get<double>();
  const double want = exp["checksum"].get<double>();
  if (!(std::fabs(sum - want) <= exp["checksum_tolerance"].get<double>()))
    return fail("checksum " + json_number(sum) + " differs from the reference " +
                json_number(want));
  const json& es = exp["samples"];
  if (!holds_array(r, "samples", es.size()))
    return fail("result.samples must hold " + std::to_string(es.size()) + " elements");
  for (size_t k = 0; k < es.size(); ++k) {
    const json& got = r["samples"][k];
    if (!is_grid_sample_at(got, es[k]))
      return fail("sample " + std::to_string(k) + " is not C(" + es[k]["i"].dump() + "," +
                  es[k]["j"].dump() + ")");
    const double v = got["value"].get<double>();
    const double w = es[k]["value"].get<double>();
    if (!(std::fabs(v - w) <= es[k]["tolerance"].get<double>()))
      return fail("C(" + es[k]["i"].dump() + "," + es[k]["j"].dump() + ") = " + json_number(v) +
                  ", reference " + json_number(w));
  }
  return {true, {}};
}

}  // namespace

void register_601(Registry& r) {
  r.add(benchmark_spec("601.matmul", "matmul",
                       "OpenBLAS DGEMM C = A*B on one core, n = 64 / 512 / 2048; reports GFLOP/s",
                       Storage::kNotNeeded, prepare, validate));
}

}  // namespace hpcless::bench
