// FrameLink over an RDMA reliable-connected queue pair (rFaaS-style data path).
//
// Each side registers, once at set-up, a receive region of `slots` slots of `slot_bytes` and a
// send staging region of the same shape. A frame (encoded header + payload) travels as one or
// more fragments; each fragment is an RDMA WRITE WITH IMMEDIATE into the peer's next receive
// slot, in round-robin order, so the receiver knows the slot from the arrival order and the
// length from the completion. The 32-bit immediate carries:
//   bits 0-15  credits: receive slots the sender has freed since it last said so
//   bit 16     data: the write filled a slot (clear: a credit-only message, no slot used)
//   bit 17     last fragment of a frame
// A sender writes only while it holds credits (one per free peer slot), so any number of
// requests may be pipelined without overrunning the receiver. Credits ride on every message; a
// receiver that has freed a quarter of its slots without sending anything sends them alone.
// Frames of up to about 400 bytes go inline (no staging copy); a frame in one slot is handed out
// in place (no copy); longer frames are reassembled into a buffer that grows to the largest seen.
//
// Hot: try_recv() polls the receive CQ (no system call). Warm: prepare_wait() arms the CQ and
// the owner sleeps on wait_fd(), an epoll set holding the completion channel and the CM event
// channel (so that a peer's disconnect also wakes it).
//
// Thread safety: none; one thread owns a link.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "comm/base/fd.hpp"
#include "comm/transport/frame_link.hpp"
#include "comm/transport/rdma/verbs.hpp"

namespace hpcless::rdma {

struct LinkOptions {
  uint32_t slots = 16;                  // receive slots: the credits this side grants its peer
  uint32_t slot_bytes = (64u << 10) + 256;  // a 64 KiB payload and its header fit in one slot
  uint32_t max_payload = 64u << 20;     // largest frame payload accepted
  uint32_t inline_bytes = 256;          // requested inline capacity (the device may offer less)
  uint8_t ack_timeout = 14;             // 4.096 us * 2^14 = 67 ms per transport retry
  uint8_t retry_count = 7;              // retries before a send fails (peer gone)
};

// 128 random bits that bind an RDMA connection to a hello the worker already authenticated.
using Ticket = std::array<uint64_t, 2>;

// What each side tells the other in the CM private data (36 bytes, little-endian).
struct PeerInfo {
  uint16_t version = 1;
  uint16_t slots = 0;
  uint32_t slot_bytes = 0;
  uint64_t addr = 0;
  uint32_t rkey = 0;
  Ticket ticket{0, 0};  // client -> worker only
};
inline constexpr size_t kPeerInfoBytes = 36;
void encode_peer_info(const PeerInfo& p, std::byte* out);
// Throws ProtocolError for a short, wrong-version or nonsensical blob.
PeerInfo decode_peer_info(const void* data, size_t len);

// Wall time of a client's connection set-up, for cold-start breakdowns.
struct SetupTimes {
  uint64_t resolve_ns = 0;   // address and route resolution (opens the device)
  uint64_t register_ns = 0;  // protection domain, CQs, QP and memory registration
  uint64_t connect_ns = 0;   // CM request to established
};

class RdmaLink final : public transport::FrameLink {
 public:
  // Client side: connects to a worker's listener at HOST:PORT (numeric IPv4/IPv6), presenting
  // `ticket`. Throws IoError (no device, refused, unreachable, memlock), TimeoutError.
  static std::unique_ptr<RdmaLink> connect(const std::string& address, const Ticket& ticket,
                                           const LinkOptions& opts, Deadline deadline,
                                           SetupTimes* times = nullptr);
  ~RdmaLink() override;
  RdmaLink(const RdmaLink&) = delete;
  RdmaLink& operator=(const RdmaLink&) = delete;

  std::string_view kind() const noexcept override { return "rdma"; }
  int wait_fd() const noexcept override { return epoll_.get(); }
  uint32_t max_payload() const noexcept override { return max_payload_; }
  void set_max_payload(uint32_t v) noexcept override { max_payload_ = v; }
  void set_busy_poll(bool spin) noexcept override { busy_ = spin; }

