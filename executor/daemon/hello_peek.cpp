#include "executor/daemon/hello_peek.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "comm/base/error.hpp"
#include "comm/protocol/frame.hpp"

namespace hpcless::executor {

PeekResult peek_hello(int fd, protocol::Hello& hello, uint64_t& request_id, std::string& why) {
  std::byte buf[kMaxHelloBytes];
  const ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return PeekResult::kClosed;
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return PeekResult::kNeedMore;
    return PeekResult::kClosed;
  }
  protocol::Header h;
  size_t header_size = 0;
  const auto d = protocol::decode_header({buf, static_cast<size_t>(n)},
                                         kMaxHelloBytes - protocol::kMaxHeaderSize, h, header_size);
  if (d == protocol::DecodeResult::kNeedMore) return PeekResult::kNeedMore;
  request_id = h.request_id;
  if (d != protocol::DecodeResult::kOk) {
    why = std::string("bad hello: ") + protocol::to_string(d);
    return PeekResult::kBad;
  }
  if (h.type != protocol::MessageType::kHello) {
    why = std::string("the first message on a connection must be a hello, not ") +
          protocol::to_string(h.type);
    return PeekResult::kBad;
  }
  if (static_cast<size_t>(n) < header_size + h.payload_len) return PeekResult::kNeedMore;
  try {
    hello = protocol::decode_hello({buf + header_size, h.payload_len});
  } catch (const ProtocolError& e) {
    why = e.what();
    return PeekResult::kBad;
  }
  return PeekResult::kHello;
}

void send_error_frame(int fd, uint64_t request_id, protocol::Status status,
                      const std::string& message) {
  protocol::Header h;
  h.type = protocol::MessageType::kError;
  h.status = status;
  h.request_id = request_id;
  const size_t len = message.size() < 1024 ? message.size() : 1024;
  h.payload_len = static_cast<uint32_t>(len);
  std::byte buf[protocol::kMaxHeaderSize + 1024];
  const size_t n = protocol::encode_header(h, buf);
  std::memcpy(buf + n, message.data(), len);
  (void)!send(fd, buf, n + len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace hpcless::executor
