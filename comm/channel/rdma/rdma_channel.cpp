#include "comm/channel/rdma/rdma_channel.hpp"

#include <sched.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "comm/base/error.hpp"
#include "comm/channel/rdma/wire.hpp"
#include "comm/protocol/byte_order.hpp"

namespace hpcless::comm {

using rdma_channel::Peer;
using rdma_channel::SendItem;
using rdma_channel::Unexpected;
using transport::RecvStatus;
using transport::SendStatus;

namespace {

// Chunks taken from one link per pass, so that a peer streaming a large message cannot starve
// the other links (or this rank's own sends) of progress.
constexpr int kMaxChunksPerPass = 64;
// Bound on the destructor's wait for writes still in flight.
constexpr auto kFlushTimeout = std::chrono::seconds(1);

std::string describe_tag(Tag tag) {
  if (tag & kCollectiveTagBit)
    return "collective #" + std::to_string((tag & ~kCollectiveTagBit) >> 8);
  return "tag " + std::to_string(tag);
}

}  // namespace

RdmaChannel::RdmaChannel(int rank, int size, std::string group, rendezvous::Store& store,
                         const DirectOptions& options, const CollectiveTuning& tuning)
    : PeerChannel(tuning),
      rank_(rank),
      size_(size),
      group_(std::move(group)),
      options_(options),
      peers_(static_cast<size_t>(std::max(size, 0))) {
  if (size < 1)
    throw ConfigError("communicator size must be at least 1, got " + std::to_string(size));
  if (rank < 0 || rank >= size)
    throw ConfigError("rank " + std::to_string(rank) + " is outside the group size " +
                      std::to_string(size));
  for (int i = 0; i < size; ++i) peers_[i].rank = i;
  // Also for a group of one: a wait for a message to self that never comes sleeps in it (an
  // empty set) until its deadline.
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw_system_error("epoll_create1");
  if (size_ == 1) return;  // messages to self only: no device needed
  if (options_.rdma_address.empty())
    throw ConfigError(
        "the direct-rdma channel needs the address of this host's RDMA interface "
        "(DirectOptions::rdma_address; comm-bench --rdma-address or $HPCLESS_RDMA_ADDRESS)");
  const Deadline deadline = Deadline::after(options_.connect_timeout);
  connect_mesh(store, deadline);
  // Once everyone passed this barrier, every rank has connected: the keys can go.
  barrier(deadline);
  if (rank_ == 0) store.erase_prefix("rdma/");
}

RdmaChannel::~RdmaChannel() {
  // Writes still in flight would be flushed (dropped) with their queue pair: let them land
  // first, so that the last messages of a program reach ranks that are still receiving.
  const Deadline deadline = Deadline::after(kFlushTimeout);
  for (auto& p : peers_)
    if (p.link && !p.dead) (void)p.link->flush_sends(deadline);
}

void RdmaChannel::adopt_link(int peer, std::unique_ptr<rdma::RdmaLink> link) {
  // Busy mode: polls never make system calls; the connection manager's events (a peer's
  // disconnect) are read every few thousand empty polls and before every sleep.
  link->set_busy_poll(true);
  // Every chunk fits one fragment; anything larger is a corrupted stream.
  link->set_max_payload(link->fragment_bytes());
  if (rdma_wire::chunk_count(1, link->fragment_bytes()) == 0)
    throw IoError("RDMA link to " + peer_name(peer) + " has fragments of only " +
                  std::to_string(link->fragment_bytes()) + " bytes");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = static_cast<uint32_t>(peer);
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, link->wait_fd(), &ev) != 0)
    throw_system_error("epoll_ctl");
  peers_[peer].link = std::move(link);
}

std::string RdmaChannel::peer_name(int peer) const {
  return "rank " + std::to_string(peer) + " of group '" + group_ + "'";
}

void RdmaChannel::check_peer(int peer, const char* op) const {
  if (peer < 0 || peer >= size_)
    throw ConfigError(std::string(op) + ": peer " + std::to_string(peer) +
                      " is not a rank of group '" + group_ + "' (size " + std::to_string(size_) +
                      ")");
}

std::string RdmaChannel::truncation(int peer, Tag tag, size_t len, size_t cap) const {
  return "message of " + std::to_string(len) + " bytes from " + peer_name(peer) + " (" +
         describe_tag(tag) + ") does not fit the receive buffer of " + std::to_string(cap) +
         " bytes";
}

