// Unit tests of FrameStream over a real loopback TCP connection and over an AF_UNIX socketpair:
// reassembly, batching, closing, garbage, oversized frames, large payloads and sending to a
// closed peer. Every wait has a deadline, so a lost byte fails the test instead of hanging it.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/protocol/frame.hpp"
#include "comm/transport/tcp/endpoint.hpp"
#include "comm/transport/tcp/frame_stream.hpp"

namespace hpcless::tcp {
namespace {

using namespace std::chrono_literals;
using protocol::DecodeResult;
using protocol::Header;
using protocol::MessageType;
using Bytes = std::vector<std::byte>;

constexpr auto kWait = 10s;  // generous: only a broken stream ever waits this long

enum class Link { kTcp, kUnix };

std::string link_name(const ::testing::TestParamInfo<Link>& info) {
  return info.param == Link::kTcp ? "Tcp" : "Unix";
}

void PrintTo(Link link, std::ostream* os) { *os << (link == Link::kTcp ? "tcp" : "unix"); }

// Two connected, non-blocking stream sockets.
struct Connection {
  UniqueFd a;
  UniqueFd b;
};

Connection open_connection(Link link) {
  if (link == Link::kUnix) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
      throw_system_error("socketpair");
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
  }
  Listener listener(Endpoint{"127.0.0.1", 0});
  UniqueFd client = connect_tcp(listener.bound_endpoint(), Deadline::after(kWait));
  const Deadline deadline = Deadline::after(kWait);
  while (!deadline.expired()) {
    if (UniqueFd server = listener.accept_one()) return {std::move(server), std::move(client)};
    pollfd p{listener.fd(), POLLIN, 0};
    ::poll(&p, 1, deadline.remaining_ms());
  }
  throw TimeoutError("loopback connection was not accepted");
}

Bytes pattern(size_t n, unsigned seed) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<std::byte>((i * 131 + seed * 17 + i / 251) & 0xff);
  return out;
}

Header make_header(MessageType type, uint64_t request_id, size_t payload_len, bool timestamps) {
  Header h;
  h.type = type;
  h.request_id = request_id;
  h.function_id = static_cast<uint32_t>(request_id * 3);
  h.payload_len = static_cast<uint32_t>(payload_len);
  if (timestamps) {
    h.flags = protocol::kFlagTimestamps;
    h.timestamps = {request_id + 1, request_id + 2, request_id + 3, request_id + 4};
  }
  return h;
}

Bytes make_frame(const Header& h, std::span<const std::byte> payload) {
  Bytes out(h.encoded_size() + payload.size());
  EXPECT_EQ(protocol::encode_header(h, out), h.encoded_size());
  if (!payload.empty()) std::memcpy(out.data() + h.encoded_size(), payload.data(), payload.size());
  return out;
}

// Writes everything to a non-blocking socket, waiting for room when it is full.
bool write_all(int fd, std::span<const std::byte> data,
               Deadline deadline = Deadline::after(kWait)) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
    if (deadline.expired()) return false;
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, deadline.remaining_ms());
  }
  return true;
}

// Calls try_recv until it reports something other than kAgain, or the deadline passes.
RecvStatus wait_for(FrameStream& s, std::chrono::seconds limit = kWait) {
  const Deadline deadline = Deadline::after(limit);
  while (true) {
    const RecvStatus st = s.try_recv();
    if (st != RecvStatus::kAgain || deadline.expired()) return st;
    s.wait_readable(deadline);
  }
}

// Waits until the socket itself has bytes (not the stream's buffer), so that the next try_recv
// is guaranteed to read them.
bool socket_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kWait).count())) == 1;
}

// Waits until `n` bytes are queued in the socket, so that one try_recv reads them all at once.
bool queued_at_least(int fd, size_t n) {
  const Deadline deadline = Deadline::after(kWait);
  while (!deadline.expired()) {
    int queued = 0;
    if (::ioctl(fd, FIONREAD, &queued) != 0) return false;
    if (static_cast<size_t>(queued) >= n) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

void expect_frame(const FrameStream& s, const Header& h, std::span<const std::byte> payload) {
  const Header& got = s.header();
  EXPECT_EQ(got.type, h.type);
  EXPECT_EQ(got.flags, h.flags);
  EXPECT_EQ(got.request_id, h.request_id);
  EXPECT_EQ(got.function_id, h.function_id);
  EXPECT_EQ(got.status, h.status);
  EXPECT_EQ(got.payload_len, payload.size());
  EXPECT_EQ(got.timestamps.recv_ns, h.timestamps.recv_ns);
  EXPECT_EQ(got.timestamps.send_ns, h.timestamps.send_ns);
  ASSERT_EQ(s.payload().size(), payload.size());
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), s.payload().begin()));
}

