// The state of one peer of a DirectChannel: its socket, the queue of outgoing messages, the
// receive state machine and the per-peer matching queues.
//
// Receive states:
//   kHeader   reading the next 16-byte header (through the staging buffer, which also batches
//             small messages: one recv() often holds several).
//   kPayload  copying the payload to rx_dest: a posted receive's buffer (in place, read straight
//             from the socket), an unexpected-message buffer, or nowhere (discarding the rest of
//             a message whose receive was cancelled or too small).
//   kStalled  a large message arrived before its receive: its payload is left in the kernel
//             until the receive is posted (then it lands in place) or it must be buffered.
//
// Thread safety: none (owned by its channel).
#pragma once

#include <cstddef>
#include <deque>
#include <list>
#include <memory>
#include <string>

#include "comm/base/fd.hpp"
#include "comm/channel/direct/wire.hpp"
#include "comm/channel/request_table.hpp"

namespace hpcless::comm::direct {

// Bytes read per recv() while looking for headers. Small, so that at most this much of a large
// payload is copied through it.
inline constexpr size_t kStageBytes = 16 * 1024;

struct Unexpected {
  Tag tag = 0;
  size_t len = 0;
  std::unique_ptr<std::byte[]> data;        // allocated when the payload is read
  bool stalled = false;                     // header read, payload still in the kernel
  bool complete = false;                    // payload fully read into data
  uint32_t attached = RequestTable::kNone;  // a receive matched while the payload arrived
};

struct SendItem {
  uint32_t slot = RequestTable::kNone;
  std::byte head[kHeaderBytes];
  const std::byte* data = nullptr;
  size_t len = 0;   // payload bytes
  size_t sent = 0;  // of kHeaderBytes + len
};

enum class Rx : uint8_t { kHeader, kPayload, kStalled };

struct PeerLink {
  int rank = -1;
  UniqueFd fd;
  bool dead = false;
  std::string why;  // why the link is dead

  std::deque<SendItem> sendq;

  std::unique_ptr<std::byte[]> stage;
  size_t rpos = 0;
  size_t wpos = 0;
  Rx rx = Rx::kHeader;
  Tag rx_tag = 0;
  size_t rx_len = 0;
  size_t rx_done = 0;
  std::byte* rx_dest = nullptr;  // null in kPayload: discard
  uint32_t rx_slot = RequestTable::kNone;
  bool rx_to_unexpected = false;
  std::list<Unexpected>::iterator rx_unexpected;

  std::deque<uint32_t> posted;       // receive slots, in posting order
  std::list<Unexpected> unexpected;  // in arrival order; a stalled one is always last
};

}  // namespace hpcless::comm::direct
