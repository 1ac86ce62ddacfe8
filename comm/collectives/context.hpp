// What a collective algorithm works with: a peer-to-peer channel, the caller's rank and size, the
// tag of this collective call, its deadline, the tuning, and reusable scratch memory.
//
// Thread safety: none (one collective at a time per channel).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/channel/channel.hpp"

namespace hpcless::comm::coll {

// Scratch buffers kept across calls: a fresh multi-megabyte buffer per call would be faulted in
// page by page every time. Slots 0 and 1 belong to the basic algorithms; composite algorithms
// (reduce then scatter, ...) keep their own data in slots 2 and 3.
class Workspace {
 public:
  static constexpr int kSlots = 4;
  std::byte* get(int slot, size_t bytes);

 private:
  std::unique_ptr<std::byte[]> buf_[kSlots];
  size_t cap_[kSlots] = {};
};

struct Context {
  Channel& ch;
  int rank;
  int size;
  Tag tag;
  Deadline deadline;
  const CollectiveTuning& tuning;
  Workspace& ws;

  // Absolute rank of relative rank v in a tree rooted at root.
  int abs(int v, int root) const { return (v + root) % size; }

  void send(int peer, const void* data, size_t bytes);
  // Receives exactly `bytes`; a different size means the ranks called mismatched collectives.
  void recv(int peer, void* data, size_t bytes);
  void sendrecv(int dst, const void* sdata, size_t sbytes, int src, void* rdata, size_t rbytes);
};

// A set of requests waited for together; receives are checked for their exact size.
class Batch {
 public:
  explicit Batch(Context& c) : c_(c) {}
  void send(int peer, const void* data, size_t bytes);
  void recv(int peer, void* data, size_t bytes);
  void wait();
  bool empty() const { return ids_.empty(); }

 private:
  static constexpr size_t kSend = ~size_t{0};
  Context& c_;
  std::vector<RequestId> ids_;
  std::vector<size_t> expect_;  // kSend for sends
  std::vector<int> peers_;
  std::vector<size_t> got_;
};

// Inline helpers shared by the algorithm files.
inline std::byte* bytes_of(void* p) { return static_cast<std::byte*>(p); }
inline const std::byte* bytes_of(const void* p) { return static_cast<const std::byte*>(p); }
inline int lowbit(int v) { return v & -v; }
inline int pow2_floor(int p) {
  int r = 1;
  while (r * 2 <= p) r *= 2;
  return r;
}
inline int pow2_ceil(int p) {
  int r = 1;
  while (r < p) r *= 2;
  return r;
}
// Splits count elements into n nearly equal blocks; off has n+1 entries (element offsets).
void split_blocks(size_t count, int n, std::vector<size_t>& off);

}  // namespace hpcless::comm::coll
