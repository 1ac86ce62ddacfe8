// Slots of pending point-to-point requests, addressed by RequestId = generation << 32 | index.
// A released slot bumps its generation, so a stale id is recognised instead of aliasing a new
// request. Allocation reuses slots (free list): no heap traffic in steady state.
//
// Thread safety: none (owned by one channel).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/channel/channel.hpp"

namespace hpcless::comm {

enum class RequestState : uint8_t { kFree, kPending, kDone, kFailed };
enum class ErrorKind : uint8_t { kIo, kTimeout, kProtocol, kConfig };

struct RequestSlot {
  uint32_t gen = 1;
  RequestState state = RequestState::kFree;
  bool is_send = false;
  int peer = -1;
  Tag tag = 0;
  std::byte* buf = nullptr;  // receive: destination; send: source
  size_t cap = 0;            // receive: capacity; send: length
  size_t bytes = 0;          // message length once done
  ErrorKind error_kind = ErrorKind::kIo;
  std::string error;

  [[noreturn]] void throw_error() const {
    switch (error_kind) {
      case ErrorKind::kTimeout:
        throw TimeoutError(error);
      case ErrorKind::kProtocol:
        throw ProtocolError(error);
      case ErrorKind::kConfig:
        throw ConfigError(error);
      case ErrorKind::kIo:
        break;
    }
    throw IoError(error);
  }
};

class RequestTable {
 public:
  static constexpr uint32_t kNone = ~uint32_t{0};

  uint32_t alloc() {
    uint32_t i;
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
    } else {
      i = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    RequestSlot& s = slots_[i];
    s.state = RequestState::kPending;
    s.bytes = 0;
    s.error.clear();
    return i;
  }
  RequestId id(uint32_t index) const {
    return (static_cast<uint64_t>(slots_[index].gen) << 32) | index;
  }
  // The slot index of a live id, or kNone for stale/unknown ids.
  uint32_t find(RequestId id) const {
    const uint32_t i = static_cast<uint32_t>(id & 0xffffffffu);
    if (i >= slots_.size() || slots_[i].gen != static_cast<uint32_t>(id >> 32) ||
        slots_[i].state == RequestState::kFree)
      return kNone;
    return i;
  }
  RequestSlot& operator[](uint32_t index) { return slots_[index]; }
  const RequestSlot& operator[](uint32_t index) const { return slots_[index]; }
  void release(uint32_t index) {
    RequestSlot& s = slots_[index];
    s.state = RequestState::kFree;
    s.buf = nullptr;
    if (++s.gen == 0) s.gen = 1;  // ids are never 0
    free_.push_back(index);
  }
  void complete(uint32_t index, size_t bytes) {
    slots_[index].state = RequestState::kDone;
    slots_[index].bytes = bytes;
  }
  void fail(uint32_t index, ErrorKind kind, std::string why) {
    RequestSlot& s = slots_[index];
    if (s.state != RequestState::kPending) return;
    s.state = RequestState::kFailed;
    s.error_kind = kind;
    s.error = std::move(why);
  }

 private:
  std::deque<RequestSlot> slots_;  // deque: references stay valid while slots are added
  std::vector<uint32_t> free_;
};

}  // namespace hpcless::comm