  transport::RecvStatus try_recv() override;
  const protocol::Header& header() const noexcept override { return header_; }
  std::span<const std::byte> payload() const noexcept override { return payload_; }
  protocol::DecodeResult decode_result() const noexcept override { return decode_; }
  int errno_value() const noexcept override { return errno_; }
  uint64_t frame_arrival_ns() const noexcept override { return arrival_ns_; }
  void consume() noexcept override;
  void discard() noexcept override;
  bool has_buffered() const noexcept override { return pend_count_ > 0; }

  transport::SendStatus send_frame(const protocol::Header& h, std::span<const std::byte> payload,
                                   Deadline deadline, transport::BlockedHook on_blocked) override;
  using FrameLink::send_frame;
  // send_frame() with the payload in two pieces (a small prefix, then the caller's data) that
  // travel back to back as one payload, so that the caller need not join them in a copy first.
  // h.payload_len must be prefix.size() + payload.size().
  transport::SendStatus send_gather(const protocol::Header& h, std::span<const std::byte> prefix,
                                    std::span<const std::byte> payload, Deadline deadline,
                                    transport::BlockedHook on_blocked = {});

  // For owners that queue frames themselves and must never block in send_frame() (the
  // communication channel's progress engine): whether a frame of `frame_bytes` encoded bytes
  // (header included) that fits one fragment would be posted at once: a credit, send-queue room
  // and, unless it goes inline, a free staging slot. Reaps send completions and harvests receive
  // completions (which carry credits) first; no system call. False on a broken link.
  bool send_room(size_t frame_bytes);
  // Bytes of one fragment (header included): min(own, peer) slot size. A frame of at most this
  // size travels as one RDMA write and is handed out in place, without reassembly.
  uint32_t fragment_bytes() const noexcept { return frag_bytes_; }
  // Send credits held (peer slots known to be free), as of the last completion harvest.
  uint32_t credits() const noexcept { return credits_; }
  // Waits until every posted write has completed, i.e. reached the peer's memory, so that a
  // shutdown right after cannot drop them (destroying a QP flushes writes still in flight).
  // False when the link failed or the deadline passed first.
  bool flush_sends(Deadline deadline);
  // True once the link failed or was shut down (failure() says why).
  bool broken() const noexcept { return closed_; }

  bool prepare_wait() override;
  bool wait_readable(Deadline deadline) override;
  void shutdown() noexcept override;

  // Why the link broke (completion error, disconnect), empty while it works.
  const std::string& failure() const noexcept { return failure_; }
  std::string device_name() const;
  uint32_t inline_capacity() const noexcept { return inline_max_; }

 private:
  friend class Listener;
  RdmaLink(EventChannel channel, CmId id) noexcept;
  // Creates the verbs resources on id_ (resolved, or a connect request migrated to channel_)
  // and posts the receives. Separate from the constructor so that a failure can still reject.
  void set_up(const LinkOptions& opts);
  PeerInfo local_info() const;
  void set_peer(const PeerInfo& peer);

  enum class State : uint8_t { kIdle, kFrame, kAssembling, kSkipping };
  struct Pending {
    uint32_t len;
    bool last;
    uint64_t arrival_ns;
  };

  bool poll_recv();                 // harvests receive completions; false on a failed link
  bool poll_send();                 // reaps send completions; false on a failed link
  void check_cm();                  // reads CM events (disconnect) without blocking
  void disarm_if_woken();
  void release_slot() noexcept;     // the current receive slot is free again
  void post_recvs(uint32_t n);
  bool maybe_send_credits() noexcept;
  bool post_write(uint32_t stage, const void* src, uint32_t len, uint32_t imm, bool inl) noexcept;
  uint32_t take_owed() noexcept;
  // Waits for a credit and a free staging slot; false with `st` set on failure or timeout.
  bool wait_send_room(bool need_stage, Deadline deadline, transport::BlockedHook& on_blocked,
                      transport::SendStatus& st);
  void fail(std::string why) noexcept;
  std::byte* recv_slot(uint32_t i) const noexcept { return recv_buf_->data() + size_t(i) * slot_bytes_; }
  std::byte* stage_slot(uint32_t i) const noexcept { return send_buf_->data() + size_t(i) * slot_bytes_; }