class FrameStreamTest : public ::testing::TestWithParam<Link> {
 protected:
  void SetUp() override { reconnect(); }
  void reconnect() {
    Connection c = open_connection(GetParam());
    mine_ = std::move(c.a);
    peer_ = std::move(c.b);
  }
  UniqueFd mine_;  // becomes the FrameStream under test
  UniqueFd peer_;  // raw socket that plays the other side
};

INSTANTIATE_TEST_SUITE_P(Links, FrameStreamTest, ::testing::Values(Link::kTcp, Link::kUnix),
                         link_name);

TEST_P(FrameStreamTest, NothingSentMeansAgain) {
  FrameStream s(std::move(mine_), 1024);
  EXPECT_EQ(s.try_recv(), RecvStatus::kAgain);
  EXPECT_FALSE(s.has_buffered());
  EXPECT_FALSE(s.wait_readable(Deadline::after(20ms)));
  EXPECT_EQ(s.max_payload(), 1024u);
}

TEST_P(FrameStreamTest, FramesDeliveredByteByByteAreReassembled) {
  const Bytes p1 = pattern(100, 1);
  const Bytes p3 = pattern(3, 3);
  const Header h1 = make_header(MessageType::kResult, 1, p1.size(), true);
  const Header h2 = make_header(MessageType::kPing, 2, 0, false);
  const Header h3 = make_header(MessageType::kInvoke, 3, p3.size(), false);
  struct Expected {
    Header h;
    Bytes payload;
  };
  const Expected frames[] = {{h1, p1}, {h2, {}}, {h3, p3}};

  FrameStream s(std::move(mine_), 1 << 20);
  for (const Expected& f : frames) {
    const Bytes wire = make_frame(f.h, f.payload);
    uint64_t first_write_ns = 0;
    uint64_t first_read_ns = 0;
    for (size_t i = 0; i < wire.size(); ++i) {
      if (i == 0) first_write_ns = now_ns();
      ASSERT_TRUE(write_all(peer_.get(), std::span(wire).subspan(i, 1)));
      ASSERT_TRUE(socket_readable(s.fd())) << "byte " << i << " never arrived";
      const RecvStatus st = s.try_recv();
      if (i == 0) first_read_ns = now_ns();
      if (i + 1 < wire.size()) {
        ASSERT_EQ(st, RecvStatus::kAgain) << "byte " << i << " of " << wire.size();
      } else {
        ASSERT_EQ(st, RecvStatus::kFrame);
      }
    }
    expect_frame(s, f.h, f.payload);
    // The arrival time is taken when the first byte of the frame was read.
    EXPECT_GE(s.frame_arrival_ns(), first_write_ns);
    EXPECT_LE(s.frame_arrival_ns(), first_read_ns);
    s.consume();
    EXPECT_FALSE(s.has_buffered());
  }
  EXPECT_EQ(s.try_recv(), RecvStatus::kAgain);
}

TEST_P(FrameStreamTest, SeveralFramesInOneWriteComeOutInOrder) {
  const size_t sizes[] = {0, 1, 31, 32, 64, 1000, 0, 20000, 7};
  // Small initial buffers force the stream to slide partial frames to the front and to grow.
  for (size_t initial_buffer : {size_t{64} * 1024, size_t{100}, size_t{0}}) {
    SCOPED_TRACE("initial buffer " + std::to_string(initial_buffer));
    if (!mine_) reconnect();
    Bytes wire;
    std::vector<Header> headers;
    std::vector<Bytes> payloads;
    for (size_t i = 0; i < std::size(sizes); ++i) {
      headers.push_back(make_header(i % 2 ? MessageType::kResult : MessageType::kInvoke, i + 100,
                                    sizes[i], i % 3 == 0));
      payloads.push_back(pattern(sizes[i], static_cast<unsigned>(i)));
      const Bytes f = make_frame(headers.back(), payloads.back());
      wire.insert(wire.end(), f.begin(), f.end());
    }
    FrameStream s(std::move(mine_), 1 << 20, initial_buffer);
    ASSERT_TRUE(write_all(peer_.get(), wire));
    for (size_t i = 0; i < std::size(sizes); ++i) {
      ASSERT_EQ(wait_for(s), RecvStatus::kFrame) << "frame " << i;
      expect_frame(s, headers[i], payloads[i]);
      s.consume();
    }
    EXPECT_EQ(s.try_recv(), RecvStatus::kAgain);
    EXPECT_FALSE(s.has_buffered());
  }
}

