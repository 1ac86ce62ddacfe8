// The state of one peer of an RdmaChannel: its link, the queue of outgoing messages, the message
// being received and the per-peer matching queues.
//
// Receiving: the link hands out one chunk (frame) at a time in its registered slot; the channel
// copies it to rx.dest (a posted receive's buffer, an unexpected-message buffer, or nowhere when
// the receive was cancelled or too small) and frees the slot at once, so the peer's credits flow
// back whatever the application does.
//
// Thread safety: none (owned by its channel).
#pragma once

#include <cstddef>
#include <deque>
#include <list>
#include <memory>
#include <string>

#include "comm/channel/request_table.hpp"
#include "comm/transport/rdma/rdma_link.hpp"

namespace hpcless::comm::rdma_channel {

// A message that arrived (or is arriving) before its receive was posted.
struct Unexpected {
  Tag tag = 0;
  size_t len = 0;
  std::unique_ptr<std::byte[]> data;
  bool complete = false;  // every chunk copied into data
};

// A message queued for sending; chunks leave in order as the link has room.
struct SendItem {
  uint32_t slot = RequestTable::kNone;
  Tag tag = 0;
  const std::byte* data = nullptr;
  size_t len = 0;
  size_t sent = 0;       // message bytes already posted
  bool started = false;  // the first chunk (with the length) is posted
};

// The message whose chunks are arriving on a link.
struct RxMessage {
  bool active = false;
  Tag tag = 0;
  size_t len = 0;
  size_t done = 0;
  std::byte* dest = nullptr;            // null: discard the rest
  uint32_t slot = RequestTable::kNone;  // the receive it completes
  bool to_unexpected = false;
  std::list<Unexpected>::iterator unexpected;
};

struct Peer {
  int rank = -1;
  std::unique_ptr<rdma::RdmaLink> link;  // null for this rank itself
  bool dead = false;
  std::string why;  // why the link is dead

  std::deque<SendItem> sendq;
  RxMessage rx;
  std::deque<uint32_t> posted;       // receive slots, in posting order
  std::list<Unexpected> unexpected;  // in arrival order
};

}  // namespace hpcless::comm::rdma_channel