  // Creation order = reverse destruction order (verbs.hpp).
  EventChannel channel_;
  CmId id_;
  std::unique_ptr<ProtectionDomain> pd_;
  std::unique_ptr<CompletionChannel> comp_;
  std::unique_ptr<CompletionQueue> send_cq_;
  std::unique_ptr<CompletionQueue> recv_cq_;
  std::unique_ptr<RegisteredBuffer> recv_buf_;
  std::unique_ptr<RegisteredBuffer> send_buf_;
  std::unique_ptr<QueuePair> qp_;
  UniqueFd epoll_;

  // Geometry.
  uint32_t slots_ = 0;
  uint32_t slot_bytes_ = 0;
  uint32_t max_payload_ = 0;
  uint32_t inline_max_ = 0;
  uint32_t sq_depth_ = 0;
  uint32_t rq_depth_ = 0;
  uint32_t credit_batch_ = 1;  // send credits alone once this many are owed

  // Peer.
  uint64_t peer_addr_ = 0;
  uint32_t peer_rkey_ = 0;
  uint32_t peer_slots_ = 0;
  uint32_t peer_slot_stride_ = 0;
  uint32_t frag_bytes_ = 0;  // min(own, peer) slot size
  uint32_t wslot_ = 0;       // next peer slot to write
  uint32_t credits_ = 0;     // peer slots we may fill
  uint32_t owed_ = 0;        // own slots freed, not yet announced
  uint32_t sq_outstanding_ = 0;
  uint32_t stage_next_ = 0;
  std::vector<uint8_t> stage_busy_;

  // Receive side.
  uint32_t rslot_ = 0;  // slot of the oldest pending fragment
  std::vector<Pending> pend_;
  uint32_t pend_head_ = 0;
  uint32_t pend_count_ = 0;
  uint32_t recv_to_post_ = 0;
  State state_ = State::kIdle;
  bool frame_in_slot_ = false;
  size_t asm_have_ = 0;
  std::vector<std::byte> asm_;
  protocol::Header header_;
  std::span<const std::byte> payload_;
  protocol::DecodeResult decode_ = protocol::DecodeResult::kOk;
  uint64_t arrival_ns_ = 0;

  bool busy_ = false;
  bool armed_ = false;
  bool closed_ = false;
  bool disconnected_ = false;
  bool established_ = false;  // the CM connection is up (client: connect returned)
  uint32_t empty_polls_ = 0;
  int errno_ = 0;
  std::string failure_;
};

// A worker's RDMA listener: binds an address (port 0: any free port), hands out connection
// requests, accepts them as RdmaLinks. fd() is pollable (non-blocking CM event channel).
class Listener {
 public:
  Listener(const std::string& address, uint16_t port = 0, int backlog = 128);
  int fd() const noexcept { return channel_.fd(); }
  uint16_t port() const noexcept { return port_; }
  const std::string& address() const noexcept { return address_; }
  std::string endpoint() const;  // "ADDR:PORT" ("[ADDR]:PORT" for IPv6)
  std::string device_name() const;

  struct Request {
    CmId id;
    PeerInfo peer;
  };
  // Non-blocking: the next valid connection request, or false. Malformed requests are rejected
  // here and never returned.
  bool next_request(Request& out);
  // Accepts: creates the link (verbs resources, registered memory), answers with its buffers.
  // Throws IoError on failure (the request is then rejected).
  std::unique_ptr<RdmaLink> accept(Request& req, const LinkOptions& opts);
  void reject(Request& req) noexcept;

 private:
  EventChannel channel_;
  CmId id_;
  std::string address_;
  uint16_t port_ = 0;
};

// Whether `address` is served by an RDMA device, and which ("rxe0"); throws IoError with
// no_device_message() otherwise. Opens nothing that outlives the call.
std::string probe_device(const std::string& address);

}  // namespace hpcless::rdma
