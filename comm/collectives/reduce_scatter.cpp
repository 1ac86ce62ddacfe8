#include <cstring>
#include <numeric>

#include "comm/collectives/algorithms.hpp"

namespace hpcless::comm::coll {

void ring_reduce_scatter_inplace(Context& c, std::byte* work, std::span<const size_t> eoff,
                                 const Reduction& op, std::byte* tmp) {
  const int p = c.size;
  const size_t es = op.elem_size;
  const int right = (c.rank + 1) % p;
  const int left = (c.rank - 1 + p) % p;
  // Block b starts at rank b+1 and travels right, each rank adding its part; after p-1 steps
  // it arrives complete at rank b.
  for (int s = 0; s < p - 1; ++s) {
    const int sb = (c.rank - s - 1 + 2 * p) % p;
    const int rb = (c.rank - s - 2 + 2 * p) % p;
    const size_t rcount = eoff[rb + 1] - eoff[rb];
    c.sendrecv(right, work + eoff[sb] * es, (eoff[sb + 1] - eoff[sb]) * es, left, tmp, rcount * es);
    op.combine_left(tmp, work + eoff[rb] * es, rcount);
  }
}

void reduce_scatter_ring(Context& c, const void* in, void* out, std::span<const size_t> counts,
                         const Reduction& op) {
  const size_t es = op.elem_size;
  std::vector<size_t> eoff(counts.size() + 1, 0);
  size_t max_block = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    eoff[i + 1] = eoff[i] + counts[i];
    max_block = std::max(max_block, counts[i]);
  }
  std::byte* work = c.ws.get(2, eoff.back() * es);
  std::memcpy(work, in, eoff.back() * es);
  ring_reduce_scatter_inplace(c, work, eoff, op, c.ws.get(1, max_block * es));
  if (counts[c.rank] != 0) std::memcpy(out, work + eoff[c.rank] * es, counts[c.rank] * es);
}

void reduce_scatter_reduce_then_scatter(Context& c, const void* in, void* out,
                                        std::span<const size_t> counts, const Reduction& op) {
  const size_t es = op.elem_size;
  const size_t total = std::accumulate(counts.begin(), counts.end(), size_t{0});
  std::byte* full = c.rank == 0 ? c.ws.get(2, total * es) : nullptr;
  reduce_binomial(c, in, full, total, op, 0);
  std::vector<size_t> bcounts(counts.size()), bdispl(counts.size());
  size_t at = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    bcounts[i] = counts[i] * es;
    bdispl[i] = at;
    at += bcounts[i];
  }
  scatterv_linear(c, full, bcounts, bdispl, out, counts[c.rank] * es, 0);
}

}  // namespace hpcless::comm::coll
