// FrameLink over a TCP FrameStream: what workers and clients hold for a TCP connection.
// Thread safety: none (as FrameStream).
#pragma once

#include "comm/transport/frame_link.hpp"
#include "comm/transport/tcp/frame_stream.hpp"

namespace hpcless::tcp {

class TcpLink final : public transport::FrameLink {
 public:
  TcpLink(UniqueFd fd, uint32_t max_payload) : stream_(std::move(fd), max_payload) {}

  FrameStream& stream() noexcept { return stream_; }

  std::string_view kind() const noexcept override { return "tcp"; }
  int wait_fd() const noexcept override { return stream_.fd(); }
  uint32_t max_payload() const noexcept override { return stream_.max_payload(); }
  void set_max_payload(uint32_t v) noexcept override { stream_.set_max_payload(v); }
  void set_busy_poll(bool spin) noexcept override { stream_.set_busy_poll(spin); }
  RecvStatus try_recv() override { return stream_.try_recv(); }
  const protocol::Header& header() const noexcept override { return stream_.header(); }
  std::span<const std::byte> payload() const noexcept override { return stream_.payload(); }
  protocol::DecodeResult decode_result() const noexcept override { return stream_.decode_result(); }
  int errno_value() const noexcept override { return stream_.errno_value(); }
  uint64_t frame_arrival_ns() const noexcept override { return stream_.frame_arrival_ns(); }
  void consume() noexcept override { stream_.consume(); }
  void discard() noexcept override { stream_.discard(); }
  bool has_buffered() const noexcept override { return stream_.has_buffered(); }
  SendStatus send_frame(const protocol::Header& h, std::span<const std::byte> payload,
                        Deadline deadline, transport::BlockedHook on_blocked) override {
    return stream_.send_frame(h, payload, deadline, on_blocked);
  }
  using FrameLink::send_frame;
  // A socket needs no arming: epoll reports new bytes. Bytes already buffered may hold a frame.
  bool prepare_wait() override { return !stream_.has_buffered(); }
  bool wait_readable(Deadline deadline) override { return stream_.wait_readable(deadline); }
  void shutdown() noexcept override { stream_.shutdown(); }

 private:
  FrameStream stream_;
};

}  // namespace hpcless::tcp
