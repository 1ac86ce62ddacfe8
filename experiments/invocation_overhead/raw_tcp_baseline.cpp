#include "experiments/invocation_overhead/raw_tcp_baseline.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>

#include "comm/base/cpu.hpp"
#include "comm/base/error.hpp"

namespace hpcless::experiments {

namespace {

// Buffers start here and grow to the largest message seen.
constexpr size_t kInitialBuffer = kRawPrefixBytes + 64 * 1024;
// Slice for the server's blocking waits, so that stop() is noticed without a wake-up fd.
constexpr int kServerPollSliceMs = 100;
// Hot client loops look at the clock only every this many spins.
constexpr uint32_t kSpinsPerDeadlineCheck = 64;

void put_le64(std::byte* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>(v >> (8 * i));
}

uint64_t get_le64(const std::byte* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(in[i]) << (8 * i);
  return v;
}

void set_nodelay_or_throw(int fd) {
  const int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
    throw_system_error("raw-tcp baseline: setsockopt(TCP_NODELAY)");
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

}  // namespace

const char* to_string(PollMode m) noexcept { return m == PollMode::kHot ? "hot" : "warm"; }

// ---- server -------------------------------------------------------------------------------

RawEchoServer::RawEchoServer(PollMode mode, int core, size_t max_payload)
    : mode_(mode), max_payload_(max_payload) {
  listen_fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listen_fd_) throw_system_error("raw-tcp baseline: socket");
  const int one = 1;
  ::setsockopt(listen_fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a = loopback(0);
  if (::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
    throw_system_error("raw-tcp baseline: bind 127.0.0.1:0");
  if (::listen(listen_fd_.get(), 1) != 0) throw_system_error("raw-tcp baseline: listen");
  socklen_t len = sizeof(a);
  if (::getsockname(listen_fd_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw_system_error("raw-tcp baseline: getsockname");
  port_ = ntohs(a.sin_port);

  // The thread reports whether pinning worked before the constructor returns. It owns the
  // promise, which so outlives set_value() whatever this constructor does next.
  std::promise<void> started;
  auto ready = started.get_future();
  thread_ = std::thread([this, core, started = std::move(started)]() mutable {
    try {
      if (core >= 0) pin_current_thread(core);
      started.set_value();
    } catch (...) {
      started.set_exception(std::current_exception());
      return;
    }
    run();
  });
  try {
    ready.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

RawEchoServer::~RawEchoServer() { stop(); }

void RawEchoServer::stop() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
}

std::string RawEchoServer::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

void RawEchoServer::set_error(std::string why) {
  std::lock_guard lock(mu_);
  if (error_.empty()) error_ = std::move(why);
}

void RawEchoServer::run() {
  while (!stop_.load(std::memory_order_relaxed)) {
    pollfd p{listen_fd_.get(), POLLIN, 0};
    const int r = ::poll(&p, 1, kServerPollSliceMs);
    if (r < 0 && errno != EINTR) {
      set_error(std::string("raw-tcp server: poll: ") + std::strerror(errno));
      return;
    }
    if (r <= 0) continue;
    UniqueFd conn(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!conn) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) continue;
      set_error(std::string("raw-tcp server: accept: ") + std::strerror(errno));
      return;
    }
    try {
      set_nodelay_or_throw(conn.get());
    } catch (const Error& e) {
      set_error(e.what());
      return;
    }
    listen_fd_.reset();  // one client per server
    serve(conn.get());
    return;
  }
}

bool RawEchoServer::wait_for(int fd, short events) {
  if (mode_ == PollMode::kHot) return !stop_.load(std::memory_order_relaxed);
  while (true) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, kServerPollSliceMs);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) {
      set_error(std::string("raw-tcp server: poll: ") + std::strerror(errno));
      return false;
    }
    if (stop_.load(std::memory_order_relaxed)) return false;
  }
}

void RawEchoServer::serve(int fd) {
  std::vector<std::byte> buf(std::min(kInitialBuffer, kRawPrefixBytes + max_payload_));
  size_t have = 0;
  size_t need = kRawPrefixBytes;
  bool have_length = false;
  while (true) {
    const ssize_t n = ::recv(fd, buf.data() + have, buf.size() - have, MSG_DONTWAIT);
    if (n > 0) {
      have += static_cast<size_t>(n);
      if (!have_length && have >= kRawPrefixBytes) {
        const uint64_t len = get_le64(buf.data());
        if (len > max_payload_) {
          set_error("raw-tcp server: message of " + std::to_string(len) +
                    " bytes exceeds the limit of " + std::to_string(max_payload_));
          return;
        }
        need = kRawPrefixBytes + static_cast<size_t>(len);
        if (buf.size() < need) buf.resize(need);
        have_length = true;
      }
      if (!have_length || have < need) continue;
      if (have > need) {
        set_error("raw-tcp server: the client sent a second message before the echo");
        return;
      }
      size_t sent = 0;
      while (sent < need) {
        const ssize_t m = ::send(fd, buf.data() + sent, need - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (m > 0) {
          sent += static_cast<size_t>(m);
        } else if (m < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          if (!wait_for(fd, POLLOUT)) return;
        } else if (m < 0 && errno == EINTR) {
          continue;
        } else {
          set_error(std::string("raw-tcp server: send: ") + std::strerror(errno));
          return;
        }
      }
      have = 0;
      need = kRawPrefixBytes;
      have_length = false;
      continue;
    }
    if (n == 0) {
      if (have > 0) set_error("raw-tcp server: the client closed the connection mid-message");
      return;  // the client is done with this block
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_for(fd, POLLIN)) return;
    } else if (errno != EINTR) {
      set_error(std::string("raw-tcp server: recv: ") + std::strerror(errno));
      return;
    }
  }
}

// ---- client -------------------------------------------------------------------------------

RawEchoClient::RawEchoClient(uint16_t port, PollMode mode, Deadline deadline)
    : mode_(mode), buf_(kInitialBuffer) {
  fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) throw_system_error("raw-tcp baseline: socket");
  sockaddr_in a = loopback(port);
  const std::string where = "raw-tcp baseline server 127.0.0.1:" + std::to_string(port);
  if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    if (errno != EINPROGRESS)
      throw IoError("cannot connect to " + where + ": " + std::strerror(errno));
    while (true) {
      pollfd p{fd_.get(), POLLOUT, 0};
      const int r = ::poll(&p, 1, deadline.remaining_ms());
      if (r > 0) break;
      if (r == 0 && deadline.expired()) throw TimeoutError("connecting to " + where + " timed out");
      if (r < 0 && errno != EINTR) throw_system_error("raw-tcp baseline: poll");
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) throw IoError("cannot connect to " + where + ": " + std::strerror(err));
  }
  set_nodelay_or_throw(fd_.get());
}

