#include "functions/501.graph-pagerank/graph_common.hpp"

#include <omp.h>

#include <algorithm>
#include <stdexcept>

#include "comm/base/json.hpp"
#include "functions/common/package_io.hpp"

namespace hpcless::bench::graph {

namespace {

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

double unit(uint64_t r) { return static_cast<double>(r >> 11) * 0x1.0p-53; }

}  // namespace

IgraphSession::IgraphSession() : lock_(igraph_mutex()) {
  igraph_set_error_handler(igraph_error_handler_ignore);
  igraph_set_warning_handler(igraph_warning_handler_ignore);
  omp_set_num_threads(1);
}

void check(igraph_error_t rc, const char* what) {
  if (rc != IGRAPH_SUCCESS)
    throw std::runtime_error(std::string(what) + ": " + igraph_strerror(rc));
}

Graph::~Graph() {
  if (owned_) igraph_destroy(&g_);
}

RealVector::RealVector(int64_t size) { check(igraph_vector_init(&v_, size), "igraph_vector_init"); }

IntVector::IntVector(int64_t size) {
  check(igraph_vector_int_init(&v_, size), "igraph_vector_int_init");
}

Params parse_params(std::span<const std::byte> input, const char* bench) {
  using nlohmann::json;
  const std::string b(bench);
  const json j = package_io::parse_input_object(input, b);
  auto get = [&](const char* name, int64_t lo, int64_t hi, bool required, int64_t dflt) {
    const auto it = j.find(name);
    if (it == j.end()) {
      if (required) throw std::invalid_argument(b + ": input needs an integer \"" + name + "\"");
      return dflt;
    }
    if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi)
      throw std::invalid_argument(b + ": \"" + name + "\" must be an integer in [" +
                                  std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return it->get<int64_t>();
  };
  Params params;
  params.vertices = get("size", 1, kMaxVertices, true, 0);
  params.m = get("m", 1, kMaxM, false, 10);
  package_io::read_seed(j, b, params.seed);
  return params;
}

void barabasi(const Params& p, Graph& out) {
  check(igraph_rng_seed(igraph_rng_default(), static_cast<igraph_uint_t>(p.seed)),
        "igraph_rng_seed");
  check(igraph_barabasi_game(out.get(), p.vertices, /*power=*/1.0, p.m, /*outseq=*/nullptr,
                             /*outpref=*/false, /*A=*/1.0, /*directed=*/false,
                             IGRAPH_BARABASI_PSUMTREE, /*start_from=*/nullptr),
        "igraph_barabasi_game");
  out.set_owned();
}

std::vector<int64_t> edge_list(const Graph& g) {
  IntVector ev;
  check(igraph_get_edgelist(g.get(), ev.get(), /*bycol=*/false), "igraph_get_edgelist");
  std::vector<int64_t> edges(static_cast<size_t>(ev.size()));
  for (int64_t i = 0; i < ev.size(); ++i) edges[static_cast<size_t>(i)] = ev[i];
  return edges;
}

bool Csr::adjacent(int64_t u, int64_t v) const {
  if (u < 0 || u >= vertices || v < 0 || v >= vertices) return false;
  const auto r = row(u);
  return std::binary_search(r.begin(), r.end(), static_cast<int32_t>(v));
}

Csr to_csr(int64_t vertices, const std::vector<int64_t>& edges) {
  Csr c;
  c.vertices = vertices;
  c.offsets.assign(static_cast<size_t>(vertices) + 1, 0);
  for (int64_t e : edges) ++c.offsets[static_cast<size_t>(e) + 1];
  for (size_t v = 0; v < static_cast<size_t>(vertices); ++v) c.offsets[v + 1] += c.offsets[v];
  c.neighbors.resize(edges.size());
  std::vector<int64_t> fill(c.offsets.begin(), c.offsets.end() - 1);
  for (size_t e = 0; e + 1 < edges.size(); e += 2) {
    const int64_t u = edges[e], v = edges[e + 1];
    c.neighbors[static_cast<size_t>(fill[static_cast<size_t>(u)]++)] = static_cast<int32_t>(v);
    c.neighbors[static_cast<size_t>(fill[static_cast<size_t>(v)]++)] = static_cast<int32_t>(u);
  }
  for (int64_t v = 0; v < vertices; ++v)
    std::sort(c.neighbors.begin() + c.offsets[v], c.neighbors.begin() + c.offsets[v + 1]);
  return c;
}

Csr reference_graph(const Params& p) {
  std::vector<int64_t> edges;
  {
    IgraphSession session;
    Graph g;
    barabasi(p, g);
    edges = edge_list(g);
  }
  return to_csr(p.vertices, edges);
}

double edge_weight(uint64_t seed, int64_t u, int64_t v) {
  const auto lo = static_cast<uint64_t>(std::min(u, v)), hi = static_cast<uint64_t>(std::max(u, v));
  return unit(mix(mix(seed ^ 0x6d73742d77656967ull) + (lo << 32 | (hi & 0xffffffffu))));
}

uint64_t edge_hash(int64_t u, int64_t v) {
  const auto lo = static_cast<uint64_t>(std::min(u, v)), hi = static_cast<uint64_t>(std::max(u, v));
  return mix(lo << 32 | (hi & 0xffffffffu));
}

double projection_weight(uint64_t seed, int64_t v) {
  return unit(mix(mix(seed ^ 0x70722d70726f6aull) + static_cast<uint64_t>(v)));
}

}  // namespace hpcless::bench::graph