// ---------------------------------------------------------------------------------------------
// Posting

RequestId RdmaChannel::isend(int peer, Tag tag, const void* data, size_t bytes) {
  check_peer(peer, "isend");
  const uint32_t s = table_.alloc();
  RequestSlot& slot = table_[s];
  slot.is_send = true;
  slot.peer = peer;
  slot.tag = tag;
  slot.buf = const_cast<std::byte*>(static_cast<const std::byte*>(data));
  slot.cap = bytes;
  const RequestId id = table_.id(s);
  if (aborted_) {
    table_.fail(s, ErrorKind::kIo, abort_reason_);
    return id;
  }
  if (peer == rank_) {
    self_send(s);
    return id;
  }
  Peer& p = peers_[peer];
  if (p.dead) {
    table_.fail(s, ErrorKind::kIo, p.why);
    return id;
  }
  SendItem item;
  item.slot = s;
  item.tag = tag;
  item.data = static_cast<const std::byte*>(data);
  item.len = bytes;
  p.sendq.push_back(item);
  // With credits at hand the message (or its first chunks) leaves in this call.
  if (p.sendq.size() == 1) pump_tx(p);
  return id;
}

RequestId RdmaChannel::irecv(int peer, Tag tag, void* data, size_t capacity) {
  check_peer(peer, "irecv");
  const uint32_t s = table_.alloc();
  RequestSlot& slot = table_[s];
  slot.is_send = false;
  slot.peer = peer;
  slot.tag = tag;
  slot.buf = static_cast<std::byte*>(data);
  slot.cap = capacity;
  const RequestId id = table_.id(s);
  if (aborted_) {
    table_.fail(s, ErrorKind::kIo, abort_reason_);
    return id;
  }
  Peer& p = peers_[peer];
  // The earliest message with this tag that arrived before its receive.
  for (auto it = p.unexpected.begin(); it != p.unexpected.end(); ++it) {
    if (it->tag != tag) continue;
    const bool arriving = p.rx.active && p.rx.to_unexpected && p.rx.unexpected == it;
    if (it->len > capacity) {
      table_.fail(s, ErrorKind::kProtocol, truncation(peer, tag, it->len, capacity));
      // The message is consumed by the failed receive (as in MPI); discard what is left of it.
      if (arriving) {
        p.rx.dest = nullptr;
        p.rx.to_unexpected = false;
      }
      p.unexpected.erase(it);
      return id;
    }
    if (arriving) {
      // Take the message over: what arrived so far is copied, the rest lands in place.
      if (p.rx.done != 0) std::memcpy(slot.buf, it->data.get(), p.rx.done);
      p.rx.dest = slot.buf;
      p.rx.slot = s;
      p.rx.to_unexpected = false;
      p.unexpected.erase(it);
      ++stats_.taken_over;
      return id;
    }
    if (it->len != 0) std::memcpy(slot.buf, it->data.get(), it->len);
    table_.complete(s, it->len);
    p.unexpected.erase(it);
    return id;
  }
  if (p.dead) {
    table_.fail(s, ErrorKind::kIo, p.why);
    return id;
  }
  p.posted.push_back(s);
  return id;
}

void RdmaChannel::self_send(uint32_t s) {
  Peer& self = peers_[rank_];
  RequestSlot& send = table_[s];
  for (auto it = self.posted.begin(); it != self.posted.end(); ++it) {
    RequestSlot& recv = table_[*it];
    if (recv.tag != send.tag) continue;
    const uint32_t r = *it;
    self.posted.erase(it);
    if (send.cap > recv.cap) {
      table_.fail(r, ErrorKind::kProtocol, truncation(rank_, send.tag, send.cap, recv.cap));
    } else {
      if (send.cap != 0) std::memcpy(recv.buf, send.buf, send.cap);
      table_.complete(r, send.cap);
    }
    table_.complete(s, send.cap);
    return;
  }
  Unexpected u;
  u.tag = send.tag;
  u.len = send.cap;
  u.data = std::make_unique_for_overwrite<std::byte[]>(std::max<size_t>(send.cap, 1));
  if (send.cap != 0) std::memcpy(u.data.get(), send.buf, send.cap);
  u.complete = true;
  self.unexpected.push_back(std::move(u));
  table_.complete(s, send.cap);
}

