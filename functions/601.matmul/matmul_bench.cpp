// 601.matmul, client side: input per size class and validation of the function's output.
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "functions/601.matmul/matmul_common.hpp"
#include "functions/bench/all_benchmarks.hpp"

namespace hpcless::bench {

namespace {

using nlohmann::json;

matmul::Params params_for(SizeClass s) {
  matmul::Params p;
  p.seed = 42;
  switch (s) {
    case SizeClass::kTest:
      p.n = 64;
      break;
    case SizeClass::kSmall:
      p.n = 512;
      break;
    case SizeClass::kLarge:
      p.n = 2048;
      break;
  }
  return p;
}

// Rounding error of a dot product of length n is at most about n * eps * sum|terms|; allow
// a generous multiple of that (BLAS may reorder the sums).
double tolerance(double scale, int n) { return 1e-15 * 8.0 * n * scale + 1e-300; }

Validation fail(std::string why) { return {false, "601.matmul: " + std::move(why)}; }

std::string num(double v) { return json(v).dump(); }  // shortest exact form

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
  const auto* o = reinterpret_cast<const char*>(output.data());
  const json out = json::parse(o, o + output.size(), nullptr, false);
  if (!out.is_object() || !out.contains("result") || !out["result"].is_object())
    return fail("output is not a JSON object with a \"result\"");
  const json& r = out["result"];
  if (!r.contains("n") || r["n"] != exp["n"])
    return fail("result.n is " + (r.contains("n") ? r["n"].dump() : "missing") + ", expected " +
                exp["n"].dump());
  if (!r.contains("checksum") || !r["checksum"].is_number()) return fail("result.checksum missing");
  const double sum = r["checksum"].get<double>();
  const double want = exp["checksum"].get<double>();
  if (!(std::fabs(sum - want) <= exp["checksum_tolerance"].get<double>()))
    return fail("checksum " + num(sum) + " differs from the reference " + num(want));
  const json& es = exp["samples"];
  if (!r.contains("samples") || !r["samples"].is_array() || r["samples"].size() != es.size())
    return fail("result.samples must hold " + std::to_string(es.size()) + " elements");
  for (size_t k = 0; k < es.size(); ++k) {
    const json& got = r["samples"][k];
    if (!got.is_object() || !got.contains("i") || got["i"] != es[k]["i"] || !got.contains("j") ||
        got["j"] != es[k]["j"] || !got.contains("value") || !got["value"].is_number())
      return fail("sample " + std::to_string(k) + " is not C(" + es[k]["i"].dump() + "," +
                  es[k]["j"].dump() + ")");
    const double v = got["value"].get<double>();
    const double w = es[k]["value"].get<double>();
    if (!(std::fabs(v - w) <= es[k]["tolerance"].get<double>()))
      return fail("C(" + es[k]["i"].dump() + "," + es[k]["j"].dump() + ") = " + num(v) +
                  ", reference " + num(w));
  }
  return {true, {}};
}

}  // namespace

void register_601(Registry& r) {
  BenchmarkSpec s;
  s.name = "601.matmul";
  s.package = "libhpcless_bench_601.so";
  s.function = "matmul";
  s.description = "OpenBLAS DGEMM C = A*B on one core, n = 64 / 512 / 2048; reports GFLOP/s";
  s.needs_storage = false;
  s.prepare = prepare;
  s.validate = validate;
  r.add(std::move(s));
}

}  // namespace hpcless::bench
