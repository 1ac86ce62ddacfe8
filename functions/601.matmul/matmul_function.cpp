// 601.matmul: C = A * B with OpenBLAS DGEMM on one core.
//
// Input (JSON): {"n": 512, "seed": 42}
// Output (JSON): {"benchmark": "601.matmul",
//                 "result": {"n", "seed", "checksum": sum of C, "samples": [{"i","j","value"}]},
//                 "measurement": {"download_us", "compute_us", "upload_us", "download_bytes",
//                                 "upload_bytes", "generate_us", "gflops"}}
// The matrices are generated inside the function (matmul_common.hpp); only DGEMM is the compute
// phase. OpenBLAS is limited to one thread per call so that a function stays on the worker's
// (pinned) core; concurrent invocations on other worker threads each run their own DGEMM.
#include <cblas.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "comm/base/json.hpp"
#include "functions/601.matmul/matmul_common.hpp"
#include "functions/abi/hpcless_function.hpp"
#include "functions/common/package_io.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;
using hpcless::fn::Phase;
using nlohmann::json;
namespace io = hpcless::bench::package_io;
namespace mm = hpcless::bench::matmul;

mm::Params parse_input(std::span<const std::byte> in) {
  const json j = io::parse_input_object(in, "601.matmul");
  mm::Params params;
  const auto n = j.find("n");
  if (n == j.end() || !n->is_number_integer())
    throw std::invalid_argument("601.matmul: input needs an integer \"n\"");
  const auto nv = n->get<int64_t>();
  if (nv < 1 || nv > mm::kMaxN)
    throw std::invalid_argument("601.matmul: \"n\" must be in [1, " + std::to_string(mm::kMaxN) +
                                "], got " + std::to_string(nv));
  params.n = static_cast<int>(nv);
  io::read_seed(j, "601.matmul", params.seed);
  return params;
}

int matmul(Context& ctx, std::span<const std::byte> in, Output& out) {
  const mm::Params p = parse_input(in);
  const auto n = static_cast<size_t>(p.n);

  const uint64_t g0 = ctx.now_ns();
  std::vector<double> a(n * n), b(n * n), c(n * n);
  for (size_t i = 0; i < n * n; ++i) {
    a[i] = mm::element(p.seed, mm::kMatrixA, i);
    b[i] = mm::element(p.seed, mm::kMatrixB, i);
  }
  const uint64_t g1 = ctx.now_ns();

  // Per call, not once: another package in this process may have raised it.
  openblas_set_num_threads(1);
  {
    Phase phase(ctx, HPCLESS_PHASE_COMPUTE);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p.n, p.n, p.n, 1.0, a.data(), p.n,
                b.data(), p.n, 0.0, c.data(), p.n);
  }
  const uint64_t g2 = ctx.now_ns();

  double checksum = 0;
  for (double v : c) checksum += v;
  json samples = json::array();
  for (const auto& [i, j] : mm::sample_positions(p))
    samples.push_back({{"i", i}, {"j", j}, {"value", c[static_cast<size_t>(i) * n + j]}});

  const double compute_s = static_cast<double>(g2 - g1) / 1e9;
  const double flops =
      2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  json measurement = io::generated_input_measurement(g0, g1, g2);
  measurement["gflops"] = compute_s > 0 ? flops / compute_s / 1e9 : 0.0;
  return io::append_output(
      ctx, out, "601.matmul",
      {{"n", p.n}, {"seed", p.seed}, {"checksum", checksum}, {"samples", samples}}, measurement);
}

}  // namespace

HPCLESS_PACKAGE("hpcless-bench-601-matmul", HPCLESS_FUNCTION(matmul))
