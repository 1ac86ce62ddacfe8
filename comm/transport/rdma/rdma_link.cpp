#include "comm/transport/rdma/rdma_link.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/protocol/byte_order.hpp"
#include "comm/transport/tcp/endpoint.hpp"

namespace hpcless::rdma {

using protocol::DecodeResult;
using transport::RecvStatus;
using transport::SendStatus;

namespace {

constexpr uint32_t kImmCreditMask = 0xFFFFu;
constexpr uint32_t kImmData = 1u << 16;
constexpr uint32_t kImmLast = 1u << 17;
constexpr uint64_t kWrNoStage = ~uint64_t{0};
constexpr uint32_t kMaxInline = 512;
constexpr uint32_t kMinSlotBytes = 4096;
constexpr uint32_t kCmCheckEvery = 4096;  // hot empty polls between disconnect checks

// Numeric IPv4/IPv6 "HOST:PORT" to a sockaddr.
sockaddr_storage to_sockaddr(const std::string& host, uint16_t port) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
  } else {
    throw ConfigError("RDMA address '" + host + "' is not a numeric IPv4 or IPv6 address");
  }
  return ss;
}

const char* event_name(rdma_cm_event_type t) { return rdma_event_str(t); }

}  // namespace

// ---- peer info ---------------------------------------------------------------------------

void encode_peer_info(const PeerInfo& p, std::byte* out) {
  protocol::store_le<uint16_t>(out, p.version);
  protocol::store_le<uint16_t>(out + 2, p.slots);
  protocol::store_le<uint32_t>(out + 4, p.slot_bytes);
  protocol::store_le<uint64_t>(out + 8, p.addr);
  protocol::store_le<uint32_t>(out + 16, p.rkey);
  protocol::store_le<uint64_t>(out + 20, p.ticket[0]);
  protocol::store_le<uint64_t>(out + 28, p.ticket[1]);
}

PeerInfo decode_peer_info(const void* data, size_t len) {
  if (data == nullptr || len < kPeerInfoBytes)
    throw ProtocolError("RDMA connection data of " + std::to_string(len) + " bytes, expected " +
                        std::to_string(kPeerInfoBytes) + " (not an hpcless peer?)");
  const auto* in = static_cast<const std::byte*>(data);
  PeerInfo p;
  p.version = protocol::load_le<uint16_t>(in);
  p.slots = protocol::load_le<uint16_t>(in + 2);
  p.slot_bytes = protocol::load_le<uint32_t>(in + 4);
  p.addr = protocol::load_le<uint64_t>(in + 8);
  p.rkey = protocol::load_le<uint32_t>(in + 16);
  p.ticket[0] = protocol::load_le<uint64_t>(in + 20);
  p.ticket[1] = protocol::load_le<uint64_t>(in + 28);
  if (p.version != 1)
    throw ProtocolError("RDMA peer speaks connection format " + std::to_string(p.version) +
                        ", this side 1");
  if (p.slots == 0 || p.slot_bytes < kMinSlotBytes)
    throw ProtocolError("RDMA peer offers " + std::to_string(p.slots) + " slots of " +
                        std::to_string(p.slot_bytes) + " bytes");
  return p;
}

// ---- set-up ------------------------------------------------------------------------------

RdmaLink::RdmaLink(EventChannel channel, CmId id) noexcept
    : channel_(std::move(channel)), id_(std::move(id)) {}

