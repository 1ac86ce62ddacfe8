// Reads a connection's hello without consuming it (MSG_PEEK), so the daemon can check the lease
// token and pick the lease's worker process, which then reads the same hello itself.
#pragma once

#include <cstdint>
#include <string>

#include "comm/protocol/frame.hpp"
#include "comm/protocol/messages.hpp"

namespace hpcless::executor {

inline constexpr size_t kMaxHelloBytes = 8192;

enum class PeekResult { kNeedMore, kHello, kBad, kClosed };

// Non-blocking. On kHello, `hello` and `request_id` are set; on kBad, `why` says what is wrong.
PeekResult peek_hello(int fd, protocol::Hello& hello, uint64_t& request_id, std::string& why);

// Best-effort error frame on a connection the daemon still owns (before any hand-over).
void send_error_frame(int fd, uint64_t request_id, protocol::Status status,
                      const std::string& message);

}  // namespace hpcless::executor
