#include "comm/channel/peer_channel.hpp"

#include <cstring>
#include <string>

#include "comm/base/error.hpp"
#include "comm/collectives/algorithms.hpp"

namespace hpcless::comm {

namespace {

// Rethrows e with "<op>: " in front, keeping its type (callers catch TimeoutError etc.).
[[noreturn]] void rethrow_in(std::string_view op, const Error& e) {
  std::string msg(op);
  msg += ": ";
  msg += e.what();
  if (dynamic_cast<const TimeoutError*>(&e)) throw TimeoutError(msg);
  if (dynamic_cast<const IoError*>(&e)) throw IoError(msg);
  if (dynamic_cast<const ProtocolError*>(&e)) throw ProtocolError(msg);
  if (dynamic_cast<const ConfigError*>(&e)) throw ConfigError(msg);
  throw Error(msg);
}

}  // namespace

template <class F>
void PeerChannel::run(std::string_view op, Deadline deadline, F&& body) {
  ++seq_;
  // Tag: collective bit, 55 bits of sequence number. Every rank counts the same calls.
  const Tag tag = kCollectiveTagBit | (seq_ & ((Tag{1} << 55) - 1)) << 8;
  coll::Context ctx{*this, rank(), size(), tag, deadline, tuning_, ws_};
  try {
    body(ctx);
  } catch (const Error& e) {
    // A half-finished collective leaves messages in flight that no later call can match:
    // break the channel so that every rank fails now rather than at its deadline.
    abort(std::string(op) + " failed on rank " + std::to_string(rank()) + ": " + e.what());
    rethrow_in(op, e);
  } catch (const std::bad_alloc&) {
    abort(std::string(op) + " failed on rank " + std::to_string(rank()) + ": out of memory");
    throw;
  }
}

void PeerChannel::check_root(std::string_view op, int root) const {
  if (root < 0 || root >= size())
    throw ConfigError(std::string(op) + ": root " + std::to_string(root) +
                      " is not a rank of this group (size " + std::to_string(size()) + ")");
}

void PeerChannel::barrier(Deadline deadline) {
  run("barrier", deadline, [&](coll::Context& c) { coll::barrier(c); });
}

void PeerChannel::bcast(void* data, size_t bytes, int root, Deadline deadline) {
  check_root("bcast", root);
  run("bcast", deadline, [&](coll::Context& c) { coll::bcast(c, data, bytes, root); });
}

void PeerChannel::reduce(const void* in, void* out, size_t count, const Reduction& op, int root,
                         Deadline deadline) {
  check_root("reduce", root);
  run("reduce", deadline, [&](coll::Context& c) { coll::reduce(c, in, out, count, op, root); });
}

void PeerChannel::allreduce(const void* in, void* out, size_t count, const Reduction& op,
                            Deadline deadline) {
  run("allreduce", deadline, [&](coll::Context& c) { coll::allreduce(c, in, out, count, op); });
}

void PeerChannel::gather(const void* in, size_t bytes, void* out, int root, Deadline deadline) {
  check_root("gather", root);
  run("gather", deadline, [&](coll::Context& c) { coll::gather(c, in, bytes, out, root); });
}

void PeerChannel::gatherv(const void* in, size_t bytes, void* out, std::span<const size_t> counts,
                          std::span<const size_t> displs, int root, Deadline deadline) {
  check_root("gatherv", root);
  run("gatherv", deadline, [&](coll::Context& c) {
    if (c.size == 1) {
      if (counts.size() != 1 || displs.size() != 1 || counts[0] != bytes)
        throw ConfigError("gatherv: counts/displs need one entry matching the send size");
      if (bytes != 0) std::memcpy(static_cast<std::byte*>(out) + displs[0], in, bytes);
      return;
    }
    coll::gatherv_linear(c, in, bytes, out, counts, displs, root);
  });
}

void PeerChannel::scatter(const void* in, void* out, size_t bytes, int root, Deadline deadline) {
  check_root("scatter", root);
  run("scatter", deadline, [&](coll::Context& c) { coll::scatter(c, in, out, bytes, root); });
}

void PeerChannel::scatterv(const void* in, std::span<const size_t> counts,
                           std::span<const size_t> displs, void* out, size_t bytes, int root,
                           Deadline deadline) {
  check_root("scatterv", root);
  run("scatterv", deadline, [&](coll::Context& c) {
    if (c.size == 1) {
      if (counts.size() != 1 || displs.size() != 1 || counts[0] != bytes)
        throw ConfigError("scatterv: counts/displs need one entry matching the receive size");
      if (bytes != 0) std::memcpy(out, static_cast<const std::byte*>(in) + displs[0], bytes);
      return;
    }
    coll::scatterv_linear(c, in, counts, displs, out, bytes, root);
  });
}

void PeerChannel::allgather(const void* in, size_t bytes, void* out, Deadline deadline) {
  run("allgather", deadline, [&](coll::Context& c) { coll::allgather(c, in, bytes, out); });
}

void PeerChannel::alltoall(const void* in, void* out, size_t block_bytes, Deadline deadline) {
  if (in == out && block_bytes != 0 && size() > 1)
    throw ConfigError("alltoall: the send and receive buffers must not be the same");
  run("alltoall", deadline, [&](coll::Context& c) { coll::alltoall(c, in, out, block_bytes); });
}

void PeerChannel::reduce_scatter(const void* in, void* out, std::span<const size_t> counts,
                                 const Reduction& op, Deadline deadline) {
  if (counts.size() != static_cast<size_t>(size()))
    throw ConfigError("reduce_scatter: counts needs one entry per rank (" + std::to_string(size()) +
                      "), got " + std::to_string(counts.size()));
  run("reduce_scatter", deadline,
      [&](coll::Context& c) { coll::reduce_scatter(c, in, out, counts, op); });
}

void PeerChannel::scan(const void* in, void* out, size_t count, const Reduction& op,
                       Deadline deadline) {
  run("scan", deadline, [&](coll::Context& c) { coll::scan(c, in, out, count, op); });
}

}  // namespace hpcless::comm
