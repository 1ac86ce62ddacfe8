#include <cstring>

#include "comm/collectives/algorithms.hpp"

namespace hpcless::comm::coll {

void allgather_bruck(Context& c, const void* in, size_t bytes, void* out) {
  const int p = c.size;
  // tmp[i] collects the block of rank (rank + i) % p; rank 0's order is already the final one.
  std::byte* tmp = c.rank == 0 ? bytes_of(out) : c.ws.get(0, static_cast<size_t>(p) * bytes);
  std::memcpy(tmp, in, bytes);
  for (int pof = 1; pof < p; pof <<= 1) {
    const size_t n = static_cast<size_t>(std::min(pof, p - pof)) * bytes;
    c.sendrecv((c.rank - pof + p) % p, tmp, n, (c.rank + pof) % p,
               tmp + static_cast<size_t>(pof) * bytes, n);
  }
  if (tmp != out) {
    const size_t head = static_cast<size_t>(p - c.rank) * bytes;
    std::memcpy(bytes_of(out) + static_cast<size_t>(c.rank) * bytes, tmp, head);
    std::memcpy(out, tmp + head, static_cast<size_t>(c.rank) * bytes);
  }
}

void ring_allgatherv_inplace(Context& c, std::byte* base, std::span<const size_t> off, int shift) {
  const int p = c.size;
  const int vr = (c.rank - shift + p) % p;
  const int right = (c.rank + 1) % p;
  const int left = (c.rank - 1 + p) % p;
  // Step s: pass on the block received in step s-1 (our own at s = 0); every block lands in
  // place.
  for (int s = 0; s < p - 1; ++s) {
    const int sb = (vr - s + p) % p;
    const int rb = (vr - s - 1 + p) % p;
    c.sendrecv(right, base + off[sb], off[sb + 1] - off[sb], left, base + off[rb],
               off[rb + 1] - off[rb]);
  }
}

void allgather_ring(Context& c, const void* in, size_t bytes, void* out) {
  const int p = c.size;
  std::vector<size_t> off(static_cast<size_t>(p) + 1);
  for (int i = 0; i <= p; ++i) off[i] = static_cast<size_t>(i) * bytes;
  std::byte* mine = bytes_of(out) + off[c.rank];
  if (mine != in) std::memcpy(mine, in, bytes);
  ring_allgatherv_inplace(c, bytes_of(out), off, 0);
}

}  // namespace hpcless::comm::coll
