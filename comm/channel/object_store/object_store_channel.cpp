// Construction, point-to-point, abort and cleanup of the object-store channels (the collectives
// are in object_store_collectives.cpp).
#include "comm/channel/object_store/object_store_channel.hpp"

#include <algorithm>

#include "comm/base/log.hpp"

namespace hpcless::comm {

namespace {

std::string p2p_key(int src, int dst, Tag tag, uint64_t seq) {
  return "p/" + std::to_string(src) + "/" + std::to_string(dst) + "/" + std::to_string(tag) + "/" +
         std::to_string(seq);
}

std::string describe_tag(Tag tag) {
  if (tag & kCollectiveTagBit) return "collective tag";
  return "tag " + std::to_string(tag);
}

// Read p2p objects are deleted in batches of this many (S3's DeleteObjects takes 1000).
constexpr size_t kP2pGarbageBatch = 500;

}  // namespace

ObjectStoreChannel::ObjectStoreChannel(int rank, int size, std::string group, std::string run,
                                       std::unique_ptr<objstore::BlobStore> store,
                                       ObjectStoreTuning tuning)
    : rank_(rank),
      size_(size),
      group_(std::move(group)),
      run_(std::move(run)),
      store_(std::move(store)),
      tuning_(tuning) {
  if (size < 1) throw ConfigError("channel size must be at least 1, got " + std::to_string(size));
  if (rank < 0 || rank >= size)
    throw ConfigError("rank " + std::to_string(rank) + " is outside the group size " +
                      std::to_string(size));
  HPCLESS_CHECK(store_ != nullptr, "an object-store channel needs a blob store");
}

ObjectStoreChannel::~ObjectStoreChannel() {
  // Count this rank out; the last one deletes what is left of the run (consumed Redis keys are
  // gone already; S3 objects, abort markers and unreceived messages are not). A rank that
  // crashed never counts out: Redis TTLs (or an S3 lifecycle rule) remove its run.
  try {
    if (store_->arrive("fin", size_)) store_->erase_all();
  } catch (const std::exception& e) {
    log::warn(std::string("object-store channel cleanup failed (keys expire by TTL): ") + e.what());
  }
}

std::string ObjectStoreChannel::ctx() const {
  return "rank " + std::to_string(rank_) + " of group '" + group_ + "' (" +
         std::string(store_->kind()) + ")";
}

void ObjectStoreChannel::check_peer(int peer, std::string_view op) const {
  if (peer < 0 || peer >= size_)
    throw ConfigError(std::string(op) + ": rank " + std::to_string(peer) +
                      " is not in this group (size " + std::to_string(size_) + ")");
}

// ---------------------------------------------------------------------------------------------
// point-to-point

RequestId ObjectStoreChannel::isend(int peer, Tag tag, const void* data, size_t bytes) {
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
  uint64_t& seq = send_seq_[{peer, tag}];
  const int readers[1] = {peer};
  objstore::PutItem item{
      p2p_key(rank_, peer, tag, seq), {static_cast<const std::byte*>(data), bytes}, readers};
  try {
    store_->put({&item, 1});
    ++seq;
    table_.complete(s, bytes);
  } catch (const Error& e) {
    // The sequence number is not used, so the next message takes it and matching stays intact.
    table_.fail(s, ErrorKind::kIo,
                ctx() + ": sending to rank " + std::to_string(peer) + " (" + describe_tag(tag) +
                    "): " + e.what());
  }
  return id;
}

RequestId ObjectStoreChannel::irecv(int peer, Tag tag, void* data, size_t capacity) {
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
  recv_[{peer, tag}].posted.push_back(s);
  return id;
}

void ObjectStoreChannel::progress_queue(const Queue& q, size_t upto, bool block,
                                        Deadline deadline) {
  RecvQueue& rq = recv_[q];
  const size_t n = std::min(upto + 1, rq.posted.size());
  if (n == 0) return;
  std::vector<objstore::GetItem> items(n);
  for (size_t i = 0; i < n; ++i) {
    const RequestSlot& slot = table_[rq.posted[i]];
    items[i].key = p2p_key(q.first, rank_, q.second, rq.next_seq + i);
    items[i].buf = slot.buf;
    items[i].capacity = slot.cap;
    items[i].from = q.first;
  }
  // Completes the fetched prefix whether or not the wait below ends in an error.
  auto settle = [&] {
    size_t i = 0;
    for (; i < n && items[i].done; ++i) {
      const uint32_t s = rq.posted.front();
      if (items[i].truncated) {
        table_.fail(s, ErrorKind::kProtocol,
                    "message from rank " + std::to_string(q.first) + " (" + describe_tag(q.second) +
                        ") has " + std::to_string(items[i].bytes) +
                        " bytes, more than the receive buffer holds (" +
                        std::to_string(items[i].capacity) + ")");
      } else {
        table_.complete(s, items[i].bytes);
      }
      rq.posted.pop_front();
      ++rq.next_seq;
      if (!store_->reads_consume()) p2p_garbage_.push_back(std::move(items[i].key));
    }
  };
  try {
    if (block)
      store_->get(items, /*in_order=*/true, deadline);
    else
      store_->try_get(items, /*in_order=*/true);
  } catch (...) {
    settle();
    throw;
  }
  settle();
  if (p2p_garbage_.size() >= kP2pGarbageBatch) collect_garbage(false);
}

void ObjectStoreChannel::fail_all_pending(const std::string& why) {
  for (auto& [q, rq] : recv_) {
    for (uint32_t s : rq.posted) table_.fail(s, ErrorKind::kIo, why);
    rq.posted.clear();
  }
}

bool ObjectStoreChannel::test(RequestId id, size_t* bytes) {
  const uint32_t s = table_.find(id);
  if (s == RequestTable::kNone)
    throw ConfigError("test: unknown request (already completed, cancelled or never posted)");
  if (table_[s].state == RequestState::kPending && !table_[s].is_send) {
    const Queue q{table_[s].peer, table_[s].tag};
    auto& posted = recv_[q].posted;
    const size_t pos =
        static_cast<size_t>(std::find(posted.begin(), posted.end(), s) - posted.begin());
    try {
      progress_queue(q, pos, /*block=*/false, Deadline::never());
    } catch (const objstore::RemoteAbort& e) {
      abort_reason_ = std::string("communicator aborted: ") + e.what();
      aborted_ = true;
      fail_all_pending(abort_reason_);
    }
  }
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

void ObjectStoreChannel::wait_all(std::span<const RequestId> ids, Deadline deadline,
                                  size_t* bytes) {
  const uint64_t start = now_ns();
  auto throw_first_failed = [&] {
    for (RequestId id : ids) {
      const uint32_t s = table_.find(id);
      if (s != RequestTable::kNone && table_[s].state == RequestState::kFailed) {
        const RequestSlot copy = table_[s];
        table_.release(s);
        copy.throw_error();
      }
    }
  };
  // Every receive queue that a waited request is in, up to its last waited position.
  std::map<Queue, size_t> need;
  for (RequestId id : ids) {
    const uint32_t s = table_.find(id);
    if (s == RequestTable::kNone)
      throw ConfigError("wait: unknown request (already completed, cancelled or never posted)");
    const RequestSlot& slot = table_[s];
    if (slot.state != RequestState::kPending || slot.is_send) continue;
    const Queue q{slot.peer, slot.tag};
    const auto& posted = recv_[q].posted;
    const size_t pos =
        static_cast<size_t>(std::find(posted.begin(), posted.end(), s) - posted.begin());
    auto [it, fresh] = need.emplace(q, pos);
    if (!fresh) it->second = std::max(it->second, pos);
  }
  throw_first_failed();
  for (const auto& [q, upto] : need) {
    try {
      // Sends complete when posted, so waiting for the queues one after another cannot
      // deadlock: everything this rank waits for was written already or comes independently.
      progress_queue(q, upto, /*block=*/true, deadline);
    } catch (const objstore::RemoteAbort& e) {
      abort_reason_ = std::string("communicator aborted: ") + e.what();
      aborted_ = true;
      fail_all_pending(abort_reason_);
      break;
    } catch (const TimeoutError& e) {
      throw TimeoutError(ctx() + ": receiving from rank " + std::to_string(q.first) + " (" +
                         describe_tag(q.second) + "), waited " +
                         std::to_string((now_ns() - start) / 1'000'000) + " ms: " + e.what());
    }
  }
  throw_first_failed();
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint32_t s = table_.find(ids[i]);
    HPCLESS_CHECK(s != RequestTable::kNone && table_[s].state == RequestState::kDone,
                  "a waited request is still pending after its queue was served");
    if (bytes != nullptr) bytes[i] = table_[s].bytes;
    table_.release(s);
  }
}

void ObjectStoreChannel::cancel(RequestId id) noexcept {
  const uint32_t s = table_.find(id);
  if (s == RequestTable::kNone) return;
  RequestSlot& slot = table_[s];
  if (slot.state == RequestState::kPending && !slot.is_send) {
    // Receives complete in posting order, so this one and every later one of its queue are
    // unmatched: dropping it hands its message to the next receive.
    auto& posted = recv_[{slot.peer, slot.tag}].posted;
    auto it = std::find(posted.begin(), posted.end(), s);
    if (it != posted.end()) posted.erase(it);
  }
  table_.release(s);
}

void ObjectStoreChannel::abort(std::string_view reason) noexcept {
  if (aborted_) return;
  aborted_ = true;
  abort_reason_ = "communicator aborted: ";
  abort_reason_ += reason;
  fail_all_pending(abort_reason_);
  store_->post_abort(reason);
}

// ---------------------------------------------------------------------------------------------
// cleanup

void ObjectStoreChannel::note_written(std::string key) {
  if (!store_->reads_consume()) garbage_.push_back(std::move(key));
}

void ObjectStoreChannel::collect_garbage(bool at_barrier) {
  std::vector<std::string> dead = std::move(p2p_garbage_);
  p2p_garbage_.clear();
  if (at_barrier) {
    dead.insert(dead.end(), std::make_move_iterator(garbage_.begin()),
                std::make_move_iterator(garbage_.end()));
    garbage_.clear();
  }
  if (dead.empty()) return;
  try {
    store_->erase(dead);
  } catch (const Error& e) {
    // Not fatal: whatever is left goes with the run at the end.
    log::warn(ctx() + ": deleting " + std::to_string(dead.size()) +
              " consumed objects failed: " + e.what());
  }
}

}  // namespace hpcless::comm
