// The graph benchmarks (501.graph-pagerank, 502.graph-mst, 503.graph-bfs): what their functions
// and client-side generators/validators share. Compiled into each of the three packages and
// into hpcless_bench.
//
// The graph is SeBS's: igraph_barabasi_game(n, power 1, m 10, A 1, undirected, PSUMTREE) after
// seeding igraph's default RNG with 42. With m = 10, vertex i > 0 links to min(i, 10) earlier
// vertices, so the test size (10 vertices) is the complete graph K10 and every size is connected.
//
// Thread safety: igraph 0.10 in Debian is built without thread support (IGRAPH_THREAD_SAFE 0):
// its RNG, error handlers and cleanup stack are process globals. Every igraph call must hold an
// IgraphSession, which takes one process-wide mutex. The mutex lives in an inline function with
// default visibility, so GCC emits it as a STB_GNU_UNIQUE object that the dynamic linker unifies
// across every package loaded in the process, even with RTLD_LOCAL: the three graph packages
// loaded into one worker share it. Consequence: graph invocations on different worker threads of
// one process run one at a time.
#pragma once

#include <igraph.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace hpcless::bench::graph {

struct Params {
  int64_t vertices = 0;
  int64_t m = 10;
  uint64_t seed = 42;
};

inline constexpr int64_t kMaxVertices = 2'000'000;  // ~20 M edges, ~1 GB inside igraph
inline constexpr int64_t kMaxM = 100;

// The one igraph lock of the process (see above).
__attribute__((visibility("default"))) inline std::mutex& igraph_mutex() {
  static std::mutex m;
  return m;
}

// Holds the igraph lock for its lifetime and puts igraph in the state the benchmarks need:
// errors are returned (igraph's default handler aborts the process), warnings are not printed,
// and PRPACK's OpenMP loops run on the calling thread only (it is pinned to one core).
class IgraphSession {
 public:
  IgraphSession();
  ~IgraphSession() = default;
  IgraphSession(const IgraphSession&) = delete;
  IgraphSession& operator=(const IgraphSession&) = delete;

 private:
  std::lock_guard<std::mutex> lock_;
};

// Throws std::runtime_error("<what>: <igraph's message>") unless rc is IGRAPH_SUCCESS.
void check(igraph_error_t rc, const char* what);

// RAII owners of igraph objects (create and use them only inside an IgraphSession).
class Graph {
 public:
  Graph() = default;
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  igraph_t* get() { return &g_; }
  const igraph_t* get() const { return &g_; }
  void set_owned() { owned_ = true; }
  int64_t vertices() const { return igraph_vcount(&g_); }
  int64_t edges() const { return igraph_ecount(&g_); }

 private:
  igraph_t g_{};
  bool owned_ = false;
};

class RealVector {
 public:
  explicit RealVector(int64_t size = 0);
  ~RealVector() { igraph_vector_destroy(&v_); }
  RealVector(const RealVector&) = delete;
  RealVector& operator=(const RealVector&) = delete;
  igraph_vector_t* get() { return &v_; }
  int64_t size() const { return igraph_vector_size(&v_); }
  double operator[](int64_t i) const { return VECTOR(v_)[i]; }
  double& operator[](int64_t i) { return VECTOR(v_)[i]; }

 private:
  igraph_vector_t v_;
};

class IntVector {
 public:
  explicit IntVector(int64_t size = 0);
  ~IntVector() { igraph_vector_int_destroy(&v_); }
  IntVector(const IntVector&) = delete;
  IntVector& operator=(const IntVector&) = delete;
  igraph_vector_int_t* get() { return &v_; }
  int64_t size() const { return igraph_vector_int_size(&v_); }
  int64_t operator[](int64_t i) const { return VECTOR(v_)[i]; }

 private:
  igraph_vector_int_t v_;
};

// {"size": N, "m": 10, "seed": 42} (m and seed optional). Throws std::invalid_argument naming
// `bench` and the bad field.
Params parse_params(std::span<const std::byte> input, const char* bench);

// SeBS's Barabási-Albert graph. Caller holds an IgraphSession.
void barabasi(const Params& p, Graph& out);

// The graph's edges as (from, to) pairs, flattened. Caller holds an IgraphSession.
std::vector<int64_t> edge_list(const Graph& g);

// Adjacency in compressed rows, neighbours of each vertex sorted (built from an edge list, so
// it needs no igraph). Undirected: each edge appears in both rows.
struct Csr {
  int64_t vertices = 0;
  std::vector<int64_t> offsets;  // vertices + 1
  std::vector<int32_t> neighbors;
  std::span<const int32_t> row(int64_t v) const {
    return {neighbors.data() + offsets[v], static_cast<size_t>(offsets[v + 1] - offsets[v])};
  }
  bool adjacent(int64_t u, int64_t v) const;
};
Csr to_csr(int64_t vertices, const std::vector<int64_t>& edges);

// Generates the graph of `p` (taking the igraph lock) and returns its adjacency: what the
// client-side references start from.
Csr reference_graph(const Params& p);

// Weight of the undirected edge {u, v} for the MST benchmark, uniform in [0, 1).
double edge_weight(uint64_t seed, int64_t u, int64_t v);
// Order-independent digest of a set of undirected edges: the sum (mod 2^64) of a hash of each.
uint64_t edge_hash(int64_t u, int64_t v);
// Weights of a PageRank projection (sum_i rank_i * w_i), uniform in [0, 1).
double projection_weight(uint64_t seed, int64_t v);

}  // namespace hpcless::bench::graph
