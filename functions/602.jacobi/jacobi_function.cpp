// 602.jacobi: Jacobi sweeps of the 2-D 5-point stencil on one core (jacobi_common.hpp).
//
// Input (JSON): {"n": 1024, "iterations": 100, "seed": 42}
// Output (JSON): {"benchmark": "602.jacobi",
//                 "result": {"n", "iterations", "seed", "checksum": sum of the interior,
//                            "residual": max change in the last sweep,
//                            "samples": [{"i","j","value"}]},
//                 "measurement": {"download_us", "compute_us", "upload_us", "download_bytes",
//                                 "upload_bytes", "generate_us", "mlups", "gflops"}}
// Only the sweeps are the compute phase; the grid is generated before.
#include <stdexcept>
#include <string>
#include <vector>

#include "comm/base/json.hpp"
#include "functions/602.jacobi/jacobi_common.hpp"
#include "functions/abi/hpcless_function.hpp"
#include "functions/common/package_io.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;
using hpcless::fn::Phase;
using nlohmann::json;
namespace io = hpcless::bench::package_io;
namespace jc = hpcless::bench::jacobi;

int64_t get_int(const json& j, const char* name, int64_t lo, int64_t hi) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer())
    throw std::invalid_argument(std::string("602.jacobi: input needs an integer \"") + name + "\"");
  const auto v = it->get<int64_t>();
  if (v < lo || v > hi)
    throw std::invalid_argument(std::string("602.jacobi: \"") + name + "\" must be in [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                                std::to_string(v));
  return v;
}

jc::Params parse_input(std::span<const std::byte> in) {
  const json j = io::parse_input_object(in, "602.jacobi");
  jc::Params params;
  params.n = static_cast<int>(get_int(j, "n", 1, jc::kMaxN));
  params.iterations = static_cast<int>(get_int(j, "iterations", 0, jc::kMaxIterations));
  io::read_seed(j, "602.jacobi", params.seed);
  return params;
}

int jacobi(Context& ctx, std::span<const std::byte> in, Output& out) {
  const jc::Params p = parse_input(in);
  const auto w = static_cast<size_t>(p.n) + 2;

  const uint64_t g0 = ctx.now_ns();
  std::vector<double> a, b;
  jc::fill_initial(p, a);
  const uint64_t g1 = ctx.now_ns();
  double residual = 0;
  {
    Phase phase(ctx, HPCLESS_PHASE_COMPUTE);
    residual = jc::run(p, a, b);
  }
  const uint64_t g2 = ctx.now_ns();

  json samples = json::array();
  for (const auto& [i, j] : jc::sample_positions(p))
    samples.push_back({{"i", i}, {"j", j}, {"value", a[static_cast<size_t>(i) * w + j]}});

  const double updates = static_cast<double>(p.n) * p.n * p.iterations;
  const double compute_s = static_cast<double>(g2 - g1) / 1e9;
  const json result = {{"n", p.n},
                       {"iterations", p.iterations},
                       {"seed", p.seed},
                       {"checksum", jc::interior_sum(p, a)},
                       {"residual", residual},
                       {"samples", samples}};
  json measurement = io::generated_input_measurement(g0, g1, g2);
  measurement["mlups"] = compute_s > 0 ? updates / compute_s / 1e6 : 0.0;
  measurement["gflops"] = compute_s > 0 ? updates * jc::kFlopsPerUpdate / compute_s / 1e9 : 0.0;
  return io::append_output(ctx, out, "602.jacobi", result, measurement);
}

}  // namespace

HPCLESS_PACKAGE("hpcless-bench-602-jacobi", HPCLESS_FUNCTION(jacobi))