TEST_P(FrameStreamTest, ConsumeOnlyAdvancesOneFrame) {
  // try_recv without consume hands out the same frame again.
  const Bytes p = pattern(10, 4);
  const Header h1 = make_header(MessageType::kInvoke, 1, p.size(), false);
  const Header h2 = make_header(MessageType::kInvoke, 2, p.size(), false);
  Bytes wire = make_frame(h1, p);
  const Bytes second = make_frame(h2, p);
  wire.insert(wire.end(), second.begin(), second.end());
  FrameStream s(std::move(mine_), 1024);
  ASSERT_TRUE(write_all(peer_.get(), wire));
  ASSERT_EQ(wait_for(s), RecvStatus::kFrame);
  EXPECT_EQ(s.header().request_id, 1u);
  ASSERT_EQ(s.try_recv(), RecvStatus::kFrame);
  EXPECT_EQ(s.header().request_id, 1u);
  s.consume();
  ASSERT_EQ(wait_for(s), RecvStatus::kFrame);
  EXPECT_EQ(s.header().request_id, 2u);
}

TEST_P(FrameStreamTest, FrameSplitBetweenHeaderAndPayload) {
  const Bytes p = pattern(500, 5);
  const Header h = make_header(MessageType::kInvoke, 77, p.size(), false);
  const Bytes wire = make_frame(h, p);
  FrameStream s(std::move(mine_), 1024);
  ASSERT_TRUE(write_all(peer_.get(), std::span(wire).first(protocol::kHeaderSize)));
  ASSERT_TRUE(socket_readable(s.fd()));
  EXPECT_EQ(s.try_recv(), RecvStatus::kAgain);
  EXPECT_TRUE(s.has_buffered());
  ASSERT_TRUE(write_all(peer_.get(), std::span(wire).subspan(protocol::kHeaderSize)));
  ASSERT_EQ(wait_for(s), RecvStatus::kFrame);
  expect_frame(s, h, p);
}

TEST_P(FrameStreamTest, FrameSplitInsideTheTimestampBlock) {
  const Bytes p = pattern(8, 6);
  const Header h = make_header(MessageType::kResult, 78, p.size(), true);
  const Bytes wire = make_frame(h, p);
  FrameStream s(std::move(mine_), 1024);
  ASSERT_TRUE(write_all(peer_.get(), std::span(wire).first(40)));
  ASSERT_TRUE(socket_readable(s.fd()));
  EXPECT_EQ(s.try_recv(), RecvStatus::kAgain);
  ASSERT_TRUE(write_all(peer_.get(), std::span(wire).subspan(40)));
  ASSERT_EQ(wait_for(s), RecvStatus::kFrame);
  expect_frame(s, h, p);
}

TEST_P(FrameStreamTest, PeerCloseWithoutDataIsClosed) {
  FrameStream s(std::move(mine_), 1024);
  peer_.reset();
  EXPECT_EQ(wait_for(s), RecvStatus::kClosed);
}

TEST_P(FrameStreamTest, PeerCloseMidPayloadIsClosed) {
  const Bytes p = pattern(1000, 7);
  const Bytes wire = make_frame(make_header(MessageType::kInvoke, 1, p.size(), false), p);
  FrameStream s(std::move(mine_), 4096);
  ASSERT_TRUE(write_all(peer_.get(), std::span(wire).first(wire.size() / 2)));
  peer_.reset();
  EXPECT_EQ(wait_for(s), RecvStatus::kClosed);
}

TEST_P(FrameStreamTest, PeerCloseMidHeaderIsClosed) {
  const Bytes wire = make_frame(make_header(MessageType::kPing, 1, 0, false), {});
  FrameStream s(std::move(mine_), 4096);
  ASSERT_TRUE(write_all(peer_.get(), std::span(wire).first(17)));
  peer_.reset();
  EXPECT_EQ(wait_for(s), RecvStatus::kClosed);
}

