// Every benchmark of the suite, registered explicitly (see benchmark.hpp).
//
// Adding a benchmark: write `void register_<id>(Registry&)` in its folder's client sources
// (namespace hpcless::bench), declare it below, call it in all_benchmarks.cpp, and add the folder
// with hpcless_add_benchmark() (functions/CMakeLists.txt).
#pragma once

#include "functions/bench/benchmark.hpp"

namespace hpcless::bench {

// ---- storage and web benchmarks ----
void register_010(Registry& r);  // 010.sleep
void register_110(Registry& r);  // 110.dynamic-html
void register_120(Registry& r);  // 120.uploader
void register_130(Registry& r);  // 130.crud-api
// ---- compute benchmarks (210, 311, 501-504, 601-603): declare yours here ----
void register_210(Registry& r);  // 210.thumbnailer
void register_311(Registry& r);  // 311.compression
void register_501(Registry& r);  // 501.graph-pagerank
void register_502(Registry& r);  // 502.graph-mst
void register_503(Registry& r);  // 503.graph-bfs
void register_504(Registry& r);  // 504.dna-visualisation
void register_601(Registry& r);  // 601.matmul
void register_602(Registry& r);  // 602.jacobi
void register_603(Registry& r);  // 603.stream

// A registry holding every benchmark above, in id order. Built once, on first use (thread-safe).
const Registry& all_benchmarks();

}  // namespace hpcless::bench
