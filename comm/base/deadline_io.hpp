// Whole-buffer reads and writes on a non-blocking descriptor, bounded by a Deadline.
// For set-up and control traffic (handshakes, rendezvous requests), not for data paths.
//
// Thread safety: the functions are reentrant; callers serialise access to one descriptor.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"

namespace hpcless {

// Waits for `events` on fd; false when the deadline passed first.
inline bool wait_fd(int fd, short events, Deadline deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, deadline.remaining_ms());
    if (n > 0) return true;
    if (n == 0) {
      if (deadline.expired()) return false;
      continue;
    }
    if (errno != EINTR) throw_system_error("poll");
  }
}

// Writes every byte. Throws IoError (peer gone) or TimeoutError, naming `what`.
inline void write_all(int fd, std::span<const std::byte> data, Deadline deadline,
                      std::string_view what) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_fd(fd, POLLOUT, deadline))
        throw TimeoutError("timed out writing to " + std::string(what));
      continue;
    }
    throw IoError("cannot write to " + std::string(what) + ": " +
                  (n < 0 ? std::string(std::strerror(errno)) : std::string("closed")));
  }
}

// Reads exactly data.size() bytes. Throws IoError when the peer closes first, TimeoutError.
inline void read_exact(int fd, std::span<std::byte> data, Deadline deadline,
                       std::string_view what) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::recv(fd, data.data() + done, data.size() - done, 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) throw IoError(std::string(what) + " closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_fd(fd, POLLIN, deadline))
        throw TimeoutError("timed out reading from " + std::string(what));
      continue;
    }
    throw IoError("cannot read from " + std::string(what) + ": " + std::strerror(errno));
  }
}

}  // namespace hpcless
