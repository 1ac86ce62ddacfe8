// 501.graph-pagerank: SeBS's graph (graph_common.hpp), then igraph PageRank (PRPACK, d = 0.85).
//
// Input (JSON): {"size": 10000, "m": 10, "seed": 42}
// Output (JSON): {"benchmark": "501.graph-pagerank",
//                 "result": {"vertices", "edges", "sum", "max", "argmax", "eigenvalue",
//                            "first": ranks of vertices 0..9, "projection": sum_i rank_i * w_i},
//                 "measurement": {"download_us", "compute_us", "upload_us", "download_bytes",
//                                 "upload_bytes", "generate_us"}}
// Graph generation is timed apart (SeBS's graph_generating_time); PageRank is the compute phase.
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

int pagerank(Context& ctx, std::span<const std::byte> in, Output& out) {
  const gr::Params p = gr::parse_params(in, "501.graph-pagerank");
  uint64_t g0 = 0, g1 = 0, g2 = 0;
  int64_t vertices = 0, edges = 0, argmax = -1;
  double sum = 0, max = -1, projection = 0;
  igraph_real_t eigenvalue = 0;
  json first = json::array();
  {
    gr::IgraphSession session;  // before the clocks: waiting for the lock is not work
    g0 = ctx.now_ns();
    gr::Graph g;
    gr::barabasi(p, g);
    g1 = ctx.now_ns();
    gr::RealVector ranks;
    {
      Phase phase(ctx, HPCLESS_PHASE_COMPUTE);
      gr::check(igraph_pagerank(g.get(), IGRAPH_PAGERANK_ALGO_PRPACK, ranks.get(), &eigenvalue,
                                igraph_vss_all(), /*directed=*/true, /*damping=*/0.85,
                                /*weights=*/nullptr, /*options=*/nullptr),
                "igraph_pagerank");
    }
    g2 = ctx.now_ns();
    vertices = g.vertices();
    edges = g.edges();
    for (int64_t v = 0; v < ranks.size(); ++v) {
      const double r = ranks[v];
      sum += r;
      projection += r * gr::projection_weight(p.seed, v);
      if (r > max) {
        max = r;
        argmax = v;
      }
      if (v < 10) first.push_back(r);
    }
  }
  const json result = {{"vertices", vertices}, {"edges", edges},
                       {"sum", sum},           {"max", max},
                       {"argmax", argmax},     {"eigenvalue", eigenvalue},
                       {"first", first},       {"projection", projection}};
  return io::append_output(ctx, out, "501.graph-pagerank", result,
                           io::generated_input_measurement(g0, g1, g2));
}

}  // namespace

HPCLESS_PACKAGE("hpcless-bench-501-graph-pagerank", HPCLESS_FUNCTION(pagerank))
