// 502.graph-mst, client side: input per size class and validation.
//
// The reference is Kruskal's algorithm here, on the same graph and weights (igraph generates the
// graph from the same seed; the function uses igraph's Prim). The weights are distinct with
// overwhelming probability, so the tree is unique: edge count n - 1, total weight (up to
// summation order) and the order-independent digest of its edges must all match.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
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

Validation fail(std::string why) { return {false, "502.graph-mst: " + std::move(why)}; }

struct Edge {
  double w;
  int32_t u, v;
};

int32_t find_root(std::vector<int32_t>& parent, int32_t x) {
  while (parent[static_cast<size_t>(x)] != x) {
    parent[static_cast<size_t>(x)] = parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
    x = parent[static_cast<size_t>(x)];
  }
  return x;
}

PreparedInput prepare(SizeClass s, const StorageAccess&) {
  const graph::Params p = graph::params_for(s);
  PreparedInput in;
  in.payload = json{{"size", p.vertices}, {"m", p.m}, {"seed", p.seed}}.dump();
  const graph::Csr g = graph::reference_graph(p);
  std::vector<Edge> edges;
  for (int64_t u = 0; u < g.vertices; ++u)
    for (int32_t v : g.row(u))
      if (u < v) edges.push_back({graph::edge_weight(p.seed, u, v), static_cast<int32_t>(u), v});
  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) { return a.w < b.w; });
  std::vector<int32_t> parent(static_cast<size_t>(g.vertices));
  std::iota(parent.begin(), parent.end(), 0);
  double total = 0;
  uint64_t digest = 0;
  int64_t count = 0;
  for (const Edge& e : edges) {
    const int32_t a = find_root(parent, e.u), b = find_root(parent, e.v);
    if (a == b) continue;
    parent[static_cast<size_t>(a)] = b;
    total += e.w;
    digest += graph::edge_hash(e.u, e.v);
    ++count;
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(digest));
  in.expected = json{
      {"vertices", g.vertices},
      {"edges", edges.size()},
      {"tree_edges", count},
      {"total_weight", total},
      {"digest",
       hex}}.dump();
  return in;
}

Validation validate(SizeClass, const PreparedInput& in, std::span<const std::byte> output,
                    const StorageAccess&) {
  const json exp = json::parse(in.expected);
  const std::optional<json> result = result_object(output);
  if (!result) return fail("output is not a JSON object with a \"result\"");
  const json& r = *result;
  if (auto why = first_mismatch(r, exp, {"vertices", "edges", "tree_edges", "digest"});
      !why.empty())
    return fail(why);
  if (auto why = first_missing_number(r, {"total_weight"}); !why.empty()) return fail(why);
  const double w = r["total_weight"].get<double>(), want = exp["total_weight"].get<double>();
  if (!(std::fabs(w - want) <= 1e-9 * std::max(1.0, want)))
    return fail("total weight " + r["total_weight"].dump() + ", reference " +
                exp["total_weight"].dump());
  return {true, {}};
}

}  // namespace

void register_502(Registry& r) {
  r.add(benchmark_spec("502.graph-mst", "mst",
                       "igraph Barabasi graph (m=10, seed 42) of 10 / 10,000 / 100,000 vertices "
                       "with random edge weights, then minimum spanning tree",
                       Storage::kNotNeeded, prepare, validate));
}

}  // namespace hpcless::bench