// ---------------------------------------------------------------------------------------------
// Sending

bool RdmaChannel::pump_tx(Peer& p) {
  bool moved = false;
  const size_t fragment = p.link->fragment_bytes();
  while (!p.sendq.empty() && !p.dead) {
    SendItem& item = p.sendq.front();
    const bool first = !item.started;
    const size_t n = std::min(rdma_wire::chunk_capacity(fragment, first), item.len - item.sent);
    const size_t payload = (first ? rdma_wire::kLengthBytes : 0) + n;
    if (!p.link->send_room(protocol::kHeaderSize + payload)) {
      if (p.link->broken())
        peer_failed(p, "connection to " + peer_name(p.rank) + " failed: " + p.link->failure());
      break;
    }
    const protocol::Header h = rdma_wire::chunk_header(first, item.tag, payload);
    const std::span<const std::byte> data(item.data + item.sent, n);
    // send_room() said the chunk goes out at once: an expired deadline only guards against a
    // wait that cannot happen (a one-fragment frame that finds no room posts nothing).
    const Deadline now = Deadline::at_ns(0);
    SendStatus st;
    if (first) {
      std::byte len[rdma_wire::kLengthBytes];
      protocol::store_le<uint64_t>(len, item.len);
      st = p.link->send_gather(h, len, data, now);
    } else {
      st = p.link->send_frame(h, data, now);
    }
    if (st == SendStatus::kTimeout) break;
    if (st != SendStatus::kOk) {
      peer_failed(p, "cannot send to " + peer_name(p.rank) + ": " + p.link->failure());
      break;
    }
    moved = true;
    item.started = true;
    item.sent += n;
    if (item.sent == item.len) {
      table_.complete(item.slot, item.len);
      p.sendq.pop_front();
    }
  }
  return moved;
}

// ---------------------------------------------------------------------------------------------
// Receiving

void RdmaChannel::begin_message(Peer& p, Tag tag, uint64_t len) {
  auto& rx = p.rx;
  rx = {};
  rx.active = true;
  rx.tag = tag;
  rx.len = static_cast<size_t>(len);
  for (auto it = p.posted.begin(); it != p.posted.end(); ++it) {
    RequestSlot& slot = table_[*it];
    if (slot.tag != tag) continue;
    const uint32_t s = *it;
    p.posted.erase(it);
    if (rx.len > slot.cap) {
      table_.fail(s, ErrorKind::kProtocol, truncation(p.rank, tag, rx.len, slot.cap));
    } else {
      rx.dest = slot.buf;
      rx.slot = s;
    }
    return;
  }
  Unexpected u;
  u.tag = tag;
  u.len = rx.len;
  u.data = std::make_unique_for_overwrite<std::byte[]>(std::max<size_t>(u.len, 1));
  p.unexpected.push_back(std::move(u));
  rx.unexpected = std::prev(p.unexpected.end());
  rx.to_unexpected = true;
  rx.dest = rx.unexpected->data.get();
  ++stats_.unexpected;
}

void RdmaChannel::finish_message(Peer& p) {
  auto& rx = p.rx;
  if (rx.slot != RequestTable::kNone) {
    table_.complete(rx.slot, rx.len);
  } else if (rx.to_unexpected) {
    rx.unexpected->complete = true;
  }
  rx = {};
}

void RdmaChannel::on_chunk(Peer& p) {
  const protocol::Header& h = p.link->header();
  std::span<const std::byte> data = p.link->payload();
  auto malformed = [&](const char* what) {
    peer_failed(p, peer_name(p.rank) + " sent a malformed message (" + what + ")");
  };
  if (h.type == rdma_wire::kFirstChunk) {
    if (p.rx.active) return malformed("a new message before the end of the previous one");
    if (data.size() < rdma_wire::kLengthBytes) return malformed("no length");
    const uint64_t len = protocol::load_le<uint64_t>(data.data());
    if (len > rdma_wire::kMaxMessageBytes) return malformed("length above 2^40 bytes");
    begin_message(p, h.request_id, len);
    data = data.subspan(rdma_wire::kLengthBytes);
  } else if (h.type != rdma_wire::kNextChunk) {
    return malformed("unexpected frame type");
  } else if (!p.rx.active || h.request_id != p.rx.tag) {
    return malformed("a continuation without its message");
  }
  auto& rx = p.rx;
  if (data.size() > rx.len - rx.done) return malformed("more bytes than announced");
  if (rx.dest != nullptr && !data.empty()) std::memcpy(rx.dest + rx.done, data.data(), data.size());
  rx.done += data.size();
  if (rx.done == rx.len) finish_message(p);
}

