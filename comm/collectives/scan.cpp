#include <cstring>

#include "comm/collectives/algorithms.hpp"

namespace hpcless::comm::coll {

void scan_recursive_doubling(Context& c, const void* in, void* out, size_t count,
                             const Reduction& op) {
  const size_t bytes = count * op.elem_size;
  auto* res = bytes_of(out);
  if (in != out) std::memcpy(res, in, bytes);
  // partial: reduction over the block of ranks this rank has heard of so far (a contiguous
  // range containing it); res: reduction over ranks [0, rank] heard of so far.
  std::byte* partial = c.ws.get(0, bytes);
  std::memcpy(partial, res, bytes);
  std::byte* tmp = c.ws.get(1, bytes);
  for (int mask = 1; mask < c.size; mask <<= 1) {
    const int dst = c.rank ^ mask;
    if (dst >= c.size) continue;
    c.sendrecv(dst, partial, bytes, dst, tmp, bytes);
    if (dst < c.rank) {
      op.combine_left(tmp, partial, count);
      op.combine_left(tmp, res, count);
    } else {
      op.combine_right(tmp, partial, count);
    }
  }
}

}  // namespace hpcless::comm::coll
