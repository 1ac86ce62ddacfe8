#include <cstring>

#include "comm/collectives/algorithms.hpp"

namespace hpcless::comm::coll {

namespace {

// Non-power-of-two groups: the first 2*rem ranks pair up (2i, 2i+1); the even rank hands its
// vector to the odd one, which takes part as new rank i. The other ranks become rank - rem.
// Returns the new rank, or -1 for ranks that sit out.
int fold_in(Context& c, std::byte* out, size_t count, const Reduction& op, int rem,
            std::byte* tmp) {
  const size_t bytes = count * op.elem_size;
  if (c.rank < 2 * rem) {
    if (c.rank % 2 == 0) {
      c.send(c.rank + 1, out, bytes);
      return -1;
    }
    c.recv(c.rank - 1, tmp, bytes);
    op.combine_left(tmp, out, count);
    return c.rank / 2;
  }
  return c.rank - rem;
}

void fold_out(Context& c, std::byte* out, size_t bytes, int rem) {
  if (c.rank < 2 * rem) {
    if (c.rank % 2 == 1) {
      c.send(c.rank - 1, out, bytes);
    } else {
      c.recv(c.rank + 1, out, bytes);
    }
  }
}

int real_rank(int newrank, int rem) { return newrank < rem ? newrank * 2 + 1 : newrank + rem; }

}  // namespace

void allreduce_recursive_doubling(Context& c, const void* in, void* out, size_t count,
                                  const Reduction& op) {
  const size_t bytes = count * op.elem_size;
  auto* res = bytes_of(out);
  if (in != out) std::memcpy(res, in, bytes);
  const int pof2 = pow2_floor(c.size);
  const int rem = c.size - pof2;
  std::byte* tmp = c.ws.get(0, bytes);
  const int newrank = fold_in(c, res, count, op, rem, tmp);
  if (newrank >= 0) {
    for (int mask = 1; mask < pof2; mask <<= 1) {
      const int dst = real_rank(newrank ^ mask, rem);
      c.sendrecv(dst, res, bytes, dst, tmp, bytes);
      if (dst < c.rank) {
        op.combine_left(tmp, res, count);
      } else {
        op.combine_right(tmp, res, count);
      }
    }
  }
  fold_out(c, res, bytes, rem);
}

void allreduce_rabenseifner(Context& c, const void* in, void* out, size_t count,
                            const Reduction& op) {
  const size_t es = op.elem_size;
  const size_t bytes = count * es;
  auto* res = bytes_of(out);
  if (in != out) std::memcpy(res, in, bytes);
  const int pof2 = pow2_floor(c.size);
  const int rem = c.size - pof2;
  std::byte* tmp = c.ws.get(0, bytes);
  const int newrank = fold_in(c, res, count, op, rem, tmp);

  if (newrank >= 0) {
    std::vector<size_t> off;  // element offsets of pof2 blocks
    split_blocks(count, pof2, off);
    // Reduce-scatter by recursive halving: the partner differing in bit `mask` gets the half we
    // do not keep. Ranks whose kept halves are contiguous rank ranges combine them in order.
    int send_idx = 0, recv_idx = 0, last_idx = pof2;
    int mask = 1;
    for (; mask < pof2; mask <<= 1) {
      const int newdst = newrank ^ mask;
      const int dst = real_rank(newdst, rem);
      const int half = pof2 / (mask * 2);
      int s_lo, s_hi, r_lo, r_hi;
      if (newrank < newdst) {
        send_idx = recv_idx + half;
        s_lo = send_idx, s_hi = last_idx, r_lo = recv_idx, r_hi = send_idx;
      } else {
        recv_idx = send_idx + half;
        s_lo = send_idx, s_hi = recv_idx, r_lo = recv_idx, r_hi = last_idx;
      }
      const size_t r_cnt = off[r_hi] - off[r_lo];
      c.sendrecv(dst, res + off[s_lo] * es, (off[s_hi] - off[s_lo]) * es, dst, tmp + off[r_lo] * es,
                 r_cnt * es);
      if (newdst < newrank) {
        op.combine_left(tmp + off[r_lo] * es, res + off[r_lo] * es, r_cnt);
      } else {
        op.combine_right(tmp + off[r_lo] * es, res + off[r_lo] * es, r_cnt);
      }
      send_idx = recv_idx;
      // The last step keeps last_idx: the allgather below starts from that range.
      if (mask * 2 < pof2) last_idx = recv_idx + half;
    }
    // Allgather by recursive doubling, undoing the halving steps in reverse.
    for (mask >>= 1; mask > 0; mask >>= 1) {
      const int newdst = newrank ^ mask;
      const int dst = real_rank(newdst, rem);
      const int half = pof2 / (mask * 2);
      int s_lo, s_hi, r_lo, r_hi;
      if (newrank < newdst) {
        if (mask != pof2 / 2) last_idx += half;
        recv_idx = send_idx + half;
        s_lo = send_idx, s_hi = recv_idx, r_lo = recv_idx, r_hi = last_idx;
      } else {
        recv_idx = send_idx - half;
        s_lo = send_idx, s_hi = last_idx, r_lo = recv_idx, r_hi = send_idx;
      }
      c.sendrecv(dst, res + off[s_lo] * es, (off[s_hi] - off[s_lo]) * es, dst, res + off[r_lo] * es,
                 (off[r_hi] - off[r_lo]) * es);
      if (newrank > newdst) send_idx = recv_idx;
    }
  }
  fold_out(c, res, bytes, rem);
}

void allreduce_ring(Context& c, const void* in, void* out, size_t count, const Reduction& op) {
  const size_t es = op.elem_size;
  auto* res = bytes_of(out);
  if (in != out) std::memcpy(res, in, count * es);
  std::vector<size_t> eoff;
  split_blocks(count, c.size, eoff);
  size_t max_block = 0;
  for (int i = 0; i < c.size; ++i) max_block = std::max(max_block, eoff[i + 1] - eoff[i]);
  ring_reduce_scatter_inplace(c, res, eoff, op, c.ws.get(0, max_block * es));
  std::vector<size_t> boff(eoff.size());
  for (size_t i = 0; i < eoff.size(); ++i) boff[i] = eoff[i] * es;
  ring_allgatherv_inplace(c, res, boff, 0);
}

}  // namespace hpcless::comm::coll
