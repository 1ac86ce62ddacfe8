#include <cstring>

#include "comm/base/error.hpp"
#include "comm/collectives/algorithms.hpp"

namespace hpcless::comm::coll {

namespace {

// Relative block v lands at absolute block (v + root) % p: two contiguous copies.
void rotate_out(std::byte* dst, const std::byte* rel, size_t bytes, int p, int root) {
  const size_t tail = static_cast<size_t>(p - root) * bytes;  // relative [0, p-root)
  std::memcpy(dst + static_cast<size_t>(root) * bytes, rel, tail);
  std::memcpy(dst, rel + tail, static_cast<size_t>(root) * bytes);
}

void rotate_in(std::byte* rel, const std::byte* src, size_t bytes, int p, int root) {
  const size_t tail = static_cast<size_t>(p - root) * bytes;
  std::memcpy(rel, src + static_cast<size_t>(root) * bytes, tail);
  std::memcpy(rel + tail, src, static_cast<size_t>(root) * bytes);
}

// Number of ranks in the binomial subtree of relative rank v.
int subtree(int v, int p) { return v == 0 ? p : std::min(lowbit(v), p - v); }

void check_v(std::span<const size_t> counts, std::span<const size_t> displs, int p,
             const char* what) {
  if (counts.size() != static_cast<size_t>(p) || displs.size() != static_cast<size_t>(p))
    throw ConfigError(std::string(what) + ": counts and displs need one entry per rank (" +
                      std::to_string(p) + ")");
}

}  // namespace

void gather_binomial(Context& c, const void* in, size_t bytes, void* out, int root) {
  const int p = c.size;
  const int vr = (c.rank - root + p) % p;
  const int sub = subtree(vr, p);
  if (vr != 0 && sub == 1) {  // a leaf sends straight from the caller's buffer
    c.send(c.abs(vr - lowbit(vr), root), in, bytes);
    return;
  }
  // Each node collects the blocks of its subtree [vr, vr+sub) contiguously, children's subtrees
  // directly in place.
  std::byte* buf;
  if (vr == 0) {
    buf = root == 0 ? bytes_of(out) : c.ws.get(0, static_cast<size_t>(p) * bytes);
  } else {
    buf = c.ws.get(0, static_cast<size_t>(sub) * bytes);
  }
  if (buf != in) std::memcpy(buf, in, bytes);
  Batch b(c);
  for (int m = 1; m < sub; m <<= 1)
    b.recv(c.abs(vr + m, root), buf + static_cast<size_t>(m) * bytes,
           static_cast<size_t>(std::min(m, p - vr - m)) * bytes);
  b.wait();
  if (vr != 0) {
    c.send(c.abs(vr - lowbit(vr), root), buf, static_cast<size_t>(sub) * bytes);
  } else if (root != 0) {
    rotate_out(bytes_of(out), buf, bytes, p, root);
  }
}

void gather_linear(Context& c, const void* in, size_t bytes, void* out, int root) {
  if (c.rank != root) {
    c.send(root, in, bytes);
    return;
  }
  Batch b(c);
  for (int i = 1; i < c.size; ++i) {
    const int src = (root + i) % c.size;
    b.recv(src, bytes_of(out) + static_cast<size_t>(src) * bytes, bytes);
  }
  std::memcpy(bytes_of(out) + static_cast<size_t>(root) * bytes, in, bytes);
  b.wait();
}

void gatherv_linear(Context& c, const void* in, size_t bytes, void* out,
                    std::span<const size_t> counts, std::span<const size_t> displs, int root) {
  if (c.rank != root) {
    c.send(root, in, bytes);
    return;
  }
  check_v(counts, displs, c.size, "gatherv");
  if (counts[root] != bytes)
    throw ConfigError("gatherv: the root's own count (" + std::to_string(counts[root]) +
                      " bytes) differs from its send size (" + std::to_string(bytes) + ")");
  Batch b(c);
  for (int i = 1; i < c.size; ++i) {
    const int src = (root + i) % c.size;
    b.recv(src, bytes_of(out) + displs[src], counts[src]);
  }
  if (bytes != 0) std::memcpy(bytes_of(out) + displs[root], in, bytes);
  b.wait();
}

void scatter_binomial(Context& c, const void* in, void* out, size_t bytes, int root) {
  const int p = c.size;
  const int vr = (c.rank - root + p) % p;
  const int sub = subtree(vr, p);
  // buf holds the blocks of this subtree [vr, vr+sub) in relative order.
  const std::byte* buf;
  if (vr == 0) {
    if (root == 0) {
      buf = bytes_of(in);
    } else {
      std::byte* rel = c.ws.get(0, static_cast<size_t>(p) * bytes);
      rotate_in(rel, bytes_of(in), bytes, p, root);
      buf = rel;
    }
  } else if (sub == 1) {
    c.recv(c.abs(vr - lowbit(vr), root), out, bytes);  // a leaf: straight into place
    return;
  } else {
    std::byte* mine = c.ws.get(0, static_cast<size_t>(sub) * bytes);
    c.recv(c.abs(vr - lowbit(vr), root), mine, static_cast<size_t>(sub) * bytes);
    buf = mine;
  }
  Batch b(c);
  for (int m = pow2_ceil(sub) >> 1; m > 0; m >>= 1)
    if (m < sub)
      b.send(c.abs(vr + m, root), buf + static_cast<size_t>(m) * bytes,
             static_cast<size_t>(std::min(m, p - vr - m)) * bytes);
  if (out != buf) std::memcpy(out, buf, bytes);
  b.wait();
}

void scatter_linear(Context& c, const void* in, void* out, size_t bytes, int root) {
  if (c.rank != root) {
    c.recv(root, out, bytes);
    return;
  }
  Batch b(c);
  for (int i = 1; i < c.size; ++i) {
    const int dst = (root + i) % c.size;
    b.send(dst, bytes_of(in) + static_cast<size_t>(dst) * bytes, bytes);
  }
  if (out != bytes_of(in) + static_cast<size_t>(root) * bytes)
    std::memcpy(out, bytes_of(in) + static_cast<size_t>(root) * bytes, bytes);
  b.wait();
}

void scatterv_linear(Context& c, const void* in, std::span<const size_t> counts,
                     std::span<const size_t> displs, void* out, size_t bytes, int root) {
  if (c.rank != root) {
    c.recv(root, out, bytes);
    return;
  }
  check_v(counts, displs, c.size, "scatterv");
  if (counts[root] != bytes)
    throw ConfigError("scatterv: the root's own count (" + std::to_string(counts[root]) +
                      " bytes) differs from its receive size (" + std::to_string(bytes) + ")");
  Batch b(c);
  for (int i = 1; i < c.size; ++i) {
    const int dst = (root + i) % c.size;
    b.send(dst, bytes_of(in) + displs[dst], counts[dst]);
  }
  if (bytes != 0) std::memcpy(out, bytes_of(in) + displs[root], bytes);
  b.wait();
}

}  // namespace hpcless::comm::coll