bool RdmaChannel::pump_rx(Peer& p) {
  bool moved = false;
  for (int n = 0; n < kMaxChunksPerPass && !p.dead; ++n) {
    const RecvStatus st = p.link->try_recv();
    switch (st) {
      case RecvStatus::kFrame:
        on_chunk(p);
        if (!p.dead) p.link->consume();  // frees the slot: the credit goes back to the peer
        moved = true;
        continue;
      case RecvStatus::kAgain:
        return moved;
      case RecvStatus::kClosed:
      case RecvStatus::kError:
        // Chunks that landed before the failure stay deliverable.
        if (p.link->has_buffered()) continue;
        // A disconnect (the peer ended or aborted) reads like a closed TCP connection; a
        // flushed receive queue is the same event seen from the completion side.
        if (st == RecvStatus::kClosed ||
            p.link->failure().find("disconnected") != std::string::npos)
          peer_failed(p, peer_name(p.rank) + " closed the connection");
        else
          peer_failed(p, "connection to " + peer_name(p.rank) + " failed: " + p.link->failure());
        return true;
      case RecvStatus::kBadFrame:
        peer_failed(p, peer_name(p.rank) + " sent a malformed frame (" +
                           protocol::to_string(p.link->decode_result()) + ")");
        return true;
      case RecvStatus::kTooLarge:
        peer_failed(p, peer_name(p.rank) + " sent a frame larger than a link fragment");
        return true;
    }
  }
  return moved;
}

// ---------------------------------------------------------------------------------------------
// Progress and waiting

bool RdmaChannel::progress() {
  bool moved = false;
  for (auto& p : peers_) {
    if (!p.link || p.dead) continue;
    moved |= pump_rx(p);
    if (!p.sendq.empty() && !p.dead) moved |= pump_tx(p);
  }
  return moved;
}

void RdmaChannel::sleep_until(uint64_t wake_ns) {
  bool send_blocked_locally = false;
  for (auto& p : peers_) {
    if (!p.link || p.dead) continue;
    // Arms the completion channel; false when something is already pending (or the link
    // broke): do not sleep, the next pass handles it.
    if (!p.link->prepare_wait()) return;
    // Queued chunks held back by something other than credits (a staging slot or send-queue
    // room, freed by send completions, which raise no event): come back soon.
    if (!p.sendq.empty() && p.link->credits() > 0) send_blocked_locally = true;
  }
  if (send_blocked_locally) {
    sched_yield();
    return;
  }
  // The caller re-checks everything after a wake-up, so EINTR is just an early wake-up.
  epoll_event ev[8];
  if (epoll_wait(epoll_.get(), ev, 8, Deadline::at_ns(wake_ns).remaining_ms()) < 0 &&
      errno != EINTR)
    throw_system_error("epoll_wait");
}

bool RdmaChannel::test(RequestId id, size_t* bytes) {
  const uint32_t s = table_.find(id);
  if (s == RequestTable::kNone)
    throw ConfigError("test: unknown request (already completed, cancelled or never posted)");
  if (table_[s].state == RequestState::kPending) progress();
  RequestSlot& slot = table_[s];
  if (slot.state == RequestState::kPending) return false;
  if (slot.state == RequestState::kFailed) {
    const RequestSlot copy = slot;
    table_.release(s);
    copy.throw_error();
  }
  if (bytes != nullptr) *bytes = slot.bytes;
  table_.release(s);
  return true;
}

std::string RdmaChannel::describe_pending(std::span<const RequestId> ids) const {
  for (RequestId id : ids) {
    const uint32_t s = table_.find(id);
    if (s == RequestTable::kNone || table_[s].state != RequestState::kPending) continue;
    const RequestSlot& slot = table_[s];
    return std::string(slot.is_send ? "sending to " : "receiving from ") + peer_name(slot.peer) +
           " (" + describe_tag(slot.tag) + ")";
  }
  return "requests";
}

