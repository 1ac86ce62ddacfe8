// 502.graph-mst, client side: input per size class and validation.
//
// The reference is Kruskal's algorithm here, on the same graph and weights (igraph generates the
// graph from the same seed; the function uses igraph's Prim). The weights are distinct with
// overwhelming probability, so the tree is unique: edge count n - 1, total weight (up to
// summation order) and the order-independent digest of its edges must all match.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "functions/501.graph-pagerank/graph_common.hpp"
#include "functions/501.graph-pagerank/graph_sizes.hpp"
#include "functions/bench/all_benchmarks.hpp"

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
  const auto* o = reinterpret_cast<const char*>(output.data());
  const json out = json::parse(o, o + output.size(), nullptr, false);
  if (!out.is_object() || !out.contains("result") || !out["result"].is_object())
    return fail("output is not a JSON object with a \"result\"");
  const json& r = out["result"];
  for (const char* k : {"vertices", "edges", "tree_edges", "digest"})
    if (!r.contains(k) || r[k] != exp[k])
      return fail(std::string("result.") + k + " is " + (r.contains(k) ? r[k].dump() : "missing") +
                  ", expected " + exp[k].dump());
  if (!r.contains("total_weight") || !r["total_weight"].is_number())
    return fail("result.total_weight missing");
  const double w = r["total_weight"].get<double>(), want = exp["total_weight"].get<double>();
  if (!(std::fabs(w - want) <= 1e-9 * std::max(1.0, want)))
    return fail("total weight " + r["total_weight"].dump() + ", reference " +
                exp["total_weight"].dump());
  return {true, {}};
}

}  // namespace

void register_502(Registry& r) {
  BenchmarkSpec s;
  s.name = "502.graph-mst";
  s.package = "libhpcless_bench_502.so";
  s.function = "mst";
  s.description =
      "igraph Barabasi graph (m=10, seed 42) of 10 / 10,000 / 100,000 vertices with random edge "
      "weights, then minimum spanning tree";
  s.needs_storage = false;
  s.prepare = prepare;
  s.validate = validate;
  r.add(std::move(s));
}

}  // namespace hpcless::bench
