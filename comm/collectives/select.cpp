// Algorithm selection: the defaults and thresholds are documented in tuning.hpp and
// docs/communication.md.
#include <cstring>
#include <numeric>

#include "comm/collectives/algorithms.hpp"

namespace hpcless::comm::coll {

void barrier(Context& c) {
  if (c.size == 1) return;
  Algorithm a = c.tuning.barrier;
  if (a == Algorithm::kAuto)
    a = c.size <= c.tuning.barrier_linear_max_ranks ? Algorithm::kLinear
                                                    : Algorithm::kDissemination;
  if (a == Algorithm::kLinear) return barrier_linear(c);
  barrier_dissemination(c);
}

void bcast(Context& c, void* data, size_t bytes, int root) {
  if (c.size == 1 || bytes == 0) return;
  Algorithm a = c.tuning.bcast;
  if (a == Algorithm::kAuto) {
    if (bytes >= c.tuning.bcast_large_bytes && c.size > 2) {
      a = Algorithm::kPipeline;
    } else {
      a = c.size <= c.tuning.bcast_linear_max_ranks ? Algorithm::kLinear : Algorithm::kBinomial;
    }
  }
  switch (a) {
    case Algorithm::kLinear:
      return bcast_linear(c, data, bytes, root);
    case Algorithm::kPipeline:
      return bcast_pipeline(c, data, bytes, root, c.tuning.bcast_segment_bytes);
    case Algorithm::kScatterAllgather:
      return bcast_scatter_allgather(c, data, bytes, root);
    default:
      return bcast_binomial(c, data, bytes, root);
  }
}

void reduce(Context& c, const void* in, void* out, size_t count, const Reduction& op, int root) {
  const size_t bytes = count * op.elem_size;
  if (c.size == 1 || bytes == 0) {
    if (c.rank == root && in != out && bytes != 0) std::memcpy(out, in, bytes);
    return;
  }
  Algorithm a = c.tuning.reduce;
  if (a == Algorithm::kAuto)
    a = bytes >= c.tuning.reduce_large_bytes ? Algorithm::kReduceScatterGather
                                             : Algorithm::kBinomial;
  if (a == Algorithm::kReduceScatterGather && op.commutative)
    return reduce_scatter_gather(c, in, out, count, op, root);
  return reduce_binomial(c, in, out, count, op, root);
}

void allreduce(Context& c, const void* in, void* out, size_t count, const Reduction& op) {
  const size_t bytes = count * op.elem_size;
  if (c.size == 1 || bytes == 0) {
    if (in != out && bytes != 0) std::memcpy(out, in, bytes);
    return;
  }
  Algorithm a = c.tuning.allreduce;
  if (a == Algorithm::kAuto) {
    if (bytes < c.tuning.allreduce_large_bytes || !op.commutative ||
        count < static_cast<size_t>(c.size)) {
      a = Algorithm::kRecursiveDoubling;
    } else {
      a = bytes >= c.tuning.allreduce_ring_bytes ? Algorithm::kRing : Algorithm::kRabenseifner;
    }
  }
  switch (a) {
    case Algorithm::kRing:
      if (op.commutative) return allreduce_ring(c, in, out, count, op);
      return allreduce_recursive_doubling(c, in, out, count, op);
    case Algorithm::kRabenseifner:
      return allreduce_rabenseifner(c, in, out, count, op);
    default:
      return allreduce_recursive_doubling(c, in, out, count, op);
  }
}

void gather(Context& c, const void* in, size_t bytes, void* out, int root) {
  if (bytes == 0) return;
  if (c.size == 1) {
    if (in != out) std::memcpy(out, in, bytes);
    return;
  }
  Algorithm a = c.tuning.gather;
  if (a == Algorithm::kAuto)
    a = bytes * static_cast<size_t>(c.size) >= c.tuning.gather_large_bytes ? Algorithm::kLinear
                                                                           : Algorithm::kBinomial;
  if (a == Algorithm::kLinear) return gather_linear(c, in, bytes, out, root);
  return gather_binomial(c, in, bytes, out, root);
}

void scatter(Context& c, const void* in, void* out, size_t bytes, int root) {
  if (bytes == 0) return;
  if (c.size == 1) {
    if (in != out) std::memcpy(out, in, bytes);
    return;
  }
  Algorithm a = c.tuning.gather;
  if (a == Algorithm::kAuto)
    a = bytes * static_cast<size_t>(c.size) >= c.tuning.gather_large_bytes ? Algorithm::kLinear
                                                                           : Algorithm::kBinomial;
  if (a == Algorithm::kLinear) return scatter_linear(c, in, out, bytes, root);
  return scatter_binomial(c, in, out, bytes, root);
}

void allgather(Context& c, const void* in, size_t bytes, void* out) {
  if (bytes == 0) return;
  if (c.size == 1) {
    if (in != out) std::memcpy(out, in, bytes);
    return;
  }
  Algorithm a = c.tuning.allgather;
  if (a == Algorithm::kAuto)
    a = bytes * static_cast<size_t>(c.size) >= c.tuning.allgather_large_bytes ? Algorithm::kRing
                                                                              : Algorithm::kBruck;
  if (a == Algorithm::kRing) return allgather_ring(c, in, bytes, out);
  return allgather_bruck(c, in, bytes, out);
}

void alltoall(Context& c, const void* in, void* out, size_t block_bytes) {
  if (block_bytes == 0) return;
  Algorithm a = c.tuning.alltoall;
  if (a == Algorithm::kAuto)
    a = block_bytes >= c.tuning.alltoall_large_bytes ? Algorithm::kPairwise : Algorithm::kLinear;
  if (a == Algorithm::kPairwise) return alltoall_pairwise(c, in, out, block_bytes);
  return alltoall_linear(c, in, out, block_bytes);
}

void reduce_scatter(Context& c, const void* in, void* out, std::span<const size_t> counts,
                    const Reduction& op) {
  const size_t total = std::accumulate(counts.begin(), counts.end(), size_t{0});
  if (total == 0) return;
  if (c.size == 1) {
    if (in != out) std::memcpy(out, in, total * op.elem_size);
    return;
  }
  Algorithm a = c.tuning.reduce_scatter;
  if (a == Algorithm::kAuto)
    a = total * op.elem_size >= c.tuning.reduce_scatter_large_bytes ? Algorithm::kRing
                                                                    : Algorithm::kReduceThenScatter;
  if (a == Algorithm::kRing && op.commutative) return reduce_scatter_ring(c, in, out, counts, op);
  return reduce_scatter_reduce_then_scatter(c, in, out, counts, op);
}

void scan(Context& c, const void* in, void* out, size_t count, const Reduction& op) {
  const size_t bytes = count * op.elem_size;
  if (bytes == 0) return;
  if (c.size == 1) {
    if (in != out) std::memcpy(out, in, bytes);
    return;
  }
  scan_recursive_doubling(c, in, out, count, op);
}

}  // namespace hpcless::comm::coll