void RdmaChannel::wait_all(std::span<const RequestId> ids, Deadline deadline, size_t* bytes) {
  const uint64_t start = now_ns();
  const uint64_t spin_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.spin).count());
  while (true) {
    bool pending = false;
    uint32_t failed = RequestTable::kNone;
    for (RequestId id : ids) {
      const uint32_t s = table_.find(id);
      if (s == RequestTable::kNone)
        throw ConfigError("wait: unknown request (already completed, cancelled or never posted)");
      const RequestState st = table_[s].state;
      if (st == RequestState::kPending) pending = true;
      if (st == RequestState::kFailed && failed == RequestTable::kNone) failed = s;
    }
    if (failed != RequestTable::kNone) {
      const RequestSlot copy = table_[failed];
      table_.release(failed);
      copy.throw_error();
    }
    if (!pending) {
      for (size_t i = 0; i < ids.size(); ++i) {
        const uint32_t s = table_.find(ids[i]);
        if (bytes != nullptr) bytes[i] = table_[s].bytes;
        table_.release(s);
      }
      return;
    }
    const uint64_t now = now_ns();
    if (deadline.expired(now))
      throw TimeoutError("timed out after " + std::to_string((now - start) / 1'000'000) + " ms " +
                         describe_pending(ids));
    if (progress()) continue;
    if (now - start < spin_ns) {
      // Hot: the next completion is seen without a wake-up; yielding lets the other ranks of an
      // oversubscribed node run meanwhile.
      sched_yield();
    } else {
      sleep_until(deadline.ns());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Cancelling and failing

void RdmaChannel::cancel(RequestId id) noexcept {
  const uint32_t s = table_.find(id);
  if (s == RequestTable::kNone) return;
  RequestSlot& slot = table_[s];
  if (slot.state == RequestState::kPending) {
    Peer& p = peers_[slot.peer];
    if (slot.is_send) {
      for (auto it = p.sendq.begin(); it != p.sendq.end(); ++it) {
        if (it->slot != s) continue;
        if (!it->started) {
          p.sendq.erase(it);
        } else {
          // The peer got part of it; the rest would come from memory the caller may now free.
          peer_failed(p, "a message partly sent to " + peer_name(p.rank) + " was cancelled");
        }
        break;
      }
    } else {
      auto q = std::find(p.posted.begin(), p.posted.end(), s);
      if (q != p.posted.end()) p.posted.erase(q);
      if (p.rx.active && p.rx.slot == s) {
        p.rx.slot = RequestTable::kNone;  // discard the rest of the message
        p.rx.dest = nullptr;
      }
    }
  }
  table_.release(s);
}

void RdmaChannel::peer_failed(Peer& p, const std::string& why) noexcept {
  if (p.dead) return;
  p.dead = true;
  p.why = why;
  if (p.link) {
    // Out of the epoll set first: a closed link's descriptors may stay readable.
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, p.link->wait_fd(), nullptr);
    p.link.reset();  // disconnects: the peer sees it at once
  }
  for (uint32_t s : p.posted) table_.fail(s, ErrorKind::kIo, why);
  p.posted.clear();
  for (auto& item : p.sendq) table_.fail(item.slot, ErrorKind::kIo, why);
  p.sendq.clear();
  if (p.rx.active && p.rx.slot != RequestTable::kNone) table_.fail(p.rx.slot, ErrorKind::kIo, why);
  // Messages fully received stay deliverable; a partial one is lost.
  if (p.rx.active && p.rx.to_unexpected) p.unexpected.erase(p.rx.unexpected);
  p.rx = {};
}

void RdmaChannel::abort(std::string_view reason) noexcept {
  if (aborted_) return;
  aborted_ = true;
  abort_reason_ = "communicator aborted: ";
  abort_reason_ += reason;
  for (auto& p : peers_) {
    if (p.rank == rank_) {
      for (uint32_t s : p.posted) table_.fail(s, ErrorKind::kIo, abort_reason_);
      p.posted.clear();
      continue;
    }
    peer_failed(p, abort_reason_);
  }
}

}  // namespace hpcless::comm
