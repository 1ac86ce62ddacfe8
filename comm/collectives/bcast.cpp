#include <algorithm>
#include <string>

#include "comm/base/error.hpp"
#include "comm/collectives/algorithms.hpp"

namespace hpcless::comm::coll {

void bcast_binomial(Context& c, void* data, size_t bytes, int root) {
  const int p = c.size;
  const int vr = (c.rank - root + p) % p;
  int mask = 1;
  while (mask < p) {
    if (vr & mask) {
      c.recv(c.abs(vr - mask, root), data, bytes);
      break;
    }
    mask <<= 1;
  }
  // Children vr+mask for the masks below ours, largest subtree first.
  Batch b(c);
  for (mask >>= 1; mask > 0; mask >>= 1)
    if (vr + mask < p) b.send(c.abs(vr + mask, root), data, bytes);
  b.wait();
}

void bcast_linear(Context& c, void* data, size_t bytes, int root) {
  if (c.rank != root) {
    c.recv(root, data, bytes);
    return;
  }
  Batch b(c);
  for (int i = 1; i < c.size; ++i) b.send((root + i) % c.size, data, bytes);
  b.wait();
}

void bcast_pipeline(Context& c, void* data, size_t bytes, int root, size_t segment) {
  const int p = c.size;
  const int vr = (c.rank - root + p) % p;
  const bool has_prev = vr > 0;
  const bool has_next = vr < p - 1;
  const int prev = c.abs(vr - 1 + p, root);
  const int next = c.abs(vr + 1, root);
  auto* base = bytes_of(data);
  const size_t nseg = std::max<size_t>(1, (bytes + segment - 1) / segment);
  auto seg_len = [&](size_t i) { return std::min(segment, bytes - i * segment); };

  // Every segment is received in place; each is forwarded as soon as it is complete.
  std::vector<RequestId> recvs;
  if (has_prev) {
    recvs.reserve(nseg);
    for (size_t i = 0; i < nseg; ++i)
      recvs.push_back(c.ch.irecv(prev, c.tag, base + i * segment, seg_len(i)));
  }
  Batch sends(c);
  for (size_t i = 0; i < nseg; ++i) {
    if (has_prev) {
      size_t got = 0;
      c.ch.wait_all({&recvs[i], 1}, c.deadline, &got);
      if (got != seg_len(i)) {
        // The remaining receives stay posted: the caller aborts the channel on this error.
        throw ProtocolError("bcast: rank " + std::to_string(prev) + " sent a segment of " +
                            std::to_string(got) + " bytes where " + std::to_string(seg_len(i)) +
                            " were expected (mismatched bcast sizes?)");
      }
    }
    if (has_next) sends.send(next, base + i * segment, seg_len(i));
  }
  sends.wait();
}

void bcast_scatter_allgather(Context& c, void* data, size_t bytes, int root) {
  const int p = c.size;
  const int vr = (c.rank - root + p) % p;
  auto* base = bytes_of(data);
  // Relative rank v owns chunk v: bytes [off[v], off[v+1]).
  std::vector<size_t> off;
  split_blocks(bytes, p, off);
  auto range = [&](int first, int last_excl) {
    return std::pair<size_t, size_t>(off[first], off[last_excl] - off[first]);
  };

  // Binomial scatter: a subtree [v, v+lowbit(v)) receives its chunks in place, then passes on
  // the chunks of its children's subtrees.
  int top = pow2_ceil(p);
  if (vr != 0) {
    top = lowbit(vr);
    auto [o, n] = range(vr, std::min(vr + top, p));
    c.recv(c.abs(vr - top, root), base + o, n);
  }
  Batch b(c);
  for (int m = top >> 1; m > 0; m >>= 1) {
    if (vr + m < p) {
      auto [o, n] = range(vr + m, std::min(vr + 2 * m, p));
      b.send(c.abs(vr + m, root), base + o, n);
    }
  }
  b.wait();
  ring_allgatherv_inplace(c, base, off, root);
}

}  // namespace hpcless::comm::coll
