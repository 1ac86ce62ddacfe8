// The direct channel over RDMA: a full mesh of RdmaLinks (RC queue pairs) between the ranks of a
// group, found through the same rendezvous store as the TCP direct channel, with the same
// matching semantics (FIFO per peer and tag, unexpected messages, cancel, abort, deadlines) and
// the same collectives (PeerChannel).
//
// Set-up (collective; mesh.cpp): each rank runs an rdma::Listener on options.rdma_address (port
// 0) and draws a random 128-bit ticket for each lower rank. It connects to every higher rank
// first, then publishes "rdma/ticket/<lower>/<rank>" and "rdma/addr/<rank>" and accepts the
// lower ranks, admitting a connection request only with the ticket drawn for that rank. A rank
// publishes its address only once it is ready to answer at once: a connection request left
// unanswered sits in the CM's retry timers (seconds) instead of a listen backlog. Then a
// barrier; rank 0 erases the keys.
//
// Data path: a message is a sequence of chunks of at most one link fragment each (wire.hpp).
// Every chunk is an RDMA write with immediate straight into a registered receive slot of the
// peer (the link's credits keep the sender from overrunning it); the receiver copies it from
// the slot into the posted receive's buffer and frees the slot at once. That copy is the one
// copy left on the receive side: writing into the user's buffer itself would need that buffer
// registered (pinned, ~tens of microseconds per call) on every call, which the transport's
// design rules out for the hot path. A message that arrives before its receive is copied into a
// heap buffer (and copied again when the receive is posted); a receive posted while such a
// message is still arriving takes over the rest in place. The sender copies each chunk into a
// registered staging slot (or inline into the work request, for small ones).
//
// Progress happens inside test() and wait_all(): one pass posts queued chunks on every link that
// has credits and drains every link's receive queue, so simultaneous sends in a ring never
// deadlock and isend() never blocks. Waiting polls the completion queues without system calls
// (yielding the CPU between empty passes) for DirectOptions::spin, then sleeps in epoll on the
// links' completion channels (warm). The links always poll their connection-manager events
// rarely (busy mode) and the epoll set covers them, so a peer's disconnect wakes a sleeper.
//
// Failure: a peer that disconnects or whose link fails fails every request with it (IoError
// naming the rank); messages already received from it stay deliverable. abort() shuts every link
// down, so that peers see the failure at once. The destructor first waits (bounded) until every
// posted write reached its peer, so that the last messages of a program are not dropped.
//
// Thread safety: none; one thread uses a channel at a time. Different channels are independent.
#pragma once

#include <string>
#include <vector>

#include "comm/base/fd.hpp"
#include "comm/channel/direct/direct_channel.hpp"
#include "comm/channel/peer_channel.hpp"
#include "comm/channel/rdma/peer.hpp"
#include "comm/channel/request_table.hpp"
#include "comm/rendezvous/store.hpp"

namespace hpcless::comm {

class RdmaChannel final : public PeerChannel {
 public:
  struct Stats {
    uint64_t unexpected = 0;  // messages that arrived before their receive (copied twice)
    uint64_t taken_over = 0;  // ... whose receive came while they arrived (the rest in place)
  };

  // Collective. Uses options.rdma_address, rdma_slots, connect_timeout and spin. Throws
  // ConfigError (bad rank/size, no address), IoError (no RDMA device at the address, a peer
  // refused), TimeoutError (a peer did not show up).
  RdmaChannel(int rank, int size, std::string group, rendezvous::Store& store,
              const DirectOptions& options, const CollectiveTuning& tuning);
  ~RdmaChannel() override;
  RdmaChannel(const RdmaChannel&) = delete;
  RdmaChannel& operator=(const RdmaChannel&) = delete;

  int rank() const noexcept override { return rank_; }
  int size() const noexcept override { return size_; }
  std::string_view kind() const noexcept override { return "direct-rdma"; }

  RequestId isend(int peer, Tag tag, const void* data, size_t bytes) override;
  RequestId irecv(int peer, Tag tag, void* data, size_t capacity) override;
  bool test(RequestId id, size_t* bytes = nullptr) override;
  void wait_all(std::span<const RequestId> ids, Deadline deadline,
                size_t* bytes = nullptr) override;
  void cancel(RequestId id) noexcept override;
  void abort(std::string_view reason) noexcept override;

  // The RDMA device the links run on ("rxe0"), empty for a group of one.
  const std::string& device() const noexcept { return device_; }
  const Stats& stats() const noexcept { return stats_; }

 private:
  using Peer = rdma_channel::Peer;

  void connect_mesh(rendezvous::Store& store, Deadline deadline);  // mesh.cpp
  void adopt_link(int peer, std::unique_ptr<rdma::RdmaLink> link);
  void check_peer(int peer, const char* op) const;
  std::string peer_name(int peer) const;
  std::string truncation(int peer, Tag tag, size_t len, size_t cap) const;

  // Engine: one non-blocking pass over every live link; true when anything moved.
  bool progress();
  bool pump_tx(Peer& p);
  bool pump_rx(Peer& p);
  void on_chunk(Peer& p);
  void begin_message(Peer& p, Tag tag, uint64_t len);
  void finish_message(Peer& p);
  void self_send(uint32_t slot);
  void peer_failed(Peer& p, const std::string& why) noexcept;
  // Sleeps until a link may have something or the wake time passed; returns at once when a
  // link already has work pending.
  void sleep_until(uint64_t wake_ns);
  std::string describe_pending(std::span<const RequestId> ids) const;

  int rank_;
  int size_;
  std::string group_;
  DirectOptions options_;
  RequestTable table_;
  std::vector<Peer> peers_;  // index = rank; peers_[rank_] only holds self-messages
  UniqueFd epoll_;           // every link's wait_fd(), for warm waits
  std::string device_;
  Stats stats_;
  bool aborted_ = false;
  std::string abort_reason_;
};

}  // namespace hpcless::comm
