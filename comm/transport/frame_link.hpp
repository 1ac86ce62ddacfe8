// A framed, message-oriented connection: the data path that workers, clients and the direct
// channel share, whatever moves the bytes (tcp/ or rdma/).
//
// Receiving hands out one complete frame at a time; its payload stays in the link's own
// (possibly registered) memory until consume(). Sending takes a header and a payload and returns
// when the bytes are on their way (TCP: in the socket; RDMA: posted, source buffer reusable).
//
// Waiting: wait_fd() is one pollable descriptor (epoll) that becomes readable when a frame may
// have arrived or the peer went away. Before sleeping on it, call prepare_wait(): it arms
// notifications where the transport needs that (RDMA completion queues) and returns false when
// something is already pending, in which case the caller must not sleep.
//
// Thread safety: none. One thread owns a link at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "comm/base/clock.hpp"
#include "comm/protocol/frame.hpp"

namespace hpcless::transport {

enum class RecvStatus : uint8_t {
  kFrame,     // a complete frame is available (header(), payload())
  kAgain,     // no complete frame yet; nothing more to read now
  kClosed,    // the peer closed the connection (cleanly, or mid-frame)
  kBadFrame,  // the bytes are not a valid frame: decode_result() says why; close the link
  kTooLarge,  // valid header, payload above the limit: header() is valid; call discard()
  kError,     // the transport failed (reset, completion error): errno_value() says why
};

enum class SendStatus : uint8_t { kOk, kClosed, kTimeout };

// A non-owning reference to a callable `bool(Deadline)`: called while a send is blocked (socket
// full, no credits) so that the owner can drain replies; returning false abandons the send.
class BlockedHook {
 public:
  BlockedHook() = default;
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, BlockedHook>)
  BlockedHook(F& f) : ctx_(&f), fn_([](void* c, Deadline d) { return (*static_cast<F*>(c))(d); }) {}
  bool operator()(Deadline d) const { return fn_ == nullptr || fn_(ctx_, d); }

 private:
  void* ctx_ = nullptr;
  bool (*fn_)(void*, Deadline) = nullptr;
};

class FrameLink {
 public:
  virtual ~FrameLink() = default;

  virtual std::string_view kind() const noexcept = 0;  // "tcp" or "rdma"
  virtual int wait_fd() const noexcept = 0;
  virtual uint32_t max_payload() const noexcept = 0;
  virtual void set_max_payload(uint32_t v) noexcept = 0;
  // Whether blocked sends and waits spin (hot) or sleep (warm).
  virtual void set_busy_poll(bool spin) noexcept = 0;

  virtual RecvStatus try_recv() = 0;
  virtual const protocol::Header& header() const noexcept = 0;
  virtual std::span<const std::byte> payload() const noexcept = 0;
  virtual protocol::DecodeResult decode_result() const noexcept = 0;
  virtual int errno_value() const noexcept = 0;
  // Monotonic time at which the first bytes of the current frame were seen.
  virtual uint64_t frame_arrival_ns() const noexcept = 0;
  virtual void consume() noexcept = 0;
  virtual void discard() noexcept = 0;
  // True when a next frame (or part of one) is already held locally: try_recv() would make
  // progress without the descriptor becoming readable.
  virtual bool has_buffered() const noexcept = 0;

  virtual SendStatus send_frame(const protocol::Header& h, std::span<const std::byte> payload,
                                Deadline deadline, BlockedHook on_blocked) = 0;
  SendStatus send_frame(const protocol::Header& h, std::span<const std::byte> payload,
                        Deadline deadline) {
    return send_frame(h, payload, deadline, BlockedHook());
  }

  // See the file comment. False: do not sleep, call try_recv() first.
  virtual bool prepare_wait() = 0;
  // prepare_wait() + sleep on wait_fd(); false on timeout.
  virtual bool wait_readable(Deadline deadline) = 0;
  // Ends the connection (the peer sees it closed) and releases its resources' use.
  virtual void shutdown() noexcept = 0;
};

}  // namespace hpcless::transport
