// Template part of FrameStream::send_frame (included by frame_stream.hpp).
#pragma once

#include <sys/uio.h>

#include <cstring>

namespace hpcless::tcp {

template <class OnBlocked>
SendStatus FrameStream::send_frame(const protocol::Header& h, std::span<const std::byte> payload,
                                   Deadline deadline, OnBlocked&& on_blocked) {
  // Small frames are gathered into one contiguous buffer: one iovec, one skb fragment.
  std::byte head[protocol::kMaxHeaderSize + kCoalesceBytes];
  size_t head_len = protocol::encode_header(h, {head, protocol::kMaxHeaderSize});
  const bool coalesce = !payload.empty() && payload.size() <= kCoalesceBytes;
  if (coalesce) {
    std::memcpy(head + head_len, payload.data(), payload.size());
    head_len += payload.size();
  }
  iovec iov[2] = {{head, head_len}, {const_cast<std::byte*>(payload.data()), payload.size()}};
  int first = 0;
  const int count = payload.empty() || coalesce ? 1 : 2;
  size_t left = head_len + (coalesce ? 0 : payload.size());
  while (true) {
    const ssize_t n = send_some(iov + first, count - first);
    if (n < 0) return SendStatus::kClosed;
    left -= static_cast<size_t>(n);
    if (left == 0) return SendStatus::kOk;
    // Advance the iovec past what was sent.
    size_t sent = static_cast<size_t>(n);
    while (first < count && sent > 0 && sent >= iov[first].iov_len) {
      sent -= iov[first].iov_len;
      ++first;
    }
    iov[first].iov_base = static_cast<std::byte*>(iov[first].iov_base) + sent;
    iov[first].iov_len -= sent;
    if (n == 0) {
      if (deadline.expired()) return SendStatus::kTimeout;
      if (!on_blocked(deadline)) return SendStatus::kClosed;
      // Hot streams keep spinning on sendmsg; sleeping in poll() would add a wake-up to every
      // large transfer. Warm streams sleep until the peer has drained some bytes.
      if (!busy_poll_ &&
          !wait_writable(Deadline::after(std::chrono::milliseconds(10))) && deadline.expired())
        return SendStatus::kTimeout;
    }
  }
}

}  // namespace hpcless::tcp