TEST_P(FrameStreamTest, GarbageIsBadFrame) {
  const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  FrameStream s(std::move(mine_), 4096);
  ASSERT_TRUE(write_all(peer_.get(), std::as_bytes(std::span(http))));
  EXPECT_EQ(wait_for(s), RecvStatus::kBadFrame);
  EXPECT_EQ(s.decode_result(), DecodeResult::kBadMagic);
}

TEST_P(FrameStreamTest, BadHeaderFieldsAreBadFrame) {
  struct Case {
    size_t offset;
    std::byte value;
    DecodeResult expected;
  };
  const Case cases[] = {{4, std::byte{2}, DecodeResult::kBadVersion},
                        {5, std::byte{0}, DecodeResult::kBadType},
                        {7, std::byte{0x80}, DecodeResult::kBadFlags},
                        {31, std::byte{1}, DecodeResult::kBadReserved},
                        {22, std::byte{1}, DecodeResult::kBadStatus}};
  for (const Case& c : cases) {
    SCOPED_TRACE("offset " + std::to_string(c.offset));
    if (!mine_) reconnect();
    Bytes wire = make_frame(make_header(MessageType::kInvoke, 1, 4, false), pattern(4, 1));
    wire[c.offset] = c.value;
    FrameStream s(std::move(mine_), 4096);
    ASSERT_TRUE(write_all(peer_.get(), wire));
    EXPECT_EQ(wait_for(s), RecvStatus::kBadFrame);
    EXPECT_EQ(s.decode_result(), c.expected);
  }
}

TEST_P(FrameStreamTest, TooLargeThenDiscardSkipsExactlyThePayload) {
  // The oversized payload is made of valid frames, so that skipping too little or too much would
  // surface as a wrong frame rather than as garbage.
  const Bytes decoy = make_frame(make_header(MessageType::kInvoke, 999, 0, false), {});
  Bytes big;
  while (big.size() < 5000) big.insert(big.end(), decoy.begin(), decoy.end());
  const Header too_large = make_header(MessageType::kInvoke, 7, big.size(), true);
  const Bytes small = pattern(10, 8);
  const Header next = make_header(MessageType::kInvoke, 8, small.size(), false);
  Bytes wire = make_frame(too_large, big);
  const Bytes f2 = make_frame(next, small);
  wire.insert(wire.end(), f2.begin(), f2.end());

  FrameStream s(std::move(mine_), 1024);
  ASSERT_TRUE(write_all(peer_.get(), wire));
  ASSERT_EQ(wait_for(s), RecvStatus::kTooLarge);
  EXPECT_EQ(s.decode_result(), DecodeResult::kTooLarge);
  EXPECT_EQ(s.header().request_id, 7u);  // enough to answer the request with an error
  EXPECT_EQ(s.header().payload_len, big.size());
  EXPECT_TRUE(s.header().has_timestamps());
  s.discard();
  ASSERT_EQ(wait_for(s), RecvStatus::kFrame);
  expect_frame(s, next, small);
  s.consume();
  EXPECT_EQ(s.try_recv(), RecvStatus::kAgain);
}

TEST_P(FrameStreamTest, DiscardSkipsAPayloadThatArrivesLater) {
  // The oversized payload (1 MiB, far beyond the buffer) streams in after discard().
  const Bytes big = pattern(1 << 20, 9);
  const Header too_large = make_header(MessageType::kLoadPackage, 5, big.size(), false);
  const Bytes small = pattern(33, 10);
  const Header next = make_header(MessageType::kInvoke, 6, small.size(), true);
  const Bytes head = make_frame(too_large, {});  // header only
  const Bytes tail = make_frame(next, small);

  FrameStream s(std::move(mine_), 4096, 4096);
  ASSERT_TRUE(write_all(peer_.get(), head));
  ASSERT_EQ(wait_for(s), RecvStatus::kTooLarge);
  EXPECT_EQ(s.header().request_id, 5u);
  s.discard();
  EXPECT_EQ(s.try_recv(), RecvStatus::kAgain);
  std::atomic<bool> written{false};
  std::jthread writer([&] {
    written = write_all(peer_.get(), big, Deadline::after(30s)) &&
              write_all(peer_.get(), tail, Deadline::after(30s));
  });
  ASSERT_EQ(wait_for(s, 30s), RecvStatus::kFrame);
  expect_frame(s, next, small);
  writer.join();
  EXPECT_TRUE(written);
}

