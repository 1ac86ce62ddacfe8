// A deliberately dumb TCP client for wire-level tests: it sends arbitrary bytes (garbage, partial
// frames, oversized frames) and reads back raw frames, which the real client library never does.
//
// Every call has a deadline; failures throw (IoError, TimeoutError, ProtocolError).
// Thread safety: none; one test thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/base/fd.hpp"
#include "comm/protocol/frame.hpp"
#include "comm/protocol/messages.hpp"

namespace hpcless::itest {

struct RawFrame {
  protocol::Header header;
  std::vector<std::byte> payload;
  std::string text() const {
    return {reinterpret_cast<const char*>(payload.data()), payload.size()};
  }
};

class RawClient {
 public:
  explicit RawClient(const std::string& address);

  void send_bytes(std::span<const std::byte> bytes);
  void send_frame(const protocol::Header& h, std::span<const std::byte> payload = {});
  // A valid hello (warm, no token); returns the worker's HelloAck.
  protocol::HelloAck hello();
  // Sends an invoke with the given request id.
  void send_invoke(uint64_t request_id, uint32_t function_id, std::span<const std::byte> input);

  // The next frame, or std::nullopt when the peer closed the connection (EOF or reset) before
  // any byte of a next frame arrived.
  std::optional<RawFrame> read_frame(Deadline deadline);
  // Closes our side (the peer sees EOF).
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
  std::vector<std::byte> buf_;  // received, not yet returned
};

}  // namespace hpcless::itest
