// 502.graph-mst: SeBS's graph (501.graph-pagerank/graph_common.hpp) with a deterministic weight
// on every edge, then igraph's minimum spanning tree (Prim). SeBS computes an unweighted spanning
// tree; the weights make the result unique, so its total weight can be checked.
//
// Input (JSON): {"size": 10000, "m": 10, "seed": 42}
// Output (JSON): {"benchmark": "502.graph-mst",
//                 "result": {"vertices", "edges", "tree_edges", "total_weight",
//                            "digest": hex of the sum of edge hashes of the tree},
//                 "measurement": {"download_us", "compute_us", "upload_us", "download_bytes",
//                                 "upload_bytes", "generate_us"}}
// Graph generation and the weights are timed apart; the MST is the compute phase.
#include <cstdio>

#include "comm/base/json.hpp"
#include "functions/501.graph-pagerank/graph_common.hpp"
#include "functions/abi/hpcless_function.hpp"
#include "functions/common/package_io.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;
using hpcless::fn::Phase;
using nlohmann::json;
namespace io = hpcless::bench::package_io;
namespace gr = hpcless::bench::graph;

int mst(Context& ctx, std::span<const std::byte> in, Output& out) {
  const gr::Params p = gr::parse_params(in, "502.graph-mst");
  uint64_t g0 = 0, g1 = 0, g2 = 0;
  int64_t vertices = 0, edges = 0, tree_edges = 0;
  double total = 0;
  uint64_t digest = 0;
  {
    gr::IgraphSession session;  // before the clocks: waiting for the lock is not work
    g0 = ctx.now_ns();
    gr::Graph g;
    gr::barabasi(p, g);
    gr::RealVector weights(g.edges());
    for (int64_t e = 0; e < g.edges(); ++e)
      weights[e] = gr::edge_weight(p.seed, IGRAPH_FROM(g.get(), e), IGRAPH_TO(g.get(), e));
    g1 = ctx.now_ns();
    gr::IntVector tree;
    {
      Phase phase(ctx, HPCLESS_PHASE_COMPUTE);
      gr::check(igraph_minimum_spanning_tree(g.get(), tree.get(), weights.get()),
                "igraph_minimum_spanning_tree");
    }
    g2 = ctx.now_ns();
    vertices = g.vertices();
    edges = g.edges();
    tree_edges = tree.size();
    for (int64_t k = 0; k < tree.size(); ++k) {
      const int64_t e = tree[k];
      total += weights[e];
      digest += gr::edge_hash(IGRAPH_FROM(g.get(), e), IGRAPH_TO(g.get(), e));
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(digest));
  const json result = {{"vertices", vertices},
                       {"edges", edges},
                       {"tree_edges", tree_edges},
                       {"total_weight", total},
                       {"digest", hex}};
  return io::append_output(ctx, out, "502.graph-mst", result,
                           io::generated_input_measurement(g0, g1, g2));
}

}  // namespace

HPCLESS_PACKAGE("hpcless-bench-502-graph-mst", HPCLESS_FUNCTION(mst))
