// 602.jacobi, client side: input per size class and validation of the function's output.
//
// Every size: the sampled points are recomputed exactly on small windows (jacobi_common.hpp).
// test and small: the whole run is repeated here, so checksum and residual are compared too.
// large: checksum and residual are checked against the maximum principle (every value stays in
// [0, 1), so the checksum lies in [0, n^2) and the residual in [0, 1)).
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "functions/602.jacobi/jacobi_common.hpp"
#include "functions/bench/all_benchmarks.hpp"

namespace hpcless::bench {

namespace {

using nlohmann::json;

jacobi::Params params_for(SizeClass s) {
  jacobi::Params p;
  p.seed = 42;
  switch (s) {
    case SizeClass::kTest:
      p.n = 64;
      p.iterations = 10;
      break;
    case SizeClass::kSmall:
      p.n = 1024;
      p.iterations = 100;
      break;
    case SizeClass::kLarge:
      p.n = 4096;
      p.iterations = 100;
      break;
  }
  return p;
}

Validation fail(std::string why) { return {false, "602.jacobi: " + std::move(why)}; }
std::string num(double v) { return json(v).dump(); }

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
  const auto* o = reinterpret_cast<const char*>(output.data());
  const json out = json::parse(o, o + output.size(), nullptr, false);
  if (!out.is_object() || !out.contains("result") || !out["result"].is_object())
    return fail("output is not a JSON object with a \"result\"");
  const json& r = out["result"];
  for (const char* k : {"n", "iterations"})
    if (!r.contains(k) || r[k] != exp[k])
      return fail(std::string("result.") + k + " is " + (r.contains(k) ? r[k].dump() : "missing") +
                  ", expected " + exp[k].dump());
  for (const char* k : {"checksum", "residual"})
    if (!r.contains(k) || !r[k].is_number()) return fail(std::string("result.") + k + " missing");
  const double sum = r["checksum"].get<double>();
  const double res = r["residual"].get<double>();
  if (exp.contains("checksum")) {
    if (!close(sum, exp["checksum"].get<double>(), 1e-12))
      return fail("checksum " + num(sum) + " differs from the reference " + exp["checksum"].dump());
    if (!close(res, exp["residual"].get<double>(), 1e-12))
      return fail("residual " + num(res) + " differs from the reference " + exp["residual"].dump());
  } else {
    const double n = exp["n"].get<double>();
    if (!(sum >= 0 && sum < n * n)) return fail("checksum " + num(sum) + " outside [0, n^2)");
    if (!(res >= 0 && res < 1)) return fail("residual " + num(res) + " outside [0, 1)");
  }
  const json& es = exp["samples"];
  if (!r.contains("samples") || !r["samples"].is_array() || r["samples"].size() != es.size())
    return fail("result.samples must hold " + std::to_string(es.size()) + " points");
  for (size_t k = 0; k < es.size(); ++k) {
    const json& got = r["samples"][k];
    if (!got.is_object() || !got.contains("i") || got["i"] != es[k]["i"] || !got.contains("j") ||
        got["j"] != es[k]["j"] || !got.contains("value") || !got["value"].is_number())
      return fail("sample " + std::to_string(k) + " is not u(" + es[k]["i"].dump() + "," +
                  es[k]["j"].dump() + ")");
    const double v = got["value"].get<double>();
    if (!close(v, es[k]["value"].get<double>(), 1e-12))
      return fail("u(" + es[k]["i"].dump() + "," + es[k]["j"].dump() + ") = " + num(v) +
                  ", reference " + es[k]["value"].dump());
  }
  return {true, {}};
}

}  // namespace

void register_602(Registry& r) {
  BenchmarkSpec s;
  s.name = "602.jacobi";
  s.package = "libhpcless_bench_602.so";
  s.function = "jacobi";
  s.description =
      "2-D 5-point Jacobi stencil on one core: 64^2 x 10 / 1024^2 x 100 / 4096^2 x 100 sweeps; "
      "reports MLUP/s and GFLOP/s";
  s.needs_storage = false;
  s.prepare = prepare;
  s.validate = validate;
  r.add(std::move(s));
}

}  // namespace hpcless::bench
