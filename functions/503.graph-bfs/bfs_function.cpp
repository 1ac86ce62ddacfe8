// 503.graph-bfs: SeBS's graph (501.graph-pagerank/graph_common.hpp), then breadth-first search
// from vertex 0 (igraph_bfs_simple, as SeBS's graph.bfs(0)).
//
// Input (JSON): {"size": 10000, "m": 10, "seed": 42}
// Output (JSON): {"benchmark": "503.graph-bfs",
//                 "result": {"vertices", "edges", "root": 0, "visited", "layers",
//                            "layer_sizes": [...], "parents": [parent of each vertex;
//                            negative for the root and unreached vertices]},
//                 "measurement": {"download_us", "compute_us", "upload_us", "download_bytes",
//                                 "upload_bytes", "generate_us"}}
// Graph generation is timed apart; the BFS is the compute phase.
#include <vector>

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

int bfs(Context& ctx, std::span<const std::byte> in, Output& out) {
  const gr::Params p = gr::parse_params(in, "503.graph-bfs");
  uint64_t g0 = 0, g1 = 0, g2 = 0;
  int64_t vertices = 0, edges = 0, visited = 0;
  std::vector<int64_t> layer_sizes, parents;
  {
    gr::IgraphSession session;  // before the clocks: waiting for the lock is not work
    g0 = ctx.now_ns();
    gr::Graph g;
    gr::barabasi(p, g);
    g1 = ctx.now_ns();
    gr::IntVector order, layers, parent;
    {
      Phase phase(ctx, HPCLESS_PHASE_COMPUTE);
      gr::check(igraph_bfs_simple(g.get(), /*root=*/0, IGRAPH_ALL, order.get(), layers.get(),
                                  parent.get()),
                "igraph_bfs_simple");
    }
    g2 = ctx.now_ns();
    vertices = g.vertices();
    edges = g.edges();
    visited = order.size();
    for (int64_t l = 0; l + 1 < layers.size(); ++l)
      layer_sizes.push_back(layers[l + 1] - layers[l]);
    parents.resize(static_cast<size_t>(parent.size()));
    for (int64_t v = 0; v < parent.size(); ++v) parents[static_cast<size_t>(v)] = parent[v];
  }
  const json result = {{"vertices", vertices},
                       {"edges", edges},
                       {"root", 0},
                       {"visited", visited},
                       {"layers", layer_sizes.size()},
                       {"layer_sizes", layer_sizes},
                       {"parents", parents}};
  return io::append_output(ctx, out, "503.graph-bfs", result,
                           io::generated_input_measurement(g0, g1, g2));
}

}  // namespace

HPCLESS_PACKAGE("hpcless-bench-503-graph-bfs", HPCLESS_FUNCTION(bfs))
