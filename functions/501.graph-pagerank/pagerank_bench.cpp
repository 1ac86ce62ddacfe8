// 501.graph-pagerank, client side: input per size class and validation.
//
// The reference is independent of igraph's PageRank: the same graph (igraph generates it from the
// same seed) and a plain power iteration to 1e-14 in L1 here. Checks: vertex and edge counts, the
// ranks sum to 1, the top vertex, the first ranks and a random projection of all ranks.
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "comm/base/json.hpp"
#include "functions/501.graph-pagerank/graph_common.hpp"
#include "functions/501.graph-pagerank/graph_sizes.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/result_checks.hpp"

namespace hpcless::bench {

namespace {

using nlohmann::json;

constexpr double kDamping = 0.85;

Validation fail(std::string why) { return {false, "501.graph-pagerank: " + std::move(why)}; }
// PRPACK stops at a residual of about 1e-10; a rank off by more than this is wrong.
bool close(double got, double want) {
  return std::fabs(got - want) <= 1e-9 + 1e-6 * std::fabs(want);
}

std::vector<double> power_iteration(const graph::Csr& g) {
  const auto n = static_cast<size_t>(g.vertices);
  std::vector<double> r(n, 1.0 / static_cast<double>(n)), next(n), share(n);
  for (int it = 0; it < 10000; ++it) {
    double dangling = 0;
    for (size_t v = 0; v < n; ++v) {
      const auto deg = g.offsets[v + 1] - g.offsets[v];
      if (deg == 0) {
        dangling += r[v];
        share[v] = 0;
      } else {
        share[v] = r[v] / static_cast<double>(deg);
      }
    }
    const double base = (1.0 - kDamping + kDamping * dangling) / static_cast<double>(n);
    double change = 0;
    for (size_t v = 0; v < n; ++v) {
      double s = 0;
      for (int32_t u : g.row(static_cast<int64_t>(v))) s += share[static_cast<size_t>(u)];
      next[v] = base + kDamping * s;
      change += std::fabs(next[v] - r[v]);
    }
    r.swap(next);
    if (change < 1e-14) break;
  }
  return r;
}

PreparedInput prepare(SizeClass s, const StorageAccess&) {
  const graph::Params p = graph::params_for(s);
  PreparedInput in;
  in.payload = json{{"size", p.vertices}, {"m", p.m}, {"seed", p.seed}}.dump();
  const graph::Csr g = graph::reference_graph(p);
  const std::vector<double> r = power_iteration(g);
  double max = -1, projection = 0;
  for (size_t v = 0; v < r.size(); ++v) {
    max = std::max(max, r[v]);
    projection += r[v] * graph::projection_weight(p.seed, static_cast<int64_t>(v));
  }
  json top = json::array(), first = json::array();
  for (size_t v = 0; v < r.size(); ++v) {
    if (r[v] >= max - 1e-9) top.push_back(v);  // ties: any of them may come out as the argmax
    if (v < 10) first.push_back(r[v]);
  }
  in.expected = json{{"vertices", g.vertices},
                     {"edges", g.neighbors.size() / 2},
                     {"max", max},
                     {"argmax_any_of", top},
                     {"first", first},
                     {"projection", projection}}
                    .dump();
  return in;
}

Validation validate(SizeClass, const PreparedInput& in, std::span<const std::byte> output,
                    const StorageAccess&) {
  const json exp = json::parse(in.expected);
  const std::optional<json> result = result_object(output);
  if (!result) return fail("output is not a JSON object with a \"result\"");
  const json& r = *result;
  if (auto why = first_mismatch(r, exp, {"vertices", "edges"}); !why.empty()) return fail(why);
  if (auto why = first_missing_number(r, {"sum", "max", "projection"}); !why.empty())
    return fail(why);
  if (!(std::fabs(r["sum"].get<double>() - 1.0) <= 1e-9))
    return fail("the ranks sum to " + r["sum"].dump() + ", not 1");
  // PRPACK reports the dominant eigenvalue of the Google matrix, which is 1.
  if (!r.contains("eigenvalue") || !r["eigenvalue"].is_number() ||
      !(std::fabs(r["eigenvalue"].get<double>() - 1.0) <= 1e-9))
    return fail("eigenvalue " + (r.contains("eigenvalue") ? r["eigenvalue"].dump() : "missing") +
                ", not 1");
  if (!close(r["max"].get<double>(), exp["max"].get<double>()))
    return fail("max rank " + r["max"].dump() + ", reference " + exp["max"].dump());
  bool top_ok = false;
  for (const auto& v : exp["argmax_any_of"])
    top_ok = top_ok || (r.contains("argmax") && r["argmax"] == v);
  if (!top_ok)
    return fail("argmax " + (r.contains("argmax") ? r["argmax"].dump() : "missing") +
                ", reference " + exp["argmax_any_of"].dump());
  if (!(std::fabs(r["projection"].get<double>() - exp["projection"].get<double>()) <= 1e-8))
    return fail("projection " + r["projection"].dump() + ", reference " + exp["projection"].dump());
  const json& ef = exp["first"];
  if (!holds_array(r, "first", ef.size()))
    return fail("result.first must hold " + std::to_string(ef.size()) + " ranks");
  for (size_t v = 0; v < ef.size(); ++v)
    if (!r["first"][v].is_number() || !close(r["first"][v].get<double>(), ef[v].get<double>()))
      return fail("rank of vertex " + std::to_string(v) + " is " + r["first"][v].dump() +
                  ", reference " + json_number(ef[v].get<double>()));
  return {true, {}};
}

}  // namespace

void register_501(Registry& r) {
  r.add(benchmark_spec("501.graph-pagerank", "pagerank",
                       "igraph Barabasi graph (m=10, seed 42) of 10 / 10,000 / 100,000 vertices, "
                       "then PageRank (PRPACK)",
                       Storage::kNotNeeded, prepare, validate));
}

}  // namespace hpcless::bench
