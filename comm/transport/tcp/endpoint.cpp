#include "comm/transport/tcp/endpoint.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include "comm/base/error.hpp"

namespace hpcless::tcp {

std::string Endpoint::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Endpoint parse_endpoint(std::string_view text) {
  auto bad = [&](const char* why) {
    return ConfigError("invalid address '" + std::string(text) + "': " + why +
                       " (expected HOST:PORT, e.g. 127.0.0.1:7000)");
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) throw bad("missing port");
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']') throw bad("unbalanced brackets");
    host = host.substr(1, host.size() - 2);
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value > 65535)
    throw bad("port must be a number from 0 to 65535");
  if (host.empty()) throw bad("empty host");
  return Endpoint{std::string(host), static_cast<uint16_t>(value)};
}

namespace {

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};

std::unique_ptr<addrinfo, AddrInfoDeleter> resolve(const Endpoint& e, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(e.port);
  int rc = getaddrinfo(e.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0)
    throw ConfigError("cannot resolve '" + e.host + "': " + gai_strerror(rc));
  return std::unique_ptr<addrinfo, AddrInfoDeleter>(res);
}

Endpoint endpoint_of(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  Endpoint e;
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
    e.port = ntohs(in->sin_port);
  } else {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
    e.port = ntohs(in6->sin6_port);
  }
  e.host = buf;
  return e;
}

}  // namespace

void set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    throw_system_error("fcntl(O_NONBLOCK)");
}

void set_buffers(int fd, int bytes) {
  // Best effort: a smaller cap (rmem_max/wmem_max) still works, only slower for large frames.
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
}

void set_nodelay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
    throw_system_error("setsockopt(TCP_NODELAY)");
}

Listener::Listener(const Endpoint& where, int backlog) {
  auto ai = resolve(where, true);
  int last_err = 0;
  for (addrinfo* a = ai.get(); a != nullptr; a = a->ai_next) {
    UniqueFd fd(socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
      last_err = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    set_buffers(fd.get());  // before listen(): accepted sockets inherit it and the window scale
    if (bind(fd.get(), a->ai_addr, a->ai_addrlen) != 0 || listen(fd.get(), backlog) != 0) {
      last_err = errno;
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
      throw_system_error("getsockname");
    bound_ = endpoint_of(ss);
    fd_ = std::move(fd);
    return;
  }
  throw SystemError("cannot listen on " + where.to_string(), last_err);
}

UniqueFd Listener::accept_one() {
  int fd = accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
      return UniqueFd();
    throw_system_error("accept");
  }
  UniqueFd owned(fd);
  set_nodelay(fd);
  return owned;
}

UniqueFd connect_tcp(const Endpoint& to, Deadline deadline) {
  auto ai = resolve(to, false);
  std::string last_error = "no address";
  for (addrinfo* a = ai.get(); a != nullptr; a = a->ai_next) {
    UniqueFd fd(socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) throw_system_error("socket");
    set_buffers(fd.get());  // before connect(), so that the window scale fits the buffer
    int rc = connect(fd.get(), a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      continue;
    }
    if (rc != 0) {
      pollfd p{fd.get(), POLLOUT, 0};
      int n;
      do {
        n = poll(&p, 1, deadline.remaining_ms());
      } while (n < 0 && errno == EINTR);
      if (n == 0)
        throw TimeoutError("timed out connecting to " + to.to_string() +
                           " (is an executor listening there?)");
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last_error = std::strerror(err);
        continue;
      }
    }
    set_nodelay(fd.get());
    return fd;
  }
  throw IoError("cannot connect to " + to.to_string() + ": " + last_error);
}

}  // namespace hpcless::tcp
