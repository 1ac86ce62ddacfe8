// RAII owners of librdmacm and libibverbs objects, and the error messages that tell a user what
// to fix (no device, memlock limit, peer gone).
//
// Every owner is move-only and releases its object in its destructor. Destruction order matters
// for verbs (QP before CQ and MR, CQ before its channel, everything before the PD and the CM
// id): classes holding several declare them in creation order, so that C++ destroys them in
// reverse.
#pragma once

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "comm/base/clock.hpp"

namespace hpcless::rdma {

// Throws IoError (with advice) for a failed verbs/rdma_cm call; `err` is the errno it left.
[[noreturn]] void throw_rdma_error(std::string_view what, int err);
// The message for a failed memory registration of `bytes`: names the memlock limit and how to
// raise it when that is the cause.
std::string registration_failure(size_t bytes, int err);
// The message for "this address has no RDMA device".
std::string no_device_message(std::string_view address, int err);

class EventChannel {
 public:
  EventChannel();  // non-blocking, close-on-exec
  ~EventChannel();
  EventChannel(EventChannel&& o) noexcept : ch_(o.ch_) { o.ch_ = nullptr; }
  EventChannel& operator=(EventChannel&&) = delete;
  rdma_event_channel* get() const noexcept { return ch_; }
  int fd() const noexcept { return ch_->fd; }

 private:
  rdma_event_channel* ch_ = nullptr;
};

// One CM event, acknowledged on destruction (the id it names cannot be destroyed before).
class CmEvent {
 public:
  CmEvent() = default;
  explicit CmEvent(rdma_cm_event* e) : e_(e) {}
  ~CmEvent() { reset(); }
  CmEvent(CmEvent&& o) noexcept : e_(o.e_) { o.e_ = nullptr; }
  CmEvent& operator=(CmEvent&& o) noexcept {
    if (this != &o) {
      reset();
      e_ = o.e_;
      o.e_ = nullptr;
    }
    return *this;
  }
  explicit operator bool() const noexcept { return e_ != nullptr; }
  rdma_cm_event* operator->() const noexcept { return e_; }
  rdma_cm_event* get() const noexcept { return e_; }
  void reset() noexcept {
    if (e_ != nullptr) rdma_ack_cm_event(e_);
    e_ = nullptr;
  }

 private:
  rdma_cm_event* e_ = nullptr;
};

// Non-blocking: the next event on `ch`, or an empty CmEvent. Throws on a channel failure.
CmEvent next_event(const EventChannel& ch);
// Waits for the next event until `deadline`; throws TimeoutError naming `what`.
CmEvent wait_event(const EventChannel& ch, Deadline deadline, std::string_view what);

class CmId {
 public:
  CmId() = default;
  explicit CmId(rdma_cm_id* id) : id_(id) {}
  CmId(const EventChannel& ch, void* context);  // RDMA_PS_TCP (reliable connected)
  ~CmId() { reset(); }
  CmId(CmId&& o) noexcept : id_(o.id_) { o.id_ = nullptr; }
  CmId& operator=(CmId&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = nullptr;
    }
    return *this;
  }
  rdma_cm_id* get() const noexcept { return id_; }
  rdma_cm_id* operator->() const noexcept { return id_; }
  explicit operator bool() const noexcept { return id_ != nullptr; }
  rdma_cm_id* release() noexcept {
    rdma_cm_id* id = id_;
    id_ = nullptr;
    return id;
  }
  void reset() noexcept;

 private:
  rdma_cm_id* id_ = nullptr;
};

class ProtectionDomain {
 public:
  explicit ProtectionDomain(ibv_context* ctx);
  ~ProtectionDomain();
  ProtectionDomain(const ProtectionDomain&) = delete;
  ProtectionDomain& operator=(const ProtectionDomain&) = delete;
  ibv_pd* get() const noexcept { return pd_; }

 private:
  ibv_pd* pd_ = nullptr;
};

class CompletionChannel {
 public:
  explicit CompletionChannel(ibv_context* ctx);  // non-blocking fd
  ~CompletionChannel();
  CompletionChannel(const CompletionChannel&) = delete;
  CompletionChannel& operator=(const CompletionChannel&) = delete;
  ibv_comp_channel* get() const noexcept { return ch_; }
  int fd() const noexcept { return ch_->fd; }

 private:
  ibv_comp_channel* ch_ = nullptr;
};

class CompletionQueue {
 public:
  CompletionQueue(ibv_context* ctx, int entries, ibv_comp_channel* channel);
  ~CompletionQueue();
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;
  ibv_cq* get() const noexcept { return cq_; }
  // Events taken with ibv_get_cq_event must be acknowledged before the CQ is destroyed.
  void note_event() noexcept { ++unacked_; }
  void ack_events() noexcept;

 private:
  ibv_cq* cq_ = nullptr;
  unsigned unacked_ = 0;
};

// Page-aligned memory registered with `pd` for the given access. Registration happens once, at
// connection set-up; the data path only uses the lkey/rkey.
class RegisteredBuffer {
 public:
  RegisteredBuffer(ibv_pd* pd, size_t bytes, int access);
  ~RegisteredBuffer();
  RegisteredBuffer(const RegisteredBuffer&) = delete;
  RegisteredBuffer& operator=(const RegisteredBuffer&) = delete;
  std::byte* data() const noexcept { return data_; }
  size_t size() const noexcept { return bytes_; }
  uint32_t lkey() const noexcept { return mr_->lkey; }
  uint32_t rkey() const noexcept { return mr_->rkey; }

 private:
  std::byte* data_ = nullptr;
  size_t bytes_ = 0;
  ibv_mr* mr_ = nullptr;
};

// The QP of a CM id (rdma_create_qp / rdma_destroy_qp).
class QueuePair {
 public:
  QueuePair(rdma_cm_id* id, ibv_pd* pd, ibv_qp_init_attr& attr);
  ~QueuePair();
  QueuePair(const QueuePair&) = delete;
  QueuePair& operator=(const QueuePair&) = delete;
  ibv_qp* get() const noexcept { return id_->qp; }

 private:
  rdma_cm_id* id_;
};

}  // namespace hpcless::rdma