bool RawEchoClient::wait_for(short events, Deadline deadline, uint32_t& spins) {
  if (mode_ == PollMode::kHot) {
    return (++spins % kSpinsPerDeadlineCheck) != 0 || !deadline.expired();
  }
  while (true) {
    pollfd p{fd_.get(), events, 0};
    const int r = ::poll(&p, 1, deadline.remaining_ms());
    if (r > 0) return true;
    if (r == 0 && deadline.expired()) return false;
    if (r < 0 && errno != EINTR) return false;
  }
}

RawRoundTrip RawEchoClient::round_trip(std::span<const std::byte> payload, Deadline deadline) {
  RawRoundTrip r;
  reply_ = {};
  const size_t total = kRawPrefixBytes + payload.size();
  if (buf_.size() < total) buf_.resize(total);  // before the clock starts
  std::byte prefix[kRawPrefixBytes];
  put_le64(prefix, payload.size());
  iovec iov[2] = {{prefix, kRawPrefixBytes},
                  {const_cast<std::byte*>(payload.data()), payload.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = payload.empty() ? 1 : 2;
  uint32_t spins = 0;

  r.send_ns = now_ns();
  size_t sent = 0;
  while (sent < total) {
    const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      // Skip what went out: drop finished iovecs, trim the current one.
      size_t left = static_cast<size_t>(n);
      while (left > 0 && msg.msg_iovlen > 0) {
        if (left >= msg.msg_iov->iov_len) {
          left -= msg.msg_iov->iov_len;
          ++msg.msg_iov;
          --msg.msg_iovlen;
        } else {
          msg.msg_iov->iov_base = static_cast<char*>(msg.msg_iov->iov_base) + left;
          msg.msg_iov->iov_len -= left;
          left = 0;
        }
      }
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(POLLOUT, deadline, spins)) {
        r.error = "timed out sending to the raw-tcp server";
        return r;
      }
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      r.error = std::string("raw-tcp send failed: ") + std::strerror(errno);
      return r;
    }
  }

  size_t have = 0;
  size_t need = kRawPrefixBytes;
  bool have_length = false;
  while (!have_length || have < need) {
    const ssize_t n = ::recv(fd_.get(), buf_.data() + have, buf_.size() - have, MSG_DONTWAIT);
    if (n > 0) {
      have += static_cast<size_t>(n);
      if (!have_length && have >= kRawPrefixBytes) {
        const uint64_t len = get_le64(buf_.data());
        if (len > buf_.size() - kRawPrefixBytes) {
          r.error = "raw-tcp server announced an echo of " + std::to_string(len) +
                    " bytes for a request of " + std::to_string(payload.size());
          return r;
        }
        need = kRawPrefixBytes + static_cast<size_t>(len);
        have_length = true;
      }
    } else if (n == 0) {
      r.error = "raw-tcp server closed the connection";
      return r;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_for(POLLIN, deadline, spins)) {
        r.error = "timed out waiting for the raw-tcp echo";
        return r;
      }
    } else if (errno != EINTR) {
      r.error = std::string("raw-tcp recv failed: ") + std::strerror(errno);
      return r;
    }
  }
  r.recv_ns = now_ns();
  if (have > need) {
    r.error = "raw-tcp server sent more bytes than one echo";
    return r;
  }
  reply_ = {buf_.data() + kRawPrefixBytes, need - kRawPrefixBytes};
  r.ok = true;
  return r;
}

}  // namespace hpcless::experiments