void RdmaLink::set_up(const LinkOptions& opts) {
  slots_ = opts.slots;
  slot_bytes_ = opts.slot_bytes;
  max_payload_ = opts.max_payload;
  if (slots_ == 0 || slots_ > 4096 || slot_bytes_ < kMinSlotBytes)
    throw ConfigError("RDMA link needs 1..4096 slots of at least 4096 bytes (got " +
                      std::to_string(slots_) + " of " + std::to_string(slot_bytes_) + ")");
  credit_batch_ = std::max<uint32_t>(1, slots_ / 4);
  ibv_context* ctx = id_->verbs;
  if (ctx == nullptr) throw IoError("RDMA connection has no device context");
  ibv_device_attr attr{};
  if (ibv_query_device(ctx, &attr) != 0) throw_rdma_error("ibv_query_device", errno);
  sq_depth_ = 2 * slots_ + 16;
  rq_depth_ = 2 * slots_ + 16;
  if (static_cast<uint32_t>(attr.max_qp_wr) < std::max(sq_depth_, rq_depth_) ||
      static_cast<uint32_t>(attr.max_cqe) < std::max(sq_depth_, rq_depth_))
    throw IoError("RDMA device " + std::string(ibv_get_device_name(ctx->device)) + " allows " +
                  std::to_string(attr.max_qp_wr) + " work requests per queue and " +
                  std::to_string(attr.max_cqe) + " completions per CQ; hpcless needs " +
                  std::to_string(std::max(sq_depth_, rq_depth_)) + ": use fewer slots");

  pd_ = std::make_unique<ProtectionDomain>(ctx);
  comp_ = std::make_unique<CompletionChannel>(ctx);
  send_cq_ = std::make_unique<CompletionQueue>(ctx, static_cast<int>(sq_depth_), nullptr);
  recv_cq_ = std::make_unique<CompletionQueue>(ctx, static_cast<int>(rq_depth_), comp_->get());
  const size_t region = size_t(slots_) * slot_bytes_;
  recv_buf_ = std::make_unique<RegisteredBuffer>(
      pd_->get(), region, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
  send_buf_ = std::make_unique<RegisteredBuffer>(pd_->get(), region, IBV_ACCESS_LOCAL_WRITE);

  ibv_qp_init_attr qa{};
  qa.send_cq = send_cq_->get();
  qa.recv_cq = recv_cq_->get();
  qa.qp_type = IBV_QPT_RC;
  qa.sq_sig_all = 0;
  qa.cap.max_send_wr = sq_depth_;
  qa.cap.max_recv_wr = rq_depth_;
  qa.cap.max_send_sge = 1;
  qa.cap.max_recv_sge = 1;
  qa.cap.max_inline_data = std::min(opts.inline_bytes, kMaxInline);
  try {
    qp_ = std::make_unique<QueuePair>(id_.get(), pd_->get(), qa);
  } catch (const IoError&) {
    // Some devices offer no inline data: retry without.
    qa.cap.max_inline_data = 0;
    qp_ = std::make_unique<QueuePair>(id_.get(), pd_->get(), qa);
  }
  inline_max_ = std::min(qa.cap.max_inline_data, kMaxInline);
  stage_busy_.assign(slots_, 0);
  pend_.resize(slots_);

  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw_system_error("epoll_create1");
  for (int fd : {comp_->fd(), channel_.fd()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) throw_system_error("epoll_ctl");
  }
  post_recvs(rq_depth_);
  if (recv_to_post_ != 0) throw IoError("cannot post RDMA receives: " + failure_);
}

RdmaLink::~RdmaLink() {
  shutdown();
  // The QP must be gone before the CQs it completes into; member order takes care of the rest.
  qp_.reset();
}

PeerInfo RdmaLink::local_info() const {
  PeerInfo p;
  p.slots = static_cast<uint16_t>(std::min<uint32_t>(slots_, 0xFFFF));
  p.slot_bytes = slot_bytes_;
  p.addr = reinterpret_cast<uint64_t>(recv_buf_->data());
  p.rkey = recv_buf_->rkey();
  return p;
}

void RdmaLink::set_peer(const PeerInfo& peer) {
  peer_addr_ = peer.addr;
  peer_rkey_ = peer.rkey;
  peer_slots_ = peer.slots;
  credits_ = peer.slots;
  peer_slot_stride_ = peer.slot_bytes;
  frag_bytes_ = std::min(peer.slot_bytes, slot_bytes_);
}

std::unique_ptr<RdmaLink> RdmaLink::connect(const std::string& address, const Ticket& ticket,
                                            const LinkOptions& opts, Deadline deadline,
                                            SetupTimes* times) {
  const auto ep = tcp::parse_endpoint(address);
  sockaddr_storage dst = to_sockaddr(ep.host, ep.port);
  const uint64_t t0 = now_ns();
  EventChannel channel;
  CmId id(channel, nullptr);
  auto ms_left = [&] { return std::max(1, std::min(deadline.remaining_ms(), 60000)); };
  if (rdma_resolve_addr(id.get(), nullptr, reinterpret_cast<sockaddr*>(&dst), ms_left()) != 0)
    throw IoError(no_device_message(address, errno));
  {
    CmEvent e = wait_event(channel, deadline, "resolving RDMA address " + address);
    if (e->event != RDMA_CM_EVENT_ADDR_RESOLVED)
      throw IoError("cannot resolve RDMA address " + address + ": " + event_name(e->event) +
                    " (is the peer's address on an RDMA device reachable from this host's?)");
  }
  if (rdma_resolve_route(id.get(), ms_left()) != 0)
    throw_rdma_error("rdma_resolve_route to " + address, errno);
  {
    CmEvent e = wait_event(channel, deadline, "resolving the RDMA route to " + address);
    if (e->event != RDMA_CM_EVENT_ROUTE_RESOLVED)
      throw IoError("no RDMA route to " + address + ": " + event_name(e->event));
  }
  const uint64_t t1 = now_ns();
  uint8_t timeout = opts.ack_timeout;
  rdma_set_option(id.get(), RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT, &timeout, sizeof(timeout));
  std::unique_ptr<RdmaLink> link(new RdmaLink(std::move(channel), std::move(id)));
  link->set_up(opts);
  const uint64_t t2 = now_ns();

  PeerInfo mine = link->local_info();
  mine.ticket = ticket;
  std::byte blob[kPeerInfoBytes];
  encode_peer_info(mine, blob);
  rdma_conn_param param{};
  param.private_data = blob;
  param.private_data_len = sizeof(blob);
  param.responder_resources = 1;
  param.initiator_depth = 1;
  param.retry_count = std::min<uint8_t>(opts.retry_count, 7);
  param.rnr_retry_count = 7;  // receives are reposted as they are polled: wait, never fail
  if (rdma_connect(link->id_.get(), &param) != 0)
    throw_rdma_error("rdma_connect to " + address, errno);
  CmEvent e = wait_event(link->channel_, deadline, "connecting over RDMA to " + address);
  if (e->event == RDMA_CM_EVENT_REJECTED)
    throw IoError("RDMA connection to " + address +
                  " rejected: the worker does not know this connection ticket (expired, used, "
                  "or its hello was refused), or it is not an hpcless worker");
  if (e->event != RDMA_CM_EVENT_ESTABLISHED)
    throw IoError("RDMA connection to " + address + " failed: " + event_name(e->event));
  const PeerInfo peer =
      decode_peer_info(e->param.conn.private_data, e->param.conn.private_data_len);
  e.reset();
  link->set_peer(peer);
  link->established_ = true;
  if (times != nullptr) {
    times->resolve_ns = t1 - t0;
    times->register_ns = t2 - t1;
    times->connect_ns = now_ns() - t2;
  }
  return link;
}

std::string RdmaLink::device_name() const {
  return id_ && id_->verbs ? ibv_get_device_name(id_->verbs->device) : "";
}

// ---- failure and CM events ---------------------------------------------------------------

void RdmaLink::fail(std::string why) noexcept {
  if (closed_) return;
  closed_ = true;
  failure_ = std::move(why);
}

void RdmaLink::check_cm() {
  while (true) {
    CmEvent e;
    try {
      e = next_event(channel_);
    } catch (const Error& err) {
      fail(err.what());
      return;
    }
    if (!e) return;
    switch (e->event) {
      case RDMA_CM_EVENT_ESTABLISHED:
        established_ = true;  // the accepting side learns here that its answer arrived
        break;
      case RDMA_CM_EVENT_DISCONNECTED:
      case RDMA_CM_EVENT_DEVICE_REMOVAL:
      case RDMA_CM_EVENT_TIMEWAIT_EXIT:
      case RDMA_CM_EVENT_ADDR_CHANGE:
      default:
        disconnected_ = true;
        fail(std::string("RDMA peer disconnected (") + event_name(e->event) + ")");
        break;
    }
  }
}

void RdmaLink::shutdown() noexcept {
  if (!disconnected_ && id_ && qp_) {
    // An accepting side that disconnects before the peer's "ready to use" arrived would send no
    // disconnect request (the CM is not established yet) and a peer that only receives would
    // never learn: wait for it, briefly.
    const auto until = Deadline::after(std::chrono::seconds(1));
    while (!established_ && !closed_ && !until.expired()) {
      check_cm();
      if (!established_) ::poll(nullptr, 0, 1);
    }
    disconnected_ = true;
    rdma_disconnect(id_.get());
  }
  closed_ = true;
  if (failure_.empty()) failure_ = "RDMA link shut down";
}

// ---- receive path ------------------------------------------------------------------------

void RdmaLink::post_recvs(uint32_t n) {
  recv_to_post_ += n;
  if (closed_) return;
  // Zero-SGE receives: RDMA WRITE WITH IMMEDIATE places the data itself; a receive is only the
  // slot for the immediate's completion.
  ibv_recv_wr wrs[32];
  while (recv_to_post_ > 0) {
    const uint32_t k = std::min<uint32_t>(recv_to_post_, 32);
    for (uint32_t i = 0; i < k; ++i) {
      wrs[i] = ibv_recv_wr{};
      wrs[i].next = i + 1 < k ? &wrs[i + 1] : nullptr;
    }
    ibv_recv_wr* bad = nullptr;
    const int rc = ibv_post_recv(qp_->get(), wrs, &bad);
    if (rc != 0) {
      fail(std::string("ibv_post_recv: ") + std::strerror(rc));
      return;
    }
    recv_to_post_ -= k;
  }
}

bool RdmaLink::poll_recv() {
  if (closed_) return false;
  ibv_wc wc[16];
  const int n = ibv_poll_cq(recv_cq_->get(), 16, wc);
  if (n < 0) {
    fail("polling the RDMA receive queue failed");
    return false;
  }
  if (n == 0) return true;
  const uint64_t now = now_ns();
  for (int i = 0; i < n; ++i) {
    if (wc[i].status != IBV_WC_SUCCESS) {
      errno_ = EIO;
      fail(wc[i].status == IBV_WC_WR_FLUSH_ERR
               ? std::string("RDMA peer disconnected (receives flushed)")
               : std::string("RDMA receive failed: ") + ibv_wc_status_str(wc[i].status));
      return false;
    }
    const uint32_t imm = ntohl(wc[i].imm_data);
    credits_ += imm & kImmCreditMask;
    if (imm & kImmData) {
      if (pend_count_ == pend_.size()) {
        fail("RDMA peer wrote more fragments than it had credits for");
        return false;
      }
      pend_[(pend_head_ + pend_count_) % pend_.size()] =
          Pending{wc[i].byte_len, (imm & kImmLast) != 0, now};
      ++pend_count_;
    }
  }
  post_recvs(static_cast<uint32_t>(n));
  return !closed_;
}

void RdmaLink::disarm_if_woken() {
  if (!armed_) return;
  ibv_cq* cq = nullptr;
  void* ctx = nullptr;
  if (ibv_get_cq_event(comp_->get(), &cq, &ctx) == 0) {
    recv_cq_->note_event();
    recv_cq_->ack_events();
    armed_ = false;
  }
}

void RdmaLink::release_slot() noexcept {
  pend_head_ = (pend_head_ + 1) % static_cast<uint32_t>(pend_.size());
  --pend_count_;
  rslot_ = (rslot_ + 1) % slots_;
  ++owed_;
}

RecvStatus RdmaLink::try_recv() {
  if (armed_) disarm_if_woken();
  while (true) {
    if (pend_count_ == 0) {
      if (!poll_recv()) return disconnected_ ? RecvStatus::kClosed : RecvStatus::kError;
      if (pend_count_ == 0) {
        if (!busy_ || ++empty_polls_ % kCmCheckEvery == 0) {
          check_cm();
          if (closed_) return RecvStatus::kClosed;
        }
        return RecvStatus::kAgain;
      }
    }
    const Pending p = pend_[pend_head_];
    const std::byte* data = recv_slot(rslot_);
    if (p.len > slot_bytes_) {
      decode_ = DecodeResult::kBadReserved;
      return RecvStatus::kBadFrame;
    }
    switch (state_) {
      case State::kFrame:
        return RecvStatus::kFrame;  // the caller has not consumed the last frame yet
      case State::kSkipping:
        release_slot();
        if (p.last) state_ = State::kIdle;
        maybe_send_credits();
        continue;
      case State::kAssembling: {
        const size_t want = header_.payload_len - asm_have_;
        if (p.len > want) {
          decode_ = DecodeResult::kBadReserved;
          return RecvStatus::kBadFrame;
        }
        std::memcpy(asm_.data() + asm_have_, data, p.len);
        asm_have_ += p.len;
        release_slot();
        maybe_send_credits();
        if (!p.last) continue;
        if (asm_have_ != header_.payload_len) {
          decode_ = DecodeResult::kBadReserved;
          return RecvStatus::kBadFrame;
        }
        state_ = State::kFrame;
        frame_in_slot_ = false;
        payload_ = {asm_.data(), asm_have_};
        return RecvStatus::kFrame;
      }
      case State::kIdle:
        break;
    }
    size_t hsize = 0;
    decode_ = protocol::decode_header({data, p.len}, max_payload_, header_, hsize);
    arrival_ns_ = p.arrival_ns;
    if (decode_ == DecodeResult::kTooLarge) {
      state_ = State::kSkipping;
      if (p.last) {
        // discard() releases this slot.
      }
      return RecvStatus::kTooLarge;
    }
    if (decode_ != DecodeResult::kOk) return RecvStatus::kBadFrame;
    const size_t in_first = p.len - hsize;
    if (p.last) {
      if (in_first != header_.payload_len) {
        decode_ = DecodeResult::kBadReserved;
        return RecvStatus::kBadFrame;
      }
      state_ = State::kFrame;
      frame_in_slot_ = true;
      payload_ = {data + hsize, in_first};
      return RecvStatus::kFrame;
    }
    if (in_first > header_.payload_len) {
      decode_ = DecodeResult::kBadReserved;
      return RecvStatus::kBadFrame;
    }
    if (asm_.size() < header_.payload_len) {
      try {
        asm_.resize(header_.payload_len);
      } catch (const std::bad_alloc&) {
        errno_ = ENOMEM;
        fail("out of memory reassembling a " + std::to_string(header_.payload_len) +
             "-byte RDMA message");
        return RecvStatus::kError;
      }
    }
    std::memcpy(asm_.data(), data + hsize, in_first);
    asm_have_ = in_first;
    state_ = State::kAssembling;
    release_slot();
    maybe_send_credits();
  }
}

void RdmaLink::consume() noexcept {
  if (state_ != State::kFrame) return;
  state_ = State::kIdle;
  payload_ = {};
  if (frame_in_slot_) {
    frame_in_slot_ = false;
    release_slot();
  }
  maybe_send_credits();
}

void RdmaLink::discard() noexcept {
  if (state_ != State::kSkipping) return;
  // The first fragment of the oversized frame is still pending; release it now and skip the
  // rest as it arrives (try_recv).
  if (pend_count_ > 0) {
    const bool last = pend_[pend_head_].last;
    release_slot();
    if (last) state_ = State::kIdle;
  }
  maybe_send_credits();
}

bool RdmaLink::prepare_wait() {
  if (pend_count_ > 0 || state_ == State::kFrame || closed_) return false;
  if (!armed_) {
    if (ibv_req_notify_cq(recv_cq_->get(), 0) != 0) {
      fail("ibv_req_notify_cq failed");
      return false;
    }
    armed_ = true;
  }
  // A completion that landed before arming raises no event: look once more.
  if (!poll_recv() || pend_count_ > 0) return false;
  check_cm();
  return !closed_;
}

bool RdmaLink::wait_readable(Deadline deadline) {
  if (!prepare_wait()) return true;
  epoll_event ev[2];
  int n;
  do {
    n = epoll_wait(epoll_.get(), ev, 2, deadline.remaining_ms());
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

// ---- send path ---------------------------------------------------------------------------

uint32_t RdmaLink::take_owed() noexcept {
  const uint32_t c = std::min<uint32_t>(owed_, kImmCreditMask);
  owed_ -= c;
  return c;
}

bool RdmaLink::poll_send() {
  if (sq_outstanding_ == 0) return !closed_;
  ibv_wc wc[16];
  const int n = ibv_poll_cq(send_cq_->get(), 16, wc);
  if (n < 0) {
    fail("polling the RDMA send queue failed");
    return false;
  }
  for (int i = 0; i < n; ++i) {
    --sq_outstanding_;
    if (wc[i].wr_id != kWrNoStage && wc[i].wr_id < stage_busy_.size()) stage_busy_[wc[i].wr_id] = 0;
    if (wc[i].status != IBV_WC_SUCCESS) {
      errno_ = EIO;
      fail(wc[i].status == IBV_WC_RETRY_EXC_ERR
               ? std::string("RDMA peer unreachable (transport retries exceeded): it died or "
                             "its network went away")
               : std::string("RDMA write failed: ") + ibv_wc_status_str(wc[i].status));
      return false;
    }
  }
  return !closed_;
}

bool RdmaLink::post_write(uint32_t stage, const void* src, uint32_t len, uint32_t imm,
                          bool inl) noexcept {
  ibv_sge sge{};
  sge.addr = reinterpret_cast<uint64_t>(src);
  sge.length = len;
  sge.lkey = inl ? 0 : send_buf_->lkey();
  ibv_send_wr wr{};
  wr.wr_id = stage;
  wr.opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
  wr.send_flags = IBV_SEND_SIGNALED | (inl ? IBV_SEND_INLINE : 0);
  wr.imm_data = htonl(imm);
  wr.sg_list = len > 0 ? &sge : nullptr;
  wr.num_sge = len > 0 ? 1 : 0;
  // A credit-only write carries no data: any address of the peer's region will do.
  wr.wr.rdma.remote_addr =
      (imm & kImmData) ? peer_addr_ + uint64_t(wslot_) * peer_slot_stride_ : peer_addr_;
  wr.wr.rdma.rkey = peer_rkey_;
  ibv_send_wr* bad = nullptr;
  const int rc = ibv_post_send(qp_->get(), &wr, &bad);
  if (rc != 0) {
    errno_ = rc;
    fail(std::string("ibv_post_send: ") + std::strerror(rc));
    return false;
  }
  ++sq_outstanding_;
  if (imm & kImmData) {
    wslot_ = (wslot_ + 1) % peer_slots_;
    --credits_;
  }
  return true;
}

bool RdmaLink::maybe_send_credits() noexcept {
  if (owed_ < credit_batch_ || closed_) return !closed_;
  if (sq_outstanding_ >= sq_depth_ && !poll_send()) return false;
  if (sq_outstanding_ >= sq_depth_) return true;  // later: the next message carries them
  return post_write(static_cast<uint32_t>(kWrNoStage), nullptr, 0, take_owed(), false);
}

bool RdmaLink::wait_send_room(bool need_stage, Deadline deadline,
                              transport::BlockedHook& on_blocked, SendStatus& st) {
  uint32_t spins = 0;
  while (true) {
    if (!poll_send() || !poll_recv()) {
      st = SendStatus::kClosed;
      return false;
    }
    const bool sq_ok = sq_outstanding_ + 2 <= sq_depth_;  // room for this and a credit message
    const bool stage_ok = !need_stage || stage_busy_[stage_next_] == 0;
    if (credits_ > 0 && sq_ok && stage_ok) return true;
    if ((++spins & 63u) == 0) {
      if (deadline.expired()) {
        st = SendStatus::kTimeout;
        return false;
      }
      check_cm();
      if (closed_) {
        st = SendStatus::kClosed;
        return false;
      }
    }
    // Let the owner drain what the peer sent (it may be waiting for our credits).
    if (credits_ == 0 && !on_blocked(deadline)) {
      st = SendStatus::kClosed;
      return false;
    }
    if (credits_ == 0 && !busy_) {
      if (prepare_wait()) {
        epoll_event ev[2];
        (void)epoll_wait(epoll_.get(), ev, 2, std::min(deadline.remaining_ms(), 10));
      }
    } else if (!busy_ && (spins & 1023u) == 0) {
      sched_yield();
    }
  }
}

SendStatus RdmaLink::send_frame(const protocol::Header& h, std::span<const std::byte> payload,
                                Deadline deadline, transport::BlockedHook on_blocked) {
  return send_gather(h, {}, payload, deadline, on_blocked);
}

SendStatus RdmaLink::send_gather(const protocol::Header& h, std::span<const std::byte> prefix,
                                 std::span<const std::byte> payload, Deadline deadline,
                                 transport::BlockedHook on_blocked) {
  if (closed_) return SendStatus::kClosed;
  std::byte head[protocol::kMaxHeaderSize + kMaxInline];
  const size_t hlen = protocol::encode_header(h, {head, protocol::kMaxHeaderSize});
  const size_t total = hlen + prefix.size() + payload.size();
  SendStatus st = SendStatus::kOk;
  if (!poll_send()) return SendStatus::kClosed;

  // Small frames: inline, straight from the stack (the device copies at post time).
  if (total <= inline_max_) {
    if (!wait_send_room(false, deadline, on_blocked, st)) return st;
    if (!prefix.empty()) std::memcpy(head + hlen, prefix.data(), prefix.size());
    if (!payload.empty()) std::memcpy(head + hlen + prefix.size(), payload.data(), payload.size());
    if (!post_write(static_cast<uint32_t>(kWrNoStage), head, static_cast<uint32_t>(total),
                    kImmData | kImmLast | take_owed(), true))
      return SendStatus::kClosed;
    return SendStatus::kOk;
  }

  // Otherwise fragments through the registered staging slots. The frame is the concatenation
  // header | prefix | payload; copy_out copies bytes [off, off + n) of it.
  const std::span<const std::byte> parts[3] = {{head, hlen}, prefix, payload};
  auto copy_out = [&parts](std::byte* dst, size_t off, size_t n) {
    for (const auto& part : parts) {
      if (n == 0) break;
      if (off >= part.size()) {
        off -= part.size();
        continue;
      }
      const size_t k = std::min(n, part.size() - off);
      std::memcpy(dst, part.data() + off, k);
      dst += k;
      n -= k;
      off = 0;
    }
  };
  size_t sent = 0;  // bytes of the frame already posted
  while (sent < total) {
    if (!wait_send_room(true, deadline, on_blocked, st)) return st;
    const uint32_t stage = stage_next_;
    stage_next_ = (stage_next_ + 1) % slots_;
    std::byte* dst = stage_slot(stage);
    const size_t frag = std::min<size_t>(frag_bytes_, total - sent);
    copy_out(dst, sent, frag);
    sent += frag;
    const uint32_t imm = kImmData | (sent == total ? kImmLast : 0) | take_owed();
    stage_busy_[stage] = 1;
    if (!post_write(stage, dst, static_cast<uint32_t>(frag), imm, false)) return SendStatus::kClosed;
  }
  return SendStatus::kOk;
}

bool RdmaLink::send_room(size_t frame_bytes) {
  if (closed_ || !poll_send() || !poll_recv()) return false;
  if (frame_bytes > frag_bytes_) return false;  // several fragments: send_frame() would wait
  const bool need_stage = frame_bytes > inline_max_;
  return credits_ > 0 && sq_outstanding_ + 2 <= sq_depth_ &&
         (!need_stage || stage_busy_[stage_next_] == 0);
}

bool RdmaLink::flush_sends(Deadline deadline) {
  uint32_t spins = 0;
  while (true) {
    if (!poll_send()) return false;
    if (sq_outstanding_ == 0) return true;
    // The peer's adapter acknowledges within microseconds; yield now and then for the owner's
    // peers on an oversubscribed node.
    if ((++spins & 63u) == 0) {
      if (deadline.expired()) return false;
      sched_yield();
    }
  }
}

// ---- listener ----------------------------------------------------------------------------

Listener::Listener(const std::string& address, uint16_t port, int backlog)
    : id_(channel_, nullptr), address_(address) {
  sockaddr_storage ss = to_sockaddr(address, port);
  if (rdma_bind_addr(id_.get(), reinterpret_cast<sockaddr*>(&ss)) != 0)
    throw IoError(no_device_message(address, errno));
  if (id_->verbs == nullptr)
    throw IoError(no_device_message(address, ENODEV));
  if (rdma_listen(id_.get(), backlog) != 0) throw_rdma_error("rdma_listen on " + address, errno);
  port_ = ntohs(rdma_get_src_port(id_.get()));
}

std::string Listener::endpoint() const {
  const bool v6 = address_.find(':') != std::string::npos;
  return (v6 ? "[" + address_ + "]" : address_) + ":" + std::to_string(port_);
}

std::string Listener::device_name() const {
  return id_->verbs ? ibv_get_device_name(id_->verbs->device) : "";
}

bool Listener::next_request(Request& out) {
  while (CmEvent e = next_event(channel_)) {
    if (e->event != RDMA_CM_EVENT_CONNECT_REQUEST) continue;  // listener-level noise
    CmId id(e->id);
    PeerInfo peer;
    try {
      peer = decode_peer_info(e->param.conn.private_data, e->param.conn.private_data_len);
    } catch (const ProtocolError&) {
      // Not an hpcless peer: refuse it. The event must be acknowledged before its id goes.
      rdma_reject(id.get(), nullptr, 0);
      e.reset();
      continue;
    }
    // rdma_migrate_id waits for the id's reported events to be acknowledged: ack first.
    e.reset();
    out.id = std::move(id);
    out.peer = peer;
    return true;
  }
  return false;
}

std::unique_ptr<RdmaLink> Listener::accept(Request& req, const LinkOptions& opts) {
  std::unique_ptr<RdmaLink> link;
  try {
    EventChannel channel;
    if (rdma_migrate_id(req.id.get(), channel.get()) != 0)
      throw_rdma_error("rdma_migrate_id", errno);
    link.reset(new RdmaLink(std::move(channel), std::move(req.id)));
    link->set_up(opts);
    link->set_peer(req.peer);
    PeerInfo mine = link->local_info();
    std::byte blob[kPeerInfoBytes];
    encode_peer_info(mine, blob);
    rdma_conn_param param{};
    param.private_data = blob;
    param.private_data_len = sizeof(blob);
    param.responder_resources = 1;
    param.initiator_depth = 1;
    param.retry_count = std::min<uint8_t>(opts.retry_count, 7);
    param.rnr_retry_count = 7;
    uint8_t timeout = opts.ack_timeout;
    rdma_set_option(link->id_.get(), RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT, &timeout,
                    sizeof(timeout));
    if (rdma_accept(link->id_.get(), &param) != 0) throw_rdma_error("rdma_accept", errno);
    return link;
  } catch (...) {
    // Tell the client now rather than letting it wait for its deadline.
    if (link && link->id_) rdma_reject(link->id_.get(), nullptr, 0);
    reject(req);
    throw;
  }
}

void Listener::reject(Request& req) noexcept {
  if (req.id) rdma_reject(req.id.get(), nullptr, 0);
  req.id.reset();
}

std::string probe_device(const std::string& address) {
  Listener probe(address, 0, 1);
  return probe.device_name();
}

}  // namespace hpcless::rdma
