// The channel interface: everything a Communicator needs from a way of moving bytes.
//
// Two families implement it (as in FMI), so that collectives are written once per family:
//   PeerChannel (peer_channel.hpp): channels with point-to-point links (direct TCP, later RDMA)
//     implement isend/irecv/test/wait_all/cancel/abort; every collective comes from
//     comm/collectives/ (trees, recursive doubling, rings, pipelines).
//   Object-store channels (Redis, S3; later) implement the collectives on put/get/wait of named
//     objects and counters, and point-to-point as one object per message.
//
// All sizes at this layer are bytes, except `count` arguments of reductions (elements of
// Reduction::elem_size). Buffers passed to non-blocking calls must stay valid until the request
// completes or is cancelled. Collective calls must be made by every rank of the channel in the
// same order with matching sizes (as in MPI).
//
// Errors: IoError (a peer closed or failed; the channel is broken), TimeoutError (the deadline
// passed), ProtocolError (mismatched sizes, truncated messages), ConfigError (bad arguments).
// After a collective throws, the channel is aborted: every later call fails, and peers see the
// links close, so that a failure propagates to all ranks instead of leaving them waiting.
//
// Thread safety: none. One thread uses a channel at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "comm/base/clock.hpp"
#include "comm/channel/reduction.hpp"
#include "comm/collectives/tuning.hpp"

namespace hpcless::comm {

// Message tags. User tags are below 2^31; collectives use tags with the top bit set.
using Tag = uint64_t;
inline constexpr Tag kCollectiveTagBit = Tag{1} << 63;

// A pending non-blocking operation; 0 is never a valid id.
using RequestId = uint64_t;

class Channel {
 public:
  virtual ~Channel() = default;

  virtual int rank() const noexcept = 0;
  virtual int size() const noexcept = 0;
  virtual std::string_view kind() const noexcept = 0;  // "direct", "redis", ...

  // ---- point-to-point ----
  // Starts sending `bytes` from data to peer. Completes once the bytes are handed to the
  // transport (the buffer may then be reused), not when the peer has received them.
  virtual RequestId isend(int peer, Tag tag, const void* data, size_t bytes) = 0;
  // Posts a receive for the next message from peer with tag (FIFO per peer and tag).
  // A message longer than capacity fails the request with ProtocolError.
  virtual RequestId irecv(int peer, Tag tag, void* data, size_t capacity) = 0;
  // True when the request finished; it is then released and *bytes (if given) holds the message
  // size. Throws the request's error (and releases it) when it failed.
  virtual bool test(RequestId id, size_t* bytes = nullptr) = 0;
  // Waits until every request finished. On success all are released and bytes[i] (if given) is
  // filled. On failure it throws that request's error and releases it; on timeout it throws
  // TimeoutError. Every other request keeps its state (test() or cancel() it, or abort).
  virtual void wait_all(std::span<const RequestId> ids, Deadline deadline,
                        size_t* bytes = nullptr) = 0;
  // Drops a pending request (no-op for ids already released). A send that was partly
  // transmitted cannot be recalled: its link to that peer is broken.
  virtual void cancel(RequestId id) noexcept = 0;
  // Breaks the channel: pending and later operations fail with IoError(reason); peers see the
  // links close.
  virtual void abort(std::string_view reason) noexcept = 0;

  // ---- collectives (see docs/communication.md for the algorithms) ----
  virtual void barrier(Deadline deadline) = 0;
  virtual void bcast(void* data, size_t bytes, int root, Deadline deadline) = 0;
  // out is written at root only (may be null elsewhere). in == out is allowed at root.
  virtual void reduce(const void* in, void* out, size_t count, const Reduction& op, int root,
                      Deadline deadline) = 0;
  // in == out is allowed.
  virtual void allreduce(const void* in, void* out, size_t count, const Reduction& op,
                         Deadline deadline) = 0;
  // out holds size() blocks of `bytes` at root, in rank order.
  virtual void gather(const void* in, size_t bytes, void* out, int root, Deadline deadline) = 0;
  // counts/displs (bytes) describe where rank i's block lands in out; used at root only.
  virtual void gatherv(const void* in, size_t bytes, void* out, std::span<const size_t> counts,
                       std::span<const size_t> displs, int root, Deadline deadline) = 0;
  // in holds size() blocks of `bytes` at root; each rank receives its block into out.
  virtual void scatter(const void* in, void* out, size_t bytes, int root, Deadline deadline) = 0;
  virtual void scatterv(const void* in, std::span<const size_t> counts,
                        std::span<const size_t> displs, void* out, size_t bytes, int root,
                        Deadline deadline) = 0;
  virtual void allgather(const void* in, size_t bytes, void* out, Deadline deadline) = 0;
  // in and out hold size() blocks of block_bytes; block j of in goes to rank j.
  virtual void alltoall(const void* in, void* out, size_t block_bytes, Deadline deadline) = 0;
  // in holds sum(counts) elements; rank i receives the reduced elements of block i (counts[i]).
  virtual void reduce_scatter(const void* in, void* out, std::span<const size_t> counts,
                              const Reduction& op, Deadline deadline) = 0;
  // Inclusive prefix reduction in rank order. in == out is allowed.
  virtual void scan(const void* in, void* out, size_t count, const Reduction& op,
                    Deadline deadline) = 0;

  // Algorithm choices and thresholds; must be identical on every rank. Channels without
  // tunable algorithms ignore it.
  virtual void set_tuning(const CollectiveTuning& tuning) { (void)tuning; }
};

}  // namespace hpcless::comm
