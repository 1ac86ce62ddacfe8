#include "comm/communicator/request.hpp"

#include <utility>
#include <vector>

#include "comm/base/error.hpp"

namespace hpcless::comm {

Request::Request(Request&& other) noexcept
    : ch_(std::exchange(other.ch_, nullptr)),
      id_(other.id_),
      timeout_(other.timeout_),
      elem_size_(other.elem_size_),
      bytes_(other.bytes_),
      done_(other.done_) {}

Request& Request::operator=(Request&& other) noexcept {
  if (this != &other) {
    if (ch_ != nullptr) ch_->cancel(id_);
    ch_ = std::exchange(other.ch_, nullptr);
    id_ = other.id_;
    timeout_ = other.timeout_;
    elem_size_ = other.elem_size_;
    bytes_ = other.bytes_;
    done_ = other.done_;
  }
  return *this;
}

Request::~Request() {
  if (ch_ != nullptr) ch_->cancel(id_);
}

bool Request::test() {
  if (done_) return true;
  if (ch_ == nullptr) throw ConfigError("test on an empty or failed request");
  try {
    if (!ch_->test(id_, &bytes_)) return false;
  } catch (const Error&) {
    ch_ = nullptr;  // the channel released the failed request
    throw;
  }
  ch_ = nullptr;
  done_ = true;
  return true;
}

void Request::wait(std::optional<Deadline> deadline) {
  if (done_) return;
  if (ch_ == nullptr) throw ConfigError("wait on an empty or failed request");
  try {
    ch_->wait_all({&id_, 1}, resolve(deadline), &bytes_);
  } catch (const TimeoutError&) {
    throw;  // still pending
  } catch (const Error&) {
    ch_ = nullptr;
    throw;
  }
  ch_ = nullptr;
  done_ = true;
}

void Request::wait_all(std::span<Request> reqs, std::optional<Deadline> deadline) {
  std::vector<RequestId> ids;
  std::vector<size_t> idx;
  Channel* ch = nullptr;
  std::chrono::milliseconds timeout{0};
  for (size_t i = 0; i < reqs.size(); ++i) {
    Request& r = reqs[i];
    if (r.done_) continue;
    if (r.ch_ == nullptr) throw ConfigError("wait_all on an empty or failed request");
    if (ch != nullptr && r.ch_ != ch)
      throw ConfigError("wait_all: requests belong to different communicators");
    ch = r.ch_;
    timeout = r.timeout_;
    ids.push_back(r.id_);
    idx.push_back(i);
  }
  if (ids.empty()) return;
  std::vector<size_t> bytes(ids.size());
  const Deadline d = deadline ? *deadline : Deadline::after(timeout);
  try {
    ch->wait_all(ids, d, bytes.data());
  } catch (const Error&) {
    // Requests the channel released (finished or failed) are no longer ours to cancel.
    for (size_t k = 0; k < ids.size(); ++k) {
      Request& r = reqs[idx[k]];
      size_t b = 0;
      bool finished = false;
      try {
        finished = ch->test(r.id_, &b);
      } catch (const Error&) {
        r.ch_ = nullptr;  // failed (released by test) or already released by wait_all
        continue;
      }
      if (finished) {
        r.ch_ = nullptr;
        r.done_ = true;
        r.bytes_ = b;
      }
    }
    throw;
  }
  for (size_t k = 0; k < ids.size(); ++k) {
    Request& r = reqs[idx[k]];
    r.ch_ = nullptr;
    r.done_ = true;
    r.bytes_ = bytes[k];
  }
}

}  // namespace hpcless::comm
