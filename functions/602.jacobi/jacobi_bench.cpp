// 602.jacobi, client side: input per size class and validation of the function's output.
//
// Every size: the sampled points are recomputed exactly on small windows (jacobi_common.hpp).
// test and small: the whole run is repeated here, so checksum and residual are compared too.
// large: checksum and residual are checked against the maximum principle (every value stays in
// [0, 1), so the checksum lies in [0, n^2) and the residual in [0, 1)).
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "comm/base/json.hpp"
#include "functions/602.jacobi/jacobi_common.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/result_checks.hpp"

namespace hpcless::bench {

namespace {

using nlohmann::json;

jacobi::Params params_for(SizeClass s) {
  jacobi::Params p;
  p.seed = 42;
  p.n = by_size_class(s, 64, 1024, 4096);
  p.iterations = by_size_class(s, 10, 100, 100);
  return p;
}

Validation fail(std::string why) { return {false, "602.jacobi: " + std::move(why)}; }

bool close(double got, double want, double rel) {
  return std::fabs(got - want) <= rel * std::max(1.0, std::fabs(want));
}

PreparedInput prepare(SizeClass s, const StorageAccess&) {
  const jacobi::Params p = params_for(s);
  PreparedInput in;
  in.payload = json{{"n", p.n}, {"iterations", p.iterations}, {"seed", p.seed}}.dump();
  json samples = json::array();
  for (const auto& [i, j] : jacobi::sample_positions(p))
    samples.push_back({{"i", i}, {"j", j}, {"value", jacobi::reference_point(p, i, j)}});
  json exp = {{"n", p.n}, {"iterations", p.iterations}, {"samples", samples}};
  if (s != SizeClass::kLarge) {
    std::vector<double> a, b;
    jacobi::fill_initial(p, a);
    exp["residual"] = jacobi::run(p, a, b);
    exp["checksum"] = jacobi::interior_sum(p, a);
  }
  in.expected = exp.dump();
  return in;
}

Validation validate(SizeClass, const PreparedInput& in, std::span<const std::byte> output,
                    const StorageAccess&) {
  const json exp = json::parse(in.expected);
  const std::optional<json> result = result_object(output);
  if (!result) return fail("output is not a JSON object with a \"result\"");
  const json& r = *result;
  if (auto why = first_mismatch(r, exp, {"n", "iterations"}); !why.empty()) return fail(why);
  if (auto why = first_missing_number(r, {"checksum", "residual"}); !why.empty()) return fail(why);
  const double sum = r["checksum"].get<double>();
  const double res = r["residual"].get<double>();
  if (exp.contains("checksum")) {
    if (!close(sum, exp["checksum"].get<double>(), 1e-12))
      return fail("checksum " + json_number(sum) + " differs from the reference " +
                  exp["checksum"].dump());
    if (!close(res, exp["residual"].get<double>(), 1e-12))
      return fail("residual " + json_number(res) + " differs from the reference " +
                  exp["residual"].dump());
  } else {
    const double n = exp["n"].get<double>();
    if (!(sum >= 0 && sum < n * n))
      return fail("checksum " + json_number(sum) + " outside [0, n^2)");
    if (!(res >= 0 && res < 1)) return fail("residual " + json_number(res) + " outside [0, 1)");
  }
  const json& es = exp["samples"];
  if (!holds_array(r, "samples", es.size()))
    return fail("result.samples must hold " + std::to_string(es.size()) + " points");
  for (size_t k = 0; k < es.size(); ++k) {
    const json& got = r["samples"][k];
    if (!is_grid_sample_at(got, es[k]))
      return fail("sample " + std::to_string(k) + " is not u(" + es[k]["i"].dump() + "," +
                  es[k]["j"].dump() + ")");
    const double v = got["value"].get<double>();
    if (!close(v, es[k]["value"].get<double>(), 1e-12))
      return fail("u(" + es[k]["i"].dump() + "," + es[k]["j"].dump() + ") = " + json_number(v) +
                  ", reference " + es[k]["value"].dump());
  }
  return {true, {}};
}

}  // namespace

void register_602(Registry& r) {
  r.add(benchmark_spec("602.jacobi", "jacobi",
                       "2-D 5-point Jacobi stencil on one core: 64^2 x 10 / 1024^2 x 100 / "
                       "4096^2 x 100 sweeps; reports MLUP/s and GFLOP/s",
                       Storage::kNotNeeded, prepare, validate));
}

}  // namespace hpcless::bench
