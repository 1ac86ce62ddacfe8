// Size classes of the graph benchmarks (501, 502, 503), as in SeBS: 10 / 10,000 / 100,000
// vertices, m = 10, seed 42. Client side only.
#pragma once

#include "functions/501.graph-pagerank/graph_common.hpp"
#include "functions/bench/benchmark.hpp"

namespace hpcless::bench::graph {

inline Params params_for(SizeClass s) {
  Params p;
  p.m = 10;
  p.seed = 42;
  p.vertices = by_size_class<decltype(p.vertices)>(s, 10, 10'000, 100'000);
  return p;
}

}  // namespace hpcless::bench::graph
