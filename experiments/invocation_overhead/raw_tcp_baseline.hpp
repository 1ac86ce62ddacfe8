// The raw TCP baseline of the invocation-overhead experiment: the least work any TCP
// request/response system must do, measured on the same machine, cores and payloads as hpcless.
//
// Framing: an 8-byte little-endian length, then the payload; the server echoes both back.
// Nothing of hpcless's protocol or transport code runs here: plain sockets only.
//   hot:  both sides spin on a non-blocking socket (recv with MSG_DONTWAIT, send)
//   warm: both sides try recv once, then block in poll() until the socket is readable
// Both sockets have TCP_NODELAY; the client writes prefix and payload with one sendmsg(), and
// both sides read greedily into one buffer (as hpcless's frame stream does).
//
// Thread safety: RawEchoServer owns its thread; a RawEchoClient is used by one thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/base/fd.hpp"

namespace hpcless::experiments {

enum class PollMode : uint8_t { kHot, kWarm };
const char* to_string(PollMode m) noexcept;

inline constexpr size_t kRawPrefixBytes = 8;

// Serves exactly one connection on 127.0.0.1 (ephemeral port) from a thread pinned to `core`
// (-1: not pinned), then exits when the client closes. Throws SystemError when the socket
// cannot be set up or the core cannot be used.
class RawEchoServer {
 public:
  RawEchoServer(PollMode mode, int core, size_t max_payload);
  ~RawEchoServer();
  RawEchoServer(const RawEchoServer&) = delete;
  RawEchoServer& operator=(const RawEchoServer&) = delete;

  uint16_t port() const noexcept { return port_; }
  // Stops the thread (if still serving) and joins it.
  void stop();
  // The failure that ended the server thread, or empty.
  std::string error() const;

 private:
  void run();
  void serve(int fd);
  void set_error(std::string why);
  // Waits until `fd` has `events` (warm) or just re-checks (hot); false when stopping.
  bool wait_for(int fd, short events);

  PollMode mode_;
  size_t max_payload_;
  UniqueFd listen_fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::string error_;
};

struct RawRoundTrip {
  bool ok = false;
  std::string error;     // why it failed (the client is then unusable)
  uint64_t send_ns = 0;  // just before the request was written
  uint64_t recv_ns = 0;  // when the whole echo had arrived
};

class RawEchoClient {
 public:
  // Connects to 127.0.0.1:port. Throws IoError or TimeoutError.
  RawEchoClient(uint16_t port, PollMode mode, Deadline deadline);

  // Sends `payload` and waits for its echo; reply() then holds the echoed payload. Does not
  // compare contents (the caller validates, outside the timed section).
  RawRoundTrip round_trip(std::span<const std::byte> payload, Deadline deadline);
  std::span<const std::byte> reply() const noexcept { return reply_; }

 private:
  // Hot: true at once (caller retries); warm: poll() until ready. False on deadline.
  bool wait_for(short events, Deadline deadline, uint32_t& spins);

  PollMode mode_;
  UniqueFd fd_;
  std::vector<std::byte> buf_;
  std::span<const std::byte> reply_;
};

}  // namespace hpcless::experiments
