// Example group functions (docs/communication.md, "Group invocation"), package
// libhpcless_group_functions.so:
//
//   group.sum     input "n=1000 [fail=R] [crash=R]": rank r contributes x[i] = (r+1)*1000 + i,
//                 i < n; allreduce (sum, int64); every rank checks every element; rank 0 returns
//                 "total=T n=N ranks=P channel=C", the others "rank R ok". fail=R makes rank R
//                 fail before joining the group, crash=R makes it abort() its worker (tests).
//   group.kmeans  input "points=N k=K [dim=2] [seed=S] [steps=1]": one (or `steps`) k-means step
//                 over N deterministic points, sharded contiguously over the ranks; allreduce of
//                 the per-cluster sums and counts; rank 0 returns the new centroids (%.17g, one
//                 "cI: x y" line per cluster), the others "rank R ok".
#include <algorithm>
#include <cinttypes>
#include <span>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "functions/abi/hpcless_function.hpp"
#include "functions/group/group_context.hpp"
#include "functions/group/group_inputs.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Group;
using hpcless::fn::Output;

std::string_view text_of(std::span<const std::byte> in) {
  return {reinterpret_cast<const char*>(in.data()), in.size()};
}

int group_sum(Context& ctx, std::span<const std::byte> in, Output& out) {
  const auto opt = hpcless::group_fn::parse_options(text_of(in), {"n", "fail", "crash"});
  Group g(ctx);
  const int64_t n = opt.count("n") ? opt.at("n") : 1000;
  if (n < 0 || n > (int64_t{1} << 24)) return ctx.fail("group.sum: n must be 0 .. 16777216");
  if (opt.count("fail") && opt.at("fail") == g.rank())
    return ctx.fail(("group.sum: rank " + std::to_string(g.rank()) + " failed on purpose").c_str());
  if (opt.count("crash") && opt.at("crash") == g.rank()) std::abort();

  std::vector<int64_t> x(static_cast<size_t>(n));
  for (size_t i = 0; i < x.size(); ++i) x[i] = hpcless::group_fn::sum_element(g.rank(), i);
  auto& comm = g.communicator();
  comm.allreduce(x, hpcless::comm::Op::kSum);
  int64_t total = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] != hpcless::group_fn::sum_expected(g.size(), i))
      return ctx.fail(("group.sum: element " + std::to_string(i) + " is " + std::to_string(x[i]) +
                       ", expected " + std::to_string(hpcless::group_fn::sum_expected(g.size(), i)))
                          .c_str());
    total += x[i];
  }
  std::string r = g.rank() == 0 ? "total=" + std::to_string(total) + " n=" + std::to_string(n) +
                                      " ranks=" + std::to_string(g.size()) + " channel=" +
                                      std::string(hpcless::comm::to_string(comm.channel_choice()))
                                : "rank " + std::to_string(g.rank()) + " ok";
  return out.append(r) ? 0 : ctx.fail("group.sum: output too large");
}

int group_kmeans(Context& ctx, std::span<const std::byte> in, Output& out) {
  const auto opt =
      hpcless::group_fn::parse_options(text_of(in), {"points", "k", "dim", "seed", "steps"});
  Group g(ctx);
  const int64_t points = opt.count("points") ? opt.at("points") : 10000;
  const int64_t k = opt.count("k") ? opt.at("k") : 4;
  const int64_t dim = opt.count("dim") ? opt.at("dim") : 2;
  const int64_t seed = opt.count("seed") ? opt.at("seed") : 1;
  const int64_t steps = opt.count("steps") ? opt.at("steps") : 1;
  if (points < 1 || points > (int64_t{1} << 26) || k < 1 || k > points || k > 4096 || dim < 1 ||
      dim > 64 || steps < 1 || steps > 1000)
    return ctx.fail("group.kmeans: need 1 <= k <= points <= 2^26, k <= 4096, 1 <= dim <= 64, "
                    "1 <= steps <= 1000");
  const auto [begin, end] = hpcless::group_fn::kmeans_shard(size_t(points), g.rank(), g.size());
  auto centroids = hpcless::group_fn::kmeans_initial(uint64_t(seed), size_t(k), size_t(dim));
  auto& comm = g.communicator();
  std::vector<double> acc(size_t(k) * size_t(dim + 1));
  for (int64_t s = 0; s < steps; ++s) {
    std::fill(acc.begin(), acc.end(), 0.0);
    hpcless::group_fn::kmeans_accumulate(uint64_t(seed), begin, end, size_t(dim), centroids, acc);
    comm.allreduce(acc, hpcless::comm::Op::kSum);
    centroids = hpcless::group_fn::kmeans_update(centroids, acc, size_t(dim));
  }
  const std::string r = g.rank() == 0 ? hpcless::group_fn::format_centroids(centroids, size_t(dim))
                                      : "rank " + std::to_string(g.rank()) + " ok";
  return out.append(r) ? 0 : ctx.fail("group.kmeans: output too large");
}

}  // namespace

HPCLESS_PACKAGE("group-functions", HPCLESS_NAMED_FUNCTION("group.sum", group_sum),
                HPCLESS_NAMED_FUNCTION("group.kmeans", group_kmeans))
