// 503.graph-bfs, client side: input per size class and validation.
//
// The reference is a BFS here on the same graph (igraph generates it from the same seed). BFS
// trees are not unique, so the parents are checked for validity instead of equality: every
// reached vertex but the root has a parent that is adjacent to it and one layer closer to the
// root. The number of reached vertices and the layer sizes are unique and must match.
// `expected` carries the adjacency (CBOR with binary arrays: about 8 MB at size large).
#include <cstring>
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

Validation fail(std::string why) { return {false, "503.graph-bfs: " + std::move(why)}; }

template <class T>
json::binary_t to_binary(const std::vector<T>& v) {
  std::vector<uint8_t> bytes(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
  return json::binary_t(std::move(bytes));
}

template <class T>
std::vector<T> from_binary(const json& j) {
  const auto& b = j.get_binary();
  std::vector<T> v(b.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), b.data(), v.size() * sizeof(T));
  return v;
}

PreparedInput prepare(SizeClass s, const StorageAccess&) {
  const graph::Params p = graph::params_for(s);
  PreparedInput in;
  in.payload = json{{"size", p.vertices}, {"m", p.m}, {"seed", p.seed}}.dump();
  const graph::Csr g = graph::reference_graph(p);
  std::vector<int32_t> dist(static_cast<size_t>(g.vertices), -1), queue{0};
  dist[0] = 0;
  for (size_t head = 0; head < queue.size(); ++head)
    for (int32_t u : g.row(queue[head]))
      if (dist[static_cast<size_t>(u)] < 0) {
        dist[static_cast<size_t>(u)] = dist[static_cast<size_t>(queue[head])] + 1;
        queue.push_back(u);
      }
  std::vector<int64_t> layer_sizes;
  for (int32_t d : dist)
    if (d >= 0) {
      if (layer_sizes.size() <= static_cast<size_t>(d))
        layer_sizes.resize(static_cast<size_t>(d) + 1);
      ++layer_sizes[static_cast<size_t>(d)];
    }
  const json exp = {{"vertices", g.vertices},          {"edges", g.neighbors.size() / 2},
                    {"visited", queue.size()},         {"layer_sizes", layer_sizes},
                    {"offsets", to_binary(g.offsets)}, {"neighbors", to_binary(g.neighbors)},
                    {"dist", to_binary(dist)}};
  const std::vector<uint8_t> cbor = json::to_cbor(exp);
  in.expected.assign(cbor.begin(), cbor.end());
  return in;
}

Validation validate(SizeClass, const PreparedInput& in, std::span<const std::byte> output,
                    const StorageAccess&) {
  const json exp = json::from_cbor(in.expected);
  const std::optional<json> result = result_object(output);
  if (!result) return fail("output is not a JSON object with a \"result\"");
  const json& r = *result;
  if (auto why = first_mismatch(r, exp, {"vertices", "edges", "visited", "layer_sizes"});
      !why.empty())
    return fail(why);
  graph::Csr g;
  g.vertices = exp["vertices"].get<int64_t>();
  g.offsets = from_binary<int64_t>(exp["offsets"]);
  g.neighbors = from_binary<int32_t>(exp["neighbors"]);
  const auto dist = from_binary<int32_t>(exp["dist"]);
  if (!holds_array(r, "parents", static_cast<size_t>(g.vertices)))
    return fail("result.parents must hold one parent per vertex");
  const json& parents = r["parents"];
  for (int64_t v = 0; v < g.vertices; ++v) {
    const json& pj = parents[static_cast<size_t>(v)];
    if (!pj.is_number_integer())
      return fail("parent of vertex " + std::to_string(v) + " is not an integer");
    const auto pv = pj.get<int64_t>();
    const int32_t d = dist[static_cast<size_t>(v)];
    if (v == 0) {
      if (pv >= 0 && pv != 0) return fail("the root has parent " + std::to_string(pv));
    } else if (d < 0) {
      if (pv >= 0) return fail("unreachable vertex " + std::to_string(v) + " has a parent");
    } else if (!g.adjacent(v, pv) || dist[static_cast<size_t>(pv)] != d - 1) {
      return fail("parent " + std::to_string(pv) + " of vertex " + std::to_string(v) + " (layer " +
                  std::to_string(d) + ") is not an adjacent vertex of layer " +
                  std::to_string(d - 1));
    }
  }
  return {true, {}};
}

}  // namespace

void register_503(Registry& r) {
  r.add(benchmark_spec("503.graph-bfs", "bfs",
                       "igraph Barabasi graph (m=10, seed 42) of 10 / 10,000 / 100,000 vertices, "
                       "then BFS from vertex 0 (order, layers, parents)",
                       Storage::kNotNeeded, prepare, validate));
}

}  // namespace hpcless::bench
