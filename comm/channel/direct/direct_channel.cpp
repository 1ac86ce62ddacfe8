#include "comm/channel/direct/direct_channel.hpp"

#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "comm/base/error.hpp"

namespace hpcless::comm {

using direct::kHeaderBytes;
using direct::kStageBytes;
using direct::Rx;
using direct::SendItem;
using direct::Unexpected;

namespace {

// Payloads up to this size are copied behind the header so that a small message leaves as one
// buffer (one iovec, one segment).
constexpr size_t kCoalesceBytes = 1024;
constexpr int kMaxIov = 32;

std::string describe_tag(Tag tag) {
  if (tag & kCollectiveTagBit)
    return "collective #" + std::to_string((tag & ~kCollectiveTagBit) >> 8);
  return "tag " + std::to_string(tag);
}

}  // namespace

DirectChannel::DirectChannel(int rank, int size, std::string group, rendezvous::Store& store,
                             const DirectOptions& options, const CollectiveTuning& tuning)
    : PeerChannel(tuning),
      rank_(rank),
      size_(size),
      group_(std::move(group)),
      options_(options),
      links_(static_cast<size_t>(std::max(size, 0))) {
  if (size < 1)
    throw ConfigError("communicator size must be at least 1, got " + std::to_string(size));
  if (rank < 0 || rank >= size)
    throw ConfigError("rank " + std::to_string(rank) + " is outside the group size " +
                      std::to_string(size));
  if (group_.size() > direct::kMaxGroupName) throw ConfigError("group name longer than 4096 bytes");
  for (int i = 0; i < size; ++i) {
    links_[i].rank = i;
    if (i != rank) links_[i].stage = std::make_unique_for_overwrite<std::byte[]>(kStageBytes);
  }
  const Deadline deadline = Deadline::after(options_.connect_timeout);
  connect_mesh(store, deadline);
  if (size_ > 1) {
    // Once everyone passed this barrier, every rank has connected: the addresses can go.
    barrier(deadline);
    if (rank_ == 0) store.erase_prefix("direct/");
  }
}

DirectChannel::~DirectChannel() = default;

std::string DirectChannel::peer_name(int peer) const {
  return "rank " + std::to_string(peer) + " of group '" + group_ + "'";
}

void DirectChannel::check_peer(int peer, const char* op) const {
  if (peer < 0 || peer >= size_)
    throw ConfigError(std::string(op) + ": peer " + std::to_string(peer) +
                      " is not a rank of group '" + group_ + "' (size " + std::to_string(size_) +
                      ")");
}

std::string DirectChannel::truncation(int peer, Tag tag, size_t len, size_t cap) const {
  return "message of " + std::to_string(len) + " bytes from " + peer_name(peer) + " (" +
         describe_tag(tag) + ") does not fit the receive buffer of " + std::to_string(cap) +
         " bytes";
}

// ---------------------------------------------------------------------------------------------
// Posting

RequestId DirectChannel::isend(int peer, Tag tag, const void* data, size_t bytes) {
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
  PeerLink& link = links_[peer];
  if (link.dead) {
    table_.fail(s, ErrorKind::kIo, link.why);
    return id;
  }
  SendItem item;
  item.slot = s;
  direct::encode_header(item.head, tag, bytes);
  item.data = static_cast<const std::byte*>(data);
  item.len = bytes;
  // Try at once: with room in the socket buffer the message leaves in this call.
  if (link.sendq.empty() && send_now(link, item)) {
    table_.complete(s, bytes);
    return id;
  }
  if (!link.dead) link.sendq.push_back(item);
  return id;
}

bool DirectChannel::send_now(PeerLink& link, SendItem& item) {
  std::byte buf[kHeaderBytes + kCoalesceBytes];
  iovec iov[2];
  int n = 1;
  size_t total = kHeaderBytes + item.len;
  if (item.len <= kCoalesceBytes) {
    std::memcpy(buf, item.head, kHeaderBytes);
    if (item.len != 0) std::memcpy(buf + kHeaderBytes, item.data, item.len);
    iov[0] = {buf, total};
  } else {
    iov[0] = {item.head, kHeaderBytes};
    iov[1] = {const_cast<std::byte*>(item.data), item.len};
    n = 2;
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<size_t>(n);
  ssize_t w;
  do {
    w = ::sendmsg(link.fd.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (w < 0 && errno == EINTR);
  if (w < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      link_failed(link, "cannot send to " + peer_name(link.rank) + ": " + std::strerror(errno));
      table_.fail(item.slot, ErrorKind::kIo, link.why);
    }
    return false;
  }
  item.sent = static_cast<size_t>(w);
  return item.sent == total;
}

RequestId DirectChannel::irecv(int peer, Tag tag, void* data, size_t capacity) {
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
  PeerLink& link = links_[peer];
  // The earliest message with this tag that arrived before its receive.
  for (auto it = link.unexpected.begin(); it != link.unexpected.end(); ++it) {
    if (it->tag != tag) continue;
    const bool arriving =
        link.rx == Rx::kPayload && link.rx_to_unexpected && link.rx_unexpected == it;
    if (it->len > capacity) {
      table_.fail(s, ErrorKind::kProtocol, truncation(peer, tag, it->len, capacity));
      // The message is consumed by the failed receive (as in MPI); discard what is left of it.
      if (it->stalled) {
        link.rx = Rx::kPayload;
        link.rx_dest = nullptr;
      } else if (arriving) {
        link.rx_dest = nullptr;
        link.rx_to_unexpected = false;
      }
      link.unexpected.erase(it);
      return id;
    }
    if (it->stalled) {
      // Its payload is still in the kernel: read it straight into the caller's buffer.
      link.rx = Rx::kPayload;
      link.rx_dest = slot.buf;
      link.rx_slot = s;
      link.rx_to_unexpected = false;
      link.unexpected.erase(it);
      ++stats_.resumed;
      pump_rx(link);
      return id;
    }
    if (it->complete) {
      deliver(*it, s);
      link.unexpected.erase(it);
      return id;
    }
    it->attached = s;  // still arriving; delivered by finish_rx
    return id;
  }
  if (link.dead) {
    table_.fail(s, ErrorKind::kIo, link.why);
    return id;
  }
  link.posted.push_back(s);
  // A stalled message ahead of this one on the same link blocks it: buffer the stalled one.
  if (link.rx == Rx::kStalled) {
    drain(link);
    pump_rx(link);
  }
  return id;
}

void DirectChannel::self_send(uint32_t s) {
  PeerLink& self = links_[rank_];
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

void DirectChannel::deliver(Unexpected& u, uint32_t s) {
  RequestSlot& slot = table_[s];
  if (u.len != 0) std::memcpy(slot.buf, u.data.get(), u.len);
  table_.complete(s, u.len);
}

// ---------------------------------------------------------------------------------------------
// Receiving

void DirectChannel::on_header(PeerLink& link, Tag tag, uint64_t len) {
  if (len > direct::kMaxMessageBytes) {
    link_failed(link, peer_name(link.rank) + " sent a malformed message header (length " +
                          std::to_string(len) + ")");
    return;
  }
  link.rx_tag = tag;
  link.rx_len = static_cast<size_t>(len);
  link.rx_done = 0;
  link.rx_slot = RequestTable::kNone;
  link.rx_to_unexpected = false;
  link.rx_dest = nullptr;
  for (auto it = link.posted.begin(); it != link.posted.end(); ++it) {
    RequestSlot& slot = table_[*it];
    if (slot.tag != tag) continue;
    const uint32_t s = *it;
    link.posted.erase(it);
    if (len > slot.cap) {
      table_.fail(s, ErrorKind::kProtocol, truncation(link.rank, tag, len, slot.cap));
    } else {
      link.rx_dest = slot.buf;
      link.rx_slot = s;
    }
    link.rx = Rx::kPayload;
    return;
  }
  Unexpected u;
  u.tag = tag;
  u.len = link.rx_len;
  if (u.len > options_.eager_bytes) {
    u.stalled = true;
    link.unexpected.push_back(std::move(u));
    link.rx = Rx::kStalled;
    ++stats_.stalled;
    return;
  }
  u.data = std::make_unique_for_overwrite<std::byte[]>(std::max<size_t>(u.len, 1));
  link.unexpected.push_back(std::move(u));
  link.rx_unexpected = std::prev(link.unexpected.end());
  link.rx_to_unexpected = true;
  link.rx_dest = link.rx_unexpected->data.get();
  link.rx = Rx::kPayload;
  ++stats_.buffered;
}

void DirectChannel::finish_rx(PeerLink& link) {
  if (link.rx_slot != RequestTable::kNone) {
    table_.complete(link.rx_slot, link.rx_len);
  } else if (link.rx_to_unexpected) {
    Unexpected& u = *link.rx_unexpected;
    u.complete = true;
    if (u.attached != RequestTable::kNone) {
      deliver(u, u.attached);
      link.unexpected.erase(link.rx_unexpected);
    }
  }
  link.rx = Rx::kHeader;
  link.rx_slot = RequestTable::kNone;
  link.rx_to_unexpected = false;
  link.rx_dest = nullptr;
}

void DirectChannel::drain(PeerLink& link) {
  if (link.rx != Rx::kStalled) return;
  Unexpected& u = link.unexpected.back();
  u.stalled = false;
  u.data = std::make_unique_for_overwrite<std::byte[]>(std::max<size_t>(u.len, 1));
  link.rx_unexpected = std::prev(link.unexpected.end());
  link.rx_to_unexpected = true;
  link.rx_dest = u.data.get();
  link.rx_slot = RequestTable::kNone;
  link.rx = Rx::kPayload;
  ++stats_.drained;
}

bool DirectChannel::drain_stalled() {
  bool any = false;
  for (auto& link : links_) {
    if (link.rx == Rx::kStalled && !link.dead) {
      drain(link);
      pump_rx(link);
      any = true;
    }
  }
  return any;
}

bool DirectChannel::pump_rx(PeerLink& link) {
  bool progressed = false;
  bool drained = false;  // the socket returned less than asked: nothing more to read now
  auto read_failed = [&](ssize_t n) {
    // Returns true to retry (EINTR).
    if (n == 0) {
      link_failed(link, peer_name(link.rank) + " closed the connection");
      return false;
    }
    if (errno == EINTR) return true;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      link_failed(link,
                  "connection to " + peer_name(link.rank) + " failed: " + std::strerror(errno));
    return false;
  };
  while (!link.dead) {
    if (link.rx == Rx::kStalled) return progressed;
    if (link.rx == Rx::kPayload) {
      size_t left = link.rx_len - link.rx_done;
      if (left > 0 && link.rpos < link.wpos) {
        const size_t n = std::min(left, link.wpos - link.rpos);
        if (link.rx_dest != nullptr)
          std::memcpy(link.rx_dest + link.rx_done, link.stage.get() + link.rpos, n);
        link.rpos += n;
        link.rx_done += n;
        left -= n;
      }
      if (left > 0) {
        if (drained) return progressed;
        std::byte* dst;
        size_t ask;
        if (link.rx_dest != nullptr) {
          dst = link.rx_dest + link.rx_done;  // straight into place
          ask = left;
        } else {
          link.rpos = link.wpos = 0;  // discarding: the stage is empty here
          dst = link.stage.get();
          ask = std::min(left, kStageBytes);
        }
        const ssize_t n = ::recv(link.fd.get(), dst, ask, MSG_DONTWAIT);
        if (n <= 0) {
          if (read_failed(n)) continue;
          return progressed;
        }
        progressed = true;
        link.rx_done += static_cast<size_t>(n);
        if (static_cast<size_t>(n) < ask) drained = true;
        if (link.rx_done < link.rx_len) continue;
      }
      finish_rx(link);
      progressed = true;
      continue;
    }
    // Rx::kHeader
    if (link.wpos - link.rpos >= kHeaderBytes) {
      Tag tag;
      uint64_t len;
      direct::decode_header(link.stage.get() + link.rpos, tag, len);
      link.rpos += kHeaderBytes;
      on_header(link, tag, len);
      progressed = true;
      continue;
    }
    if (drained) return progressed;
    if (link.rpos == link.wpos) {
      link.rpos = link.wpos = 0;
    } else if (link.rpos > 0) {
      std::memmove(link.stage.get(), link.stage.get() + link.rpos, link.wpos - link.rpos);
      link.wpos -= link.rpos;
      link.rpos = 0;
    }
    const size_t ask = kStageBytes - link.wpos;
    const ssize_t n = ::recv(link.fd.get(), link.stage.get() + link.wpos, ask, MSG_DONTWAIT);
    if (n <= 0) {
      if (read_failed(n)) continue;
      return progressed;
    }
    link.wpos += static_cast<size_t>(n);
    progressed = true;
    if (static_cast<size_t>(n) < ask) drained = true;
  }
  return progressed;
}

// ---------------------------------------------------------------------------------------------
// Sending

bool DirectChannel::pump_tx(PeerLink& link) {
  bool progressed = false;
  while (!link.sendq.empty() && !link.dead) {
    iovec iov[kMaxIov];
    int n = 0;
    size_t total = 0;
    for (auto& item : link.sendq) {
      if (n + 2 > kMaxIov) break;
      if (item.sent < kHeaderBytes) {
        iov[n++] = {item.head + item.sent, kHeaderBytes - item.sent};
        total += kHeaderBytes - item.sent;
      }
      const size_t done = item.sent > kHeaderBytes ? item.sent - kHeaderBytes : 0;
      if (item.len > done) {
        iov[n++] = {const_cast<std::byte*>(item.data) + done, item.len - done};
        total += item.len - done;
      }
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    const ssize_t w = ::sendmsg(link.fd.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        link_failed(link, "cannot send to " + peer_name(link.rank) + ": " + std::strerror(errno));
      return progressed;
    }
    progressed = true;
    size_t left = static_cast<size_t>(w);
    while (!link.sendq.empty()) {
      SendItem& item = link.sendq.front();
      const size_t rem = kHeaderBytes + item.len - item.sent;
      const size_t take = std::min(rem, left);
      item.sent += take;
      left -= take;
      if (item.sent < kHeaderBytes + item.len) break;
      table_.complete(item.slot, item.len);
      link.sendq.pop_front();
    }
    if (static_cast<size_t>(w) < total) return progressed;  // the socket is full
  }
  return progressed;
}

// ---------------------------------------------------------------------------------------------
// Progress and waiting

bool DirectChannel::poll_once(uint64_t wake_ns) {
  pollfds_.clear();
  poll_peer_.clear();
  for (auto& link : links_) {
    if (link.rank == rank_ || link.dead || !link.fd) continue;
    // A stalled link is not read (its payload waits for its receive), but a closing peer must
    // still be noticed.
    short events = link.rx == Rx::kStalled ? POLLRDHUP : POLLIN;
    if (!link.sendq.empty()) events |= POLLOUT;
    pollfds_.push_back({link.fd.get(), events, 0});
    poll_peer_.push_back(link.rank);
  }
  const uint64_t now = now_ns();
  timespec ts{};
  timespec* tsp = nullptr;
  if (wake_ns != Deadline::never().ns()) {
    const uint64_t left = wake_ns > now ? wake_ns - now : 0;
    ts.tv_sec = static_cast<time_t>(left / 1'000'000'000ull);
    ts.tv_nsec = static_cast<long>(left % 1'000'000'000ull);
    tsp = &ts;
  }
  if (pollfds_.empty()) {
    // Nothing can make progress (all links closed): sleep until the wake time (bounded).
    timespec nap{0, 1'000'000};
    if (tsp != nullptr && ts.tv_sec == 0 && ts.tv_nsec < nap.tv_nsec) nap = ts;
    nanosleep(&nap, nullptr);
    return false;
  }
  const int n = ::ppoll(pollfds_.data(), pollfds_.size(), tsp, nullptr);
  if (n <= 0) {
    if (n < 0 && errno != EINTR) throw_system_error("ppoll");
    return false;
  }
  bool moved = false;
  for (size_t i = 0; i < pollfds_.size(); ++i) {
    const short re = pollfds_[i].revents;
    if (re == 0) continue;
    PeerLink& link = links_[poll_peer_[i]];
    if (re & (POLLIN | POLLERR | POLLHUP | POLLRDHUP)) {
      if (link.rx == Rx::kStalled) drain(link);  // the peer is closing: take what it sent
      moved |= pump_rx(link);
    }
    if ((re & (POLLOUT | POLLERR | POLLHUP)) && !link.sendq.empty()) moved |= pump_tx(link);
  }
  return moved;
}

bool DirectChannel::test(RequestId id, size_t* bytes) {
  uint32_t s = table_.find(id);
  if (s == RequestTable::kNone)
    throw ConfigError("test: unknown request (already completed, cancelled or never posted)");
  if (table_[s].state == RequestState::kPending) poll_once(now_ns());
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

std::string DirectChannel::describe_pending(std::span<const RequestId> ids) const {
  for (RequestId id : ids) {
    const uint32_t s = table_.find(id);
    if (s == RequestTable::kNone || table_[s].state != RequestState::kPending) continue;
    const RequestSlot& slot = table_[s];
    return std::string(slot.is_send ? "sending to " : "receiving from ") + peer_name(slot.peer) +
           " (" + describe_tag(slot.tag) + ")";
  }
  return "requests";
}

void DirectChannel::wait_all(std::span<const RequestId> ids, Deadline deadline, size_t* bytes) {
  const uint64_t start = now_ns();
  const uint64_t spin_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.spin).count());
  const uint64_t drain_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.drain_after).count());
  uint64_t idle_since = start;
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
    bool stalled = false;
    for (const auto& link : links_) stalled |= link.rx == Rx::kStalled && !link.dead;
    uint64_t wake = deadline.ns();
    if (stalled) wake = std::min(wake, idle_since + drain_ns);
    const bool spinning = now - start < spin_ns;
    if (spinning) wake = now;
    if (poll_once(wake)) {
      idle_since = now_ns();
    } else if (stalled && now_ns() >= idle_since + drain_ns) {
      drain_stalled();
      idle_since = now_ns();
    } else if (spinning) {
      sched_yield();
    }
  }
}

void DirectChannel::cancel(RequestId id) noexcept {
  const uint32_t s = table_.find(id);
  if (s == RequestTable::kNone) return;
  RequestSlot& slot = table_[s];
  if (slot.state == RequestState::kPending) {
    PeerLink& link = links_[slot.peer];
    if (slot.is_send) {
      for (auto it = link.sendq.begin(); it != link.sendq.end(); ++it) {
        if (it->slot != s) continue;
        if (it->sent == 0) {
          link.sendq.erase(it);
        } else {
          // The peer got part of it; the rest would come from memory the caller may now free.
          link_failed(link, "a message partly sent to " + peer_name(link.rank) + " was cancelled");
        }
        break;
      }
    } else {
      auto p = std::find(link.posted.begin(), link.posted.end(), s);
      if (p != link.posted.end()) link.posted.erase(p);
      if (link.rx == Rx::kPayload && link.rx_slot == s) {
        link.rx_slot = RequestTable::kNone;  // discard the rest of the message
        link.rx_dest = nullptr;
      }
      for (auto& u : link.unexpected)
        if (u.attached == s) u.attached = RequestTable::kNone;
    }
  }
  table_.release(s);
}

void DirectChannel::link_failed(PeerLink& link, const std::string& why) noexcept {
  if (link.dead) return;
  link.dead = true;
  link.why = why;
  if (link.fd) {
    ::shutdown(link.fd.get(), SHUT_RDWR);
    link.fd.reset();
  }
  for (uint32_t s : link.posted) table_.fail(s, ErrorKind::kIo, why);
  link.posted.clear();
  for (auto& item : link.sendq) table_.fail(item.slot, ErrorKind::kIo, why);
  link.sendq.clear();
  if (link.rx == Rx::kPayload && link.rx_slot != RequestTable::kNone)
    table_.fail(link.rx_slot, ErrorKind::kIo, why);
  // Messages fully received stay deliverable; partial ones are lost.
  for (auto it = link.unexpected.begin(); it != link.unexpected.end();) {
    if (it->complete) {
      ++it;
      continue;
    }
    if (it->attached != RequestTable::kNone) table_.fail(it->attached, ErrorKind::kIo, why);
    it = link.unexpected.erase(it);
  }
  link.rx = Rx::kHeader;
  link.rx_slot = RequestTable::kNone;
  link.rx_to_unexpected = false;
  link.rx_dest = nullptr;
  link.rpos = link.wpos = 0;
}

void DirectChannel::abort(std::string_view reason) noexcept {
  if (aborted_) return;
  aborted_ = true;
  abort_reason_ = "communicator aborted: ";
  abort_reason_ += reason;
  for (auto& link : links_) {
    if (link.rank == rank_) {
      for (uint32_t s : link.posted) table_.fail(s, ErrorKind::kIo, abort_reason_);
      link.posted.clear();
      continue;
    }
    link_failed(link, abort_reason_);
  }
}

}  // namespace hpcless::comm
