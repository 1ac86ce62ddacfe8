#include <cstring>

#include "comm/collectives/algorithms.hpp"

namespace hpcless::comm::coll {

void reduce_binomial(Context& c, const void* in, void* out, size_t count, const Reduction& op,
                     int root) {
  const int p = c.size;
  const size_t bytes = count * op.elem_size;
  // A commutative op may rotate the tree to root; otherwise the tree is rooted at rank 0 so that
  // every node combines the contiguous rank ranges [v, v+m) and [v+m, v+2m) in order.
  const int tree_root = op.commutative ? root : 0;
  const int vr = (c.rank - tree_root + p) % p;
  const bool result_here = c.rank == root && tree_root == root;
  std::byte* acc = result_here ? bytes_of(out) : c.ws.get(0, bytes);
  if (acc != in && bytes != 0) std::memcpy(acc, in, bytes);
  std::byte* tmp = c.ws.get(1, bytes);

  for (int mask = 1; mask < p; mask <<= 1) {
    if ((vr & mask) == 0) {
      const int src = vr | mask;
      if (src < p) {
        c.recv(c.abs(src, tree_root), tmp, bytes);
        op.combine_right(tmp, acc, count);  // children hold higher ranks
      }
    } else {
      c.send(c.abs(vr & ~mask, tree_root), acc, bytes);
      break;
    }
  }
  if (tree_root != root) {
    if (c.rank == tree_root) c.send(root, acc, bytes);
    if (c.rank == root) c.recv(tree_root, out, bytes);
  }
}

void reduce_scatter_gather(Context& c, const void* in, void* out, size_t count, const Reduction& op,
                           int root) {
  const int p = c.size;
  const size_t es = op.elem_size;
  std::vector<size_t> eoff;
  split_blocks(count, p, eoff);
  size_t max_block = 0;
  for (int i = 0; i < p; ++i) max_block = std::max(max_block, eoff[i + 1] - eoff[i]);

  std::byte* work = c.ws.get(2, count * es);
  std::memcpy(work, in, count * es);
  ring_reduce_scatter_inplace(c, work, eoff, op, c.ws.get(1, max_block * es));

  const size_t mine = eoff[c.rank] * es;
  const size_t mine_len = (eoff[c.rank + 1] - eoff[c.rank]) * es;
  if (c.rank != root) {
    c.send(root, work + mine, mine_len);
    return;
  }
  Batch b(c);
  for (int i = 0; i < p; ++i)
    if (i != root) b.recv(i, bytes_of(out) + eoff[i] * es, (eoff[i + 1] - eoff[i]) * es);
  std::memcpy(bytes_of(out) + mine, work + mine, mine_len);
  b.wait();
}

}  // namespace hpcless::comm::coll