TEST_P(FrameStreamTest, WaitReadableBlocksWhileOnlyPartOfAFrameIsBuffered) {
  // A stalled sender must not make a blocking receiver spin on the bytes it already has.
  const Bytes p = pattern(100, 16);
  const Header h = make_header(MessageType::kInvoke, 1, p.size(), false);
  const Bytes wire = make_frame(h, p);
  FrameStream s(std::move(mine_), 1024);
  ASSERT_TRUE(write_all(peer_.get(), std::span(wire).first(50)));
  ASSERT_TRUE(socket_readable(s.fd()));
  ASSERT_EQ(s.try_recv(), RecvStatus::kAgain);
  ASSERT_TRUE(s.has_buffered());
  const uint64_t start = now_ns();
  EXPECT_FALSE(s.wait_readable(Deadline::after(100ms)));
  EXPECT_GE(now_ns() - start, 90'000'000ull);
  ASSERT_TRUE(write_all(peer_.get(), std::span(wire).subspan(50)));
  EXPECT_TRUE(s.wait_readable(Deadline::after(kWait)));
  ASSERT_EQ(s.try_recv(), RecvStatus::kFrame);
  expect_frame(s, h, p);
}

TEST_P(FrameStreamTest, WaitReadableSeesAFrameBufferedBehindADiscardedOne) {
  // Everything, the oversized frame and the next one, is read by one try_recv; after discard()
  // the socket is empty but a frame is ready, so waiting must not block.
  const Bytes big = pattern(3000, 17);
  const Bytes small = pattern(5, 18);
  const Header next = make_header(MessageType::kInvoke, 2, small.size(), false);
  Bytes wire = make_frame(make_header(MessageType::kInvoke, 1, big.size(), false), big);
  const Bytes f2 = make_frame(next, small);
  wire.insert(wire.end(), f2.begin(), f2.end());
  FrameStream s(std::move(mine_), 1024);
  ASSERT_TRUE(write_all(peer_.get(), wire));
  ASSERT_TRUE(queued_at_least(s.fd(), wire.size()));
  ASSERT_EQ(s.try_recv(), RecvStatus::kTooLarge);
  s.discard();
  const uint64_t start = now_ns();
  EXPECT_TRUE(s.wait_readable(Deadline::after(kWait)));
  EXPECT_LT(now_ns() - start, 1'000'000'000ull);
  ASSERT_EQ(s.try_recv(), RecvStatus::kFrame);
  expect_frame(s, next, small);
}

TEST_P(FrameStreamTest, LoweredLimitAppliesToTheNextFrame) {
  const Bytes p = pattern(20, 11);
  Bytes wire = make_frame(make_header(MessageType::kInvoke, 1, p.size(), false), p);
  const Bytes again = make_frame(make_header(MessageType::kInvoke, 2, p.size(), false), p);
  wire.insert(wire.end(), again.begin(), again.end());
  FrameStream s(std::move(mine_), 1024);
  ASSERT_TRUE(write_all(peer_.get(), wire));
  ASSERT_EQ(wait_for(s), RecvStatus::kFrame);
  s.consume();
  s.set_max_payload(19);
  ASSERT_EQ(wait_for(s), RecvStatus::kTooLarge);
  EXPECT_EQ(s.header().request_id, 2u);
}

TEST_P(FrameStreamTest, SixteenMebibyteRoundTrip) {
  constexpr uint32_t kSize = 16u << 20;
  const Bytes payload = pattern(kSize, 12);
  FrameStream server(std::move(mine_), kSize);
  FrameStream client(std::move(peer_), kSize);
  const Header request = make_header(MessageType::kInvoke, 42, kSize, false);

  // The client thread sends the request and then reads the echo; results are checked after join.
  SendStatus client_sent = SendStatus::kTimeout;
  RecvStatus client_got = RecvStatus::kAgain;
  bool echo_intact = false;
  uint64_t echo_id = 0;
  std::jthread client_thread([&] {
    client_sent = client.send_frame(request, payload, Deadline::after(30s));
    if (client_sent != SendStatus::kOk) return;
    client_got = wait_for(client, 30s);
    if (client_got != RecvStatus::kFrame) return;
    echo_id = client.header().request_id;
    echo_intact = client.payload().size() == kSize &&
                  std::memcmp(client.payload().data(), payload.data(), kSize) == 0;
  });

  ASSERT_EQ(wait_for(server, 30s), RecvStatus::kFrame);
  EXPECT_EQ(server.header().request_id, 42u);
  ASSERT_EQ(server.payload().size(), kSize);
  EXPECT_EQ(std::memcmp(server.payload().data(), payload.data(), kSize), 0);
  Header reply = make_header(MessageType::kResult, 42, kSize, true);
  EXPECT_EQ(server.send_frame(reply, server.payload(), Deadline::after(30s)), SendStatus::kOk);
  server.consume();
  client_thread.join();
  EXPECT_EQ(client_sent, SendStatus::kOk);
  EXPECT_EQ(client_got, RecvStatus::kFrame);
  EXPECT_EQ(echo_id, 42u);
  EXPECT_TRUE(echo_intact);
}

TEST_P(FrameStreamTest, SendFrameOfHeaderOnly) {
  FrameStream sender(std::move(peer_), 1024);
  FrameStream receiver(std::move(mine_), 1024);
  const Header h = make_header(MessageType::kPong, 9, 0, true);
  ASSERT_EQ(sender.send_frame(h, {}, Deadline::after(kWait)), SendStatus::kOk);
  ASSERT_EQ(wait_for(receiver), RecvStatus::kFrame);
  expect_frame(receiver, h, {});
}

// Counts SIGPIPEs instead of dying from them, so that a regression is a test failure.
std::atomic<int> g_sigpipes{0};
void count_sigpipe(int) { g_sigpipes.fetch_add(1); }

TEST_P(FrameStreamTest, SendToClosedPeerIsClosedWithoutSigpipe) {
  struct sigaction counting {};
  counting.sa_handler = count_sigpipe;
  sigemptyset(&counting.sa_mask);
  struct sigaction previous {};
  ASSERT_EQ(::sigaction(SIGPIPE, &counting, &previous), 0);
  g_sigpipes = 0;

  FrameStream sender(std::move(peer_), 1024);
  mine_.reset();
  const Bytes p = pattern(100, 13);
  const Header h = make_header(MessageType::kInvoke, 1, p.size(), false);
  // TCP may accept the first frame before the peer's reset comes back; it never accepts forever.
  SendStatus st = SendStatus::kOk;
  int attempts = 0;
  const Deadline deadline = Deadline::after(kWait);
  while (st == SendStatus::kOk && !deadline.expired()) {
    st = sender.send_frame(h, p, Deadline::after(kWait));
    ++attempts;
    if (st == SendStatus::kOk) std::this_thread::sleep_for(1ms);
  }
  ::sigaction(SIGPIPE, &previous, nullptr);
  EXPECT_EQ(st, SendStatus::kClosed) << "after " << attempts << " attempts";
  EXPECT_EQ(g_sigpipes.load(), 0);
}

TEST_P(FrameStreamTest, SendTimesOutWhenPeerNeverReads) {
  FrameStream sender(std::move(peer_), 1024);
  const Bytes p = pattern(32 << 20, 14);  // more than any socket buffer holds
  const Header h = make_header(MessageType::kInvoke, 1, p.size(), false);
  int blocked_calls = 0;
  const uint64_t start = now_ns();
  const SendStatus st = sender.send_frame(h, p, Deadline::after(300ms), [&](Deadline) {
    ++blocked_calls;
    return true;
  });
  EXPECT_EQ(st, SendStatus::kTimeout);
  EXPECT_GE(blocked_calls, 1);
  EXPECT_GE(now_ns() - start, 300'000'000ull);
  EXPECT_LT(now_ns() - start, 10'000'000'000ull);
}

TEST_P(FrameStreamTest, OnBlockedCanAbandonTheSend) {
  FrameStream sender(std::move(peer_), 1024);
  const Bytes p = pattern(32 << 20, 15);
  const Header h = make_header(MessageType::kInvoke, 1, p.size(), false);
  int blocked_calls = 0;
  const SendStatus st = sender.send_frame(h, p, Deadline::after(kWait), [&](Deadline d) {
    ++blocked_calls;
    EXPECT_FALSE(d.expired());
    return false;
  });
  EXPECT_EQ(st, SendStatus::kClosed);
  EXPECT_EQ(blocked_calls, 1);
}

TEST_P(FrameStreamTest, ShutdownClosesTheStream) {
  FrameStream s(std::move(mine_), 1024);
  s.shutdown();
  EXPECT_EQ(s.fd(), -1);
  // The peer sees the close.
  ASSERT_TRUE(socket_readable(peer_.get()));
  char c;
  EXPECT_EQ(::recv(peer_.get(), &c, 1, 0), 0);
}

}  // namespace
}  // namespace hpcless::tcp
