// Collective algorithms over any peer-to-peer channel (direct TCP today, RDMA later).
//
// Each function implements one algorithm; select.cpp picks one per call from the message size,
// the group size and CollectiveTuning. Buffers follow the Channel contract (channel.hpp): byte
// sizes, except element counts for reductions. All ranks must call the same algorithm with
// matching arguments. Every function may throw what Channel::wait_all throws.
//
// Thread safety: none; one collective at a time per channel.
#pragma once

#include <cstddef>
#include <span>

#include "comm/channel/reduction.hpp"
#include "comm/collectives/context.hpp"

namespace hpcless::comm::coll {

// ---- dispatch (select.cpp): what PeerChannel calls ----
void barrier(Context& c);
void bcast(Context& c, void* data, size_t bytes, int root);
void reduce(Context& c, const void* in, void* out, size_t count, const Reduction& op, int root);
void allreduce(Context& c, const void* in, void* out, size_t count, const Reduction& op);
void gather(Context& c, const void* in, size_t bytes, void* out, int root);
void scatter(Context& c, const void* in, void* out, size_t bytes, int root);
void allgather(Context& c, const void* in, size_t bytes, void* out);
void alltoall(Context& c, const void* in, void* out, size_t block_bytes);
void reduce_scatter(Context& c, const void* in, void* out, std::span<const size_t> counts,
                    const Reduction& op);
void scan(Context& c, const void* in, void* out, size_t count, const Reduction& op);

// ---- algorithms ----
// barrier.cpp: ceil(log2 p) rounds of zero-byte messages to rank+2^k.
void barrier_dissemination(Context& c);
// Fan-in to rank 0, fan-out from it: two hops for everyone (best on few ranks).
void barrier_linear(Context& c);

// bcast.cpp
void bcast_binomial(Context& c, void* data, size_t bytes, int root);
// Root sends to every rank: one hop for all (best for small messages on few ranks, where each
// hop costs a wake-up).
void bcast_linear(Context& c, void* data, size_t bytes, int root);
// Chain root -> root+1 -> ... in segments; every segment is received in place.
void bcast_pipeline(Context& c, void* data, size_t bytes, int root, size_t segment);
// Binomial scatter of p chunks, then ring allgather of the chunks (van de Geijn), in place.
void bcast_scatter_allgather(Context& c, void* data, size_t bytes, int root);

// reduce.cpp. Binomial tree; a non-commutative op is reduced towards rank 0 in rank order and
// the result moved to root.
void reduce_binomial(Context& c, const void* in, void* out, size_t count, const Reduction& op,
                     int root);
// Commutative ops: ring reduce-scatter, then each rank sends its reduced block to root.
void reduce_scatter_gather(Context& c, const void* in, void* out, size_t count, const Reduction& op,
                           int root);

// allreduce.cpp. Recursive doubling and Rabenseifner keep rank order (non-commutative ops
// allowed); ring requires a commutative op. Non-power-of-two sizes fold the first 2*(p-pof2)
// ranks in pairs before and unfold after.
void allreduce_recursive_doubling(Context& c, const void* in, void* out, size_t count,
                                  const Reduction& op);
void allreduce_rabenseifner(Context& c, const void* in, void* out, size_t count,
                            const Reduction& op);
void allreduce_ring(Context& c, const void* in, void* out, size_t count, const Reduction& op);

// gather_scatter.cpp
void gather_binomial(Context& c, const void* in, size_t bytes, void* out, int root);
void gather_linear(Context& c, const void* in, size_t bytes, void* out, int root);
void gatherv_linear(Context& c, const void* in, size_t bytes, void* out,
                    std::span<const size_t> counts, std::span<const size_t> displs, int root);
void scatter_binomial(Context& c, const void* in, void* out, size_t bytes, int root);
void scatter_linear(Context& c, const void* in, void* out, size_t bytes, int root);
void scatterv_linear(Context& c, const void* in, std::span<const size_t> counts,
                     std::span<const size_t> displs, void* out, size_t bytes, int root);

// allgather.cpp
void allgather_bruck(Context& c, const void* in, size_t bytes, void* out);
void allgather_ring(Context& c, const void* in, size_t bytes, void* out);
// Ring allgather of blocks already in place in base: block v (relative rank v = rank - shift)
// spans bytes [off[v], off[v+1]).
void ring_allgatherv_inplace(Context& c, std::byte* base, std::span<const size_t> off, int shift);

// alltoall.cpp
void alltoall_linear(Context& c, const void* in, void* out, size_t block_bytes);
void alltoall_pairwise(Context& c, const void* in, void* out, size_t block_bytes);

// reduce_scatter.cpp
// Ring reduce-scatter in place over `work` (commutative op): block i spans elements
// [eoff[i], eoff[i+1]); afterwards this rank's block holds the full reduction. tmp holds the
// largest block.
void ring_reduce_scatter_inplace(Context& c, std::byte* work, std::span<const size_t> eoff,
                                 const Reduction& op, std::byte* tmp);
void reduce_scatter_ring(Context& c, const void* in, void* out, std::span<const size_t> counts,
                         const Reduction& op);
void reduce_scatter_reduce_then_scatter(Context& c, const void* in, void* out,
                                        std::span<const size_t> counts, const Reduction& op);

// scan.cpp: inclusive scan by recursive doubling (rank order kept).
void scan_recursive_doubling(Context& c, const void* in, void* out, size_t count,
                             const Reduction& op);

}  // namespace hpcless::comm::coll
