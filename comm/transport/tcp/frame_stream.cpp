#include "comm/transport/tcp/frame_stream.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace hpcless::tcp {

using protocol::DecodeResult;

FrameStream::FrameStream(UniqueFd fd, uint32_t max_payload, size_t initial_buffer)
    : fd_(std::move(fd)), max_payload_(max_payload), buf_(initial_buffer) {}

bool FrameStream::ensure_room(size_t frame_bytes) {
  // Make room for a whole frame starting at rpos_: first slide it to the front, then grow.
  if (buf_.size() - rpos_ >= frame_bytes) return true;
  if (rpos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + rpos_, wpos_ - rpos_);
    wpos_ -= rpos_;
    rpos_ = 0;
  }
  if (buf_.size() < frame_bytes) {
    try {
      buf_.resize(frame_bytes);
    } catch (const std::bad_alloc&) {
      return false;
    }
  }
  return true;
}

RecvStatus FrameStream::try_recv() {
  partial_ = false;
  while (true) {
    // Drop the payload of an oversized frame as it streams in.
    if (skip_ > 0) {
      const size_t have = wpos_ - rpos_;
      const size_t drop = have < skip_ ? have : static_cast<size_t>(skip_);
      rpos_ += drop;
      skip_ -= drop;
      if (rpos_ == wpos_) rpos_ = wpos_ = 0;
    }
    if (skip_ == 0 && wpos_ > rpos_) {
      size_t hsize = 0;
      const auto r = protocol::decode_header({buf_.data() + rpos_, wpos_ - rpos_}, max_payload_,
                                             header_, hsize);
      if (r == DecodeResult::kOk) {
        frame_size_ = hsize + header_.payload_len;
        if (wpos_ - rpos_ >= frame_size_) {
          payload_ = {buf_.data() + rpos_ + hsize, header_.payload_len};
          return RecvStatus::kFrame;
        }
        if (!ensure_room(frame_size_)) {
          frame_size_ = hsize;  // discard() skips the header, then payload_len bytes
          decode_ = DecodeResult::kTooLarge;
          return RecvStatus::kTooLarge;
        }
      } else if (r == DecodeResult::kTooLarge) {
        decode_ = r;
        frame_size_ = hsize;
        return RecvStatus::kTooLarge;
      } else if (r != DecodeResult::kNeedMore) {
        decode_ = r;
        return RecvStatus::kBadFrame;
      } else {
        ensure_room(protocol::kMaxHeaderSize);
      }
    }
    if (rpos_ == wpos_) rpos_ = wpos_ = 0;
    if (wpos_ == buf_.size()) ensure_room(wpos_ - rpos_ + 1);
    const ssize_t n = ::recv(fd_.get(), buf_.data() + wpos_, buf_.size() - wpos_, MSG_DONTWAIT);
    if (n > 0) {
      if (wpos_ == rpos_) arrival_ns_ = now_ns();
      wpos_ += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return RecvStatus::kClosed;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      partial_ = wpos_ > rpos_;
      return RecvStatus::kAgain;
    }
    if (errno == EINTR) continue;
    errno_ = errno;
    return (errno == ECONNRESET || errno == EPIPE) ? RecvStatus::kClosed : RecvStatus::kError;
  }
}

void FrameStream::consume() noexcept {
  rpos_ += frame_size_;
  frame_size_ = 0;
  payload_ = {};
  if (rpos_ == wpos_) rpos_ = wpos_ = 0;
  else arrival_ns_ = now_ns();  // the next frame is already here
}

void FrameStream::discard() noexcept {
  rpos_ += frame_size_;  // the header
  skip_ = header_.payload_len;
  frame_size_ = 0;
  payload_ = {};
}

ssize_t FrameStream::send_some(const iovec* iov, int iovcnt) noexcept {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(iovcnt);
  while (true) {
    const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    errno_ = errno;
    return -1;
  }
}

bool FrameStream::wait_writable(Deadline deadline) const {
  pollfd p{fd_.get(), POLLOUT, 0};
  int n;
  do {
    n = ::poll(&p, 1, deadline.remaining_ms());
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

bool FrameStream::wait_readable(Deadline deadline) const {
  // Buffered bytes mean "ready" unless they are known to be an incomplete frame; bytes left
  // behind a discard() may be a whole frame.
  if (wpos_ > rpos_ && !partial_) return true;
  pollfd p{fd_.get(), POLLIN, 0};
  int n;
  do {
    n = ::poll(&p, 1, deadline.remaining_ms());
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

void FrameStream::shutdown() noexcept {
  if (fd_) ::shutdown(fd_.get(), SHUT_RDWR);
  fd_.reset();
}

}  // namespace hpcless::tcp
