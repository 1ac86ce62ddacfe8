// A pending non-blocking send or receive of a Communicator.
//
// Ownership: the buffer given to isend/irecv must stay valid until the request completes
// (wait()/test() returned true) or is destroyed. Destroying an unfinished request cancels it: a
// receive that has not started is simply dropped; a receive in progress discards the rest of
// its message; a send already partly transmitted breaks the link to that peer.
// A request must not outlive its Communicator.
//
// Thread safety: none; use a request on the thread that uses its communicator.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>

#include "comm/base/clock.hpp"
#include "comm/channel/channel.hpp"

namespace hpcless::comm {

class Request {
 public:
  Request() = default;
  Request(Request&& other) noexcept;
  Request& operator=(Request&& other) noexcept;
  ~Request();

  // True once the operation finished (then count() is valid). Makes progress without blocking.
  // Throws the operation's error (IoError: the peer is gone; ProtocolError: truncated).
  bool test();
  // Blocks until finished. TimeoutError leaves the request pending (wait again or destroy it).
  void wait(std::optional<Deadline> deadline = std::nullopt);
  bool done() const noexcept { return done_; }
  // Elements transferred (for a receive: the size of the message that arrived).
  size_t count() const noexcept { return bytes_ / elem_size_; }
  size_t bytes() const noexcept { return bytes_; }

  // Waits for every request in `reqs` (all of one communicator) with one deadline.
  static void wait_all(std::span<Request> reqs, std::optional<Deadline> deadline = std::nullopt);

 private:
  friend class Communicator;
  Request(Channel* ch, RequestId id, std::chrono::milliseconds timeout, size_t elem_size)
      : ch_(ch), id_(id), timeout_(timeout), elem_size_(elem_size) {}
  Deadline resolve(std::optional<Deadline> d) const { return d ? *d : Deadline::after(timeout_); }

  Channel* ch_ = nullptr;  // null once finished (or moved from)
  RequestId id_ = 0;
  std::chrono::milliseconds timeout_{0};
  size_t elem_size_ = 1;
  size_t bytes_ = 0;
  bool done_ = false;
};

}  // namespace hpcless::comm
