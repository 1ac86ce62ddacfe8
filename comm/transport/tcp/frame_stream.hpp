// A framed, non-blocking TCP connection: the data path shared by workers and clients.
//
// Receiving: try_recv() makes progress without blocking and hands out one complete frame at a
// time, whose payload stays in the stream's own buffer until consume(). The buffer grows to the
// largest frame seen (bounded by max_payload) and is then reused: steady state allocates nothing.
// Sending: send_frame() gathers header and payload into one sendmsg(); it waits (poll) only when
// the socket buffer is full, and never past its deadline.
//
// Thread safety: none. One thread owns a FrameStream at a time.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/base/fd.hpp"
#include "comm/protocol/frame.hpp"
#include "comm/transport/frame_link.hpp"

namespace hpcless::tcp {

// The statuses are the transport-neutral ones (frame_link.hpp).
using RecvStatus = transport::RecvStatus;
using SendStatus = transport::SendStatus;

class FrameStream {
 public:
  FrameStream(UniqueFd fd, uint32_t max_payload, size_t initial_buffer = 64 * 1024);

  int fd() const noexcept { return fd_.get(); }
  uint32_t max_payload() const noexcept { return max_payload_; }
  void set_max_payload(uint32_t v) noexcept { max_payload_ = v; }

  // Frames with payloads up to this size are copied behind the header and sent as one buffer.
  static constexpr size_t kCoalesceBytes = 1024;

  // Whether a blocked send spins (hot) or sleeps in poll() (warm). Default: sleep.
  void set_busy_poll(bool spin) noexcept { busy_poll_ = spin; }

  // Non-blocking receive. Reads from the socket only when the buffer holds no complete frame.
  RecvStatus try_recv();
  const protocol::Header& header() const noexcept { return header_; }
  std::span<const std::byte> payload() const noexcept { return payload_; }
  protocol::DecodeResult decode_result() const noexcept { return decode_; }
  int errno_value() const noexcept { return errno_; }
  // Monotonic time at which the first bytes of the current frame were read.
  uint64_t frame_arrival_ns() const noexcept { return arrival_ns_; }
  // Releases the current frame (after kFrame).
  void consume() noexcept;
  // Skips the payload of the current frame (after kTooLarge) as it arrives, without storing it.
  void discard() noexcept;
  // True when bytes of a next frame are already buffered (no syscall needed to read them).
  bool has_buffered() const noexcept { return wpos_ > rpos_; }

  // Sends header + payload. `on_blocked` is called with the remaining deadline whenever the socket
  // is full, so that a client can drain replies while its request is stuck (avoids deadlock with
  // a peer that is itself blocked sending to us); it must not send on this stream.
  template <class OnBlocked>
  SendStatus send_frame(const protocol::Header& h, std::span<const std::byte> payload,
                        Deadline deadline, OnBlocked&& on_blocked);
  SendStatus send_frame(const protocol::Header& h, std::span<const std::byte> payload,
                        Deadline deadline) {
    return send_frame(h, payload, deadline, [](Deadline) { return true; });
  }

  // Waits until the socket is readable or the deadline passes; false on timeout.
  bool wait_readable(Deadline deadline) const;

  // Shuts the socket down in both directions (also for other descriptors of it) and closes it.
  void shutdown() noexcept;

 private:
  bool ensure_room(size_t frame_bytes);
  // One sendmsg over iov; returns bytes sent, 0 on EAGAIN, -1 on a closed/failed socket.
  ssize_t send_some(const ::iovec* iov, int iovcnt) noexcept;
  bool wait_writable(Deadline deadline) const;

  UniqueFd fd_;
  uint32_t max_payload_;
  std::vector<std::byte> buf_;
  size_t rpos_ = 0;  // start of the current (unconsumed) frame
  size_t wpos_ = 0;  // end of received bytes
  size_t frame_size_ = 0;
  uint64_t skip_ = 0;     // payload bytes still to discard
  bool partial_ = false;    // try_recv drained the socket; the buffer holds a partial frame
  bool busy_poll_ = false;  // blocked sends spin instead of sleeping in poll()
  uint64_t arrival_ns_ = 0;
  protocol::Header header_;
  std::span<const std::byte> payload_;
  protocol::DecodeResult decode_ = protocol::DecodeResult::kOk;
  int errno_ = 0;
};

}  // namespace hpcless::tcp

#include "comm/transport/tcp/frame_stream_send.hpp"
