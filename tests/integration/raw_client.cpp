#include "tests/integration/raw_client.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>

#include "comm/base/error.hpp"
#include "comm/transport/tcp/endpoint.hpp"

namespace hpcless::itest {

using namespace std::chrono_literals;
using protocol::DecodeResult;
using protocol::Header;
using protocol::MessageType;

namespace {
constexpr auto kIoTimeout = 5s;

bool wait_for(int fd, short events, Deadline deadline) {
  pollfd p{fd, events, 0};
  int n;
  do {
    n = ::poll(&p, 1, deadline.remaining_ms());
  } while (n < 0 && errno == EINTR);
  return n > 0;
}
}  // namespace

RawClient::RawClient(const std::string& address)
    : fd_(tcp::connect_tcp(tcp::parse_endpoint(address), Deadline::after(kIoTimeout))) {}

void RawClient::send_bytes(std::span<const std::byte> bytes) {
  const auto deadline = Deadline::after(kIoTimeout);
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n =
        ::send(fd_.get(), bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) throw_system_error("send");
    if (!wait_for(fd_.get(), POLLOUT, deadline)) throw TimeoutError("raw send timed out");
  }
}

void RawClient::send_frame(const Header& h, std::span<const std::byte> payload) {
  std::vector<std::byte> bytes(h.encoded_size() + payload.size());
  protocol::encode_header(h, bytes);
  std::copy(payload.begin(), payload.end(),
            bytes.begin() + static_cast<ptrdiff_t>(h.encoded_size()));
  send_bytes(bytes);
}

protocol::HelloAck RawClient::hello() {
  protocol::Hello hello;
  hello.hot_timeout_ms = protocol::kWarmAlways;
  hello.client_name = "raw-test-client";
  const auto body = protocol::encode(hello);
  Header h;
  h.type = MessageType::kHello;
  h.payload_len = static_cast<uint32_t>(body.size());
  send_frame(h, body);
  auto reply = read_frame(Deadline::after(kIoTimeout));
  if (!reply) throw IoError("the worker closed the connection instead of answering the hello");
  if (reply->header.type != MessageType::kHelloAck)
    throw ProtocolError(std::string("hello answered with ") +
                        protocol::to_string(reply->header.type) + ": " + reply->text());
  return protocol::decode_hello_ack(reply->payload);
}

void RawClient::send_invoke(uint64_t request_id, uint32_t function_id,
                            std::span<const std::byte> input) {
  Header h;
  h.type = MessageType::kInvoke;
  h.request_id = request_id;
  h.function_id = function_id;
  h.payload_len = static_cast<uint32_t>(input.size());
  send_frame(h, input);
}

std::optional<RawFrame> RawClient::read_frame(Deadline deadline) {
  while (true) {
    Header h;
    size_t header_size = 0;
    const auto r = protocol::decode_header(buf_, UINT32_MAX, h, header_size);
    if (r == DecodeResult::kOk && buf_.size() >= header_size + h.payload_len) {
      RawFrame f;
      f.header = h;
      const auto first = buf_.begin() + static_cast<ptrdiff_t>(header_size);
      const auto last = first + static_cast<ptrdiff_t>(h.payload_len);
      f.payload.assign(first, last);
      buf_.erase(buf_.begin(), last);
      return f;
    }
    if (r != DecodeResult::kOk && r != DecodeResult::kNeedMore)
      throw ProtocolError(std::string("the worker sent an invalid frame: ") +
                          protocol::to_string(r));
    if (!wait_for(fd_.get(), POLLIN, deadline)) throw TimeoutError("no frame before the deadline");
    std::byte chunk[64 * 1024];
    const ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n > 0) {
      buf_.insert(buf_.end(), chunk, chunk + n);
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    const bool reset = n < 0 && (errno == ECONNRESET || errno == EPIPE);
    if (n < 0 && !reset) throw_system_error("recv");
    if (!buf_.empty())
      throw IoError("the worker closed the connection in the middle of a frame (" +
                    std::to_string(buf_.size()) + " bytes buffered)");
    return std::nullopt;
  }
}

}  // namespace hpcless::itest
