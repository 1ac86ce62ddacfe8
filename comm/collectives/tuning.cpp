#include "comm/collectives/tuning.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "comm/base/error.hpp"

namespace hpcless::comm {

namespace {

struct Name {
  Algorithm algo;
  std::string_view name;
};
constexpr Name kNames[] = {
    {Algorithm::kAuto, "auto"},
    {Algorithm::kBinomial, "binomial"},
    {Algorithm::kPipeline, "pipeline"},
    {Algorithm::kScatterAllgather, "scatter_allgather"},
    {Algorithm::kRecursiveDoubling, "recursive_doubling"},
    {Algorithm::kRabenseifner, "rabenseifner"},
    {Algorithm::kRing, "ring"},
    {Algorithm::kBruck, "bruck"},
    {Algorithm::kLinear, "linear"},
    {Algorithm::kPairwise, "pairwise"},
    {Algorithm::kReduceScatterGather, "reduce_scatter_gather"},
    {Algorithm::kReduceThenScatter, "reduce_then_scatter"},
    {Algorithm::kDissemination, "dissemination"},
};

void env_algo(const char* var, Algorithm& out) {
  if (const char* v = std::getenv(var)) {
    try {
      out = parse_algorithm(v);
    } catch (const ConfigError& e) {
      throw ConfigError(std::string(var) + ": " + e.what());
    }
  }
}

void env_bytes(const char* var, size_t& out) {
  const char* v = std::getenv(var);
  if (v == nullptr) return;
  const std::string_view s(v);
  unsigned long long value = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    throw ConfigError(std::string(var) + "='" + v + "': expected a byte count");
  out = static_cast<size_t>(value);
}

}  // namespace

std::string_view algorithm_name(Algorithm a) {
  for (const auto& n : kNames)
    if (n.algo == a) return n.name;
  return "unknown";
}

Algorithm parse_algorithm(std::string_view name) {
  for (const auto& n : kNames)
    if (n.name == name) return n.algo;
  std::string all;
  for (const auto& n : kNames) {
    if (!all.empty()) all += ", ";
    all += n.name;
  }
  throw ConfigError("unknown collective algorithm '" + std::string(name) + "' (one of " + all +
                    ")");
}

CollectiveTuning CollectiveTuning::with_env() const {
  CollectiveTuning t = *this;
  env_algo("HPCLESS_COMM_BARRIER_ALGO", t.barrier);
  size_t barrier_linear = static_cast<size_t>(t.barrier_linear_max_ranks);
  env_bytes("HPCLESS_COMM_BARRIER_LINEAR_MAX_RANKS", barrier_linear);
  t.barrier_linear_max_ranks = static_cast<int>(std::min<size_t>(barrier_linear, 1 << 20));
  env_algo("HPCLESS_COMM_BCAST_ALGO", t.bcast);
  env_bytes("HPCLESS_COMM_BCAST_LARGE_BYTES", t.bcast_large_bytes);
  env_bytes("HPCLESS_COMM_BCAST_SEGMENT_BYTES", t.bcast_segment_bytes);
  size_t linear = static_cast<size_t>(t.bcast_linear_max_ranks);
  env_bytes("HPCLESS_COMM_BCAST_LINEAR_MAX_RANKS", linear);
  t.bcast_linear_max_ranks = static_cast<int>(std::min<size_t>(linear, 1 << 20));
  env_algo("HPCLESS_COMM_REDUCE_ALGO", t.reduce);
  env_bytes("HPCLESS_COMM_REDUCE_LARGE_BYTES", t.reduce_large_bytes);
  env_algo("HPCLESS_COMM_ALLREDUCE_ALGO", t.allreduce);
  env_bytes("HPCLESS_COMM_ALLREDUCE_LARGE_BYTES", t.allreduce_large_bytes);
  env_bytes("HPCLESS_COMM_ALLREDUCE_RING_BYTES", t.allreduce_ring_bytes);
  env_algo("HPCLESS_COMM_ALLGATHER_ALGO", t.allgather);
  env_bytes("HPCLESS_COMM_ALLGATHER_LARGE_BYTES", t.allgather_large_bytes);
  env_algo("HPCLESS_COMM_GATHER_ALGO", t.gather);
  env_bytes("HPCLESS_COMM_GATHER_LARGE_BYTES", t.gather_large_bytes);
  env_algo("HPCLESS_COMM_ALLTOALL_ALGO", t.alltoall);
  env_bytes("HPCLESS_COMM_ALLTOALL_LARGE_BYTES", t.alltoall_large_bytes);
  env_algo("HPCLESS_COMM_REDUCE_SCATTER_ALGO", t.reduce_scatter);
  env_bytes("HPCLESS_COMM_REDUCE_SCATTER_LARGE_BYTES", t.reduce_scatter_large_bytes);
  if (t.bcast_segment_bytes == 0) throw ConfigError("HPCLESS_COMM_BCAST_SEGMENT_BYTES must be > 0");
  return t;
}

std::string CollectiveTuning::describe() const {
  auto a = [](Algorithm x) { return std::string(algorithm_name(x)); };
  auto b = [](size_t x) { return x == ~size_t{0} ? std::string("inf") : std::to_string(x); };
  return "barrier=" + a(barrier) + "(linear<=" + std::to_string(barrier_linear_max_ranks) +
         "ranks) bcast=" + a(bcast) + "(large>=" + b(bcast_large_bytes) +
         ",seg=" + b(bcast_segment_bytes) + ",linear<=" + std::to_string(bcast_linear_max_ranks) +
         "ranks) reduce=" + a(reduce) + "(large>=" + b(reduce_large_bytes) +
         ") allreduce=" + a(allreduce) + "(large>=" + b(allreduce_large_bytes) +
         ",ring>=" + b(allreduce_ring_bytes) + ") allgather=" + a(allgather) +
         "(large>=" + b(allgather_large_bytes) + ") gather=" + a(gather) +
         "(large>=" + b(gather_large_bytes) + ") alltoall=" + a(alltoall) +
         "(large>=" + b(alltoall_large_bytes) + ") reduce_scatter=" + a(reduce_scatter) +
         "(large>=" + b(reduce_scatter_large_bytes) + ")";
}

}  // namespace hpcless::comm
