// Which algorithm each collective uses, by message size. Every rank of a group must use the same
// tuning (the algorithms of different ranks must match).
//
// Defaults were calibrated on TCP loopback (see docs/communication.md); override them per
// communicator (Communicator::set_tuning / CommOptions::tuning) or with environment variables,
// read by CollectiveTuning::from_env():
//   HPCLESS_COMM_<OP>_ALGO         auto | one of the names below
//   HPCLESS_COMM_<NAME>            a threshold in bytes (e.g. HPCLESS_COMM_ALLREDUCE_LARGE_BYTES)
// A forced algorithm that cannot run an operation (ring with a non-commutative op) falls back to
// one that can.
//
// Thread safety: plain value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hpcless::comm {

enum class Algorithm : uint8_t {
  kAuto,
  kBinomial,           // bcast, reduce, gather, scatter
  kPipeline,           // bcast: segmented chain
  kScatterAllgather,   // bcast: binomial scatter + ring allgather (van de Geijn)
  kRecursiveDoubling,  // allreduce, allgather (any size: non-power-of-two pre/post steps)
  kRabenseifner,       // allreduce: recursive-halving reduce-scatter + recursive-doubling allgather
  kRing,               // allreduce, allgather, reduce_scatter
  kBruck,              // allgather
  kLinear,             // barrier (via rank 0), bcast (root to all), gather, scatter, alltoall
  kPairwise,           // alltoall: size-1 rounds of sendrecv
  kReduceScatterGather,  // reduce: ring reduce-scatter + gather to root
  kReduceThenScatter,    // reduce_scatter: binomial reduce + scatterv
  kDissemination,        // barrier
};

std::string_view algorithm_name(Algorithm a);
// Throws ConfigError listing the valid names.
Algorithm parse_algorithm(std::string_view name);

struct CollectiveTuning {
  Algorithm barrier = Algorithm::kAuto;
  int barrier_linear_max_ranks = 4;  // linear up to this size, dissemination above

  Algorithm bcast = Algorithm::kAuto;
  size_t bcast_large_bytes = 256 * 1024;    // >=: pipeline (binomial below)
  size_t bcast_segment_bytes = 128 * 1024;  // pipeline segment
  int bcast_linear_max_ranks = 4;  // small messages: linear up to this size, binomial above

  Algorithm reduce = Algorithm::kAuto;
  size_t reduce_large_bytes = 256 * 1024;  // >= and commutative: reduce-scatter + gather

  Algorithm allreduce = Algorithm::kAuto;
  size_t allreduce_large_bytes = 128 * 1024;  // >= and commutative: Rabenseifner or ring
  size_t allreduce_ring_bytes = ~size_t{0};   // >=: ring instead of Rabenseifner

  Algorithm allgather = Algorithm::kAuto;
  size_t allgather_large_bytes = 64 * 1024;  // total bytes >=: ring (Bruck below)

  Algorithm gather = Algorithm::kAuto;    // also scatter
  size_t gather_large_bytes = 64 * 1024;  // total bytes >=: linear (binomial below)

  Algorithm alltoall = Algorithm::kAuto;
  size_t alltoall_large_bytes = 32 * 1024;  // per block >=: pairwise (linear below)

  Algorithm reduce_scatter = Algorithm::kAuto;
  size_t reduce_scatter_large_bytes = 64 * 1024;  // total bytes >= and commutative: ring

  // Reads HPCLESS_COMM_* variables over this tuning. Throws ConfigError on a bad value.
  CollectiveTuning with_env() const;
  static CollectiveTuning from_env() { return CollectiveTuning{}.with_env(); }
  std::string describe() const;  // one line, for benchmark headers
};

}  // namespace hpcless::comm
