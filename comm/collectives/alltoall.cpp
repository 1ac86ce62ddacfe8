#include <cstring>

#include "comm/collectives/algorithms.hpp"

namespace hpcless::comm::coll {

void alltoall_linear(Context& c, const void* in, void* out, size_t block_bytes) {
  const int p = c.size;
  Batch b(c);
  // Staggered order (rank+1, rank+2, ...) so that not every rank talks to rank 0 first.
  for (int i = 1; i < p; ++i) {
    const int src = (c.rank - i + p) % p;
    b.recv(src, bytes_of(out) + static_cast<size_t>(src) * block_bytes, block_bytes);
  }
  for (int i = 1; i < p; ++i) {
    const int dst = (c.rank + i) % p;
    b.send(dst, bytes_of(in) + static_cast<size_t>(dst) * block_bytes, block_bytes);
  }
  std::memcpy(bytes_of(out) + static_cast<size_t>(c.rank) * block_bytes,
              bytes_of(in) + static_cast<size_t>(c.rank) * block_bytes, block_bytes);
  b.wait();
}

void alltoall_pairwise(Context& c, const void* in, void* out, size_t block_bytes) {
  const int p = c.size;
  std::memcpy(bytes_of(out) + static_cast<size_t>(c.rank) * block_bytes,
              bytes_of(in) + static_cast<size_t>(c.rank) * block_bytes, block_bytes);
  for (int s = 1; s < p; ++s) {
    const int dst = (c.rank + s) % p;
    const int src = (c.rank - s + p) % p;
    c.sendrecv(dst, bytes_of(in) + static_cast<size_t>(dst) * block_bytes, block_bytes, src,
               bytes_of(out) + static_cast<size_t>(src) * block_bytes, block_bytes);
  }
}

}  // namespace hpcless::comm::coll
