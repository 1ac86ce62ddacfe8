// The direct channel: a full TCP mesh between the ranks of a group, found through a rendezvous
// store, with a single-threaded progress engine.
//
// Set-up (collective; every rank constructs its DirectChannel with the same group and store):
// each rank listens on options.listen_host (port 0), publishes "direct/addr/<rank>" in the store,
// connects to every higher rank and accepts every lower one (the kernel completes connections
// from the listen backlog, so there is no ordering deadlock), then a barrier; rank 0 erases the
// addresses. Sockets: non-blocking, TCP_NODELAY, 4 MiB buffers.
//
// Data path: each message is a 16-byte header (tag, length) and the payload. isend() writes at
// once with one sendmsg() straight from the caller's buffer when the socket has room; the rest is
// written by the progress engine. A receive posted before its message arrives gets the payload
// read straight from the socket into its buffer. Small messages that arrive first are buffered;
// large ones are left in the kernel (see DirectOptions::eager_bytes), so a ring whose neighbour
// runs ahead still receives in place. Progress happens inside wait_all()/test(): one ppoll() over
// all peers, reads and writes on every ready socket, so simultaneous sends in a ring never
// deadlock.
//
// Failure: a peer that closes or resets fails every request with it (IoError naming the rank);
// messages already received from it stay deliverable.
//
// Thread safety: none; one thread uses a channel at a time. Different channels (communicators)
// are independent and may be used from different threads.
#pragma once

#include <poll.h>

#include <chrono>
#include <string>
#include <vector>

#include "comm/channel/direct/peer_link.hpp"
#include "comm/channel/peer_channel.hpp"
#include "comm/channel/request_table.hpp"
#include "comm/rendezvous/store.hpp"

namespace hpcless::comm {

struct DirectOptions {
  std::string listen_host = "127.0.0.1";
  std::chrono::milliseconds connect_timeout{30'000};
  // A message without a posted receive is read into a heap buffer right away when it is at most
  // this large; a larger one waits in the kernel for its receive, so it lands without a copy.
  size_t eager_bytes = 16 * 1024;
  // ...unless a wait sees no progress for this long: then waiting messages are buffered, so that
  // programs that send before they receive on both sides (more than the socket buffers hold)
  // still complete.
  std::chrono::microseconds drain_after{300};
  // Poll without sleeping (sched_yield between polls) for this long before blocking in ppoll().
  // A message that arrives within the spin is seen without a wake-up, which costs ~30 us on a
  // virtual machine; sched_yield lets the other ranks of an oversubscribed node run meanwhile.
  // Measured on 4 ranks / 2 vCPUs: 8-byte bcast 52 -> 11 us, allreduce 87 -> 53 us (see
  // docs/communication.md). 0 = always block at once.
  std::chrono::microseconds spin{50};

  // The same channel over RDMA (ChannelKind::kDirectRdma, comm/channel/rdma): the numeric IP
  // address of this host's RDMA interface (the netdev under rxe0, mlx5_0, ...); every rank
  // listens there. Required for that kind; connect_timeout and spin apply to it as well.
  std::string rdma_address;
  // Registered receive slots of 64 KiB per peer link: the data a peer may have in flight.
  uint32_t rdma_slots = 16;
};

class DirectChannel final : public PeerChannel {
 public:
  struct Stats {
    uint64_t buffered = 0;  // unexpected messages read into heap buffers
    uint64_t stalled = 0;   // large messages left in the kernel for their receive
    uint64_t resumed = 0;   // ... that then landed in place
    uint64_t drained = 0;   // ... that had to be buffered after all
  };

  // Collective. `store` should be namespaced per group (Communicator uses "comm/<group>/").
  // Throws ConfigError (bad rank/size), TimeoutError / IoError (a peer did not show up).
  DirectChannel(int rank, int size, std::string group, rendezvous::Store& store,
                const DirectOptions& options, const CollectiveTuning& tuning);
  ~DirectChannel() override;
  DirectChannel(const DirectChannel&) = delete;
  DirectChannel& operator=(const DirectChannel&) = delete;

  int rank() const noexcept override { return rank_; }
  int size() const noexcept override { return size_; }
  std::string_view kind() const noexcept override { return "direct"; }

  RequestId isend(int peer, Tag tag, const void* data, size_t bytes) override;
  RequestId irecv(int peer, Tag tag, void* data, size_t capacity) override;
  bool test(RequestId id, size_t* bytes = nullptr) override;
  void wait_all(std::span<const RequestId> ids, Deadline deadline,
                size_t* bytes = nullptr) override;
  void cancel(RequestId id) noexcept override;
  void abort(std::string_view reason) noexcept override;

  const Stats& stats() const noexcept { return stats_; }

 private:
  using PeerLink = direct::PeerLink;

  void connect_mesh(rendezvous::Store& store, Deadline deadline);
  void check_peer(int peer, const char* op) const;
  std::string peer_name(int peer) const;

  // Engine.
  bool poll_once(uint64_t wake_ns);
  bool pump_rx(PeerLink& link);
  bool pump_tx(PeerLink& link);
  // Returns true when the whole item left.
  bool send_now(PeerLink& link, direct::SendItem& item);
  void on_header(PeerLink& link, Tag tag, uint64_t len);
  void finish_rx(PeerLink& link);
  void drain(PeerLink& link);
  bool drain_stalled();
  void deliver(direct::Unexpected& u, uint32_t slot);
  void self_send(uint32_t slot);
  void link_failed(PeerLink& link, const std::string& why) noexcept;
  std::string describe_pending(std::span<const RequestId> ids) const;
  std::string truncation(int peer, Tag tag, size_t len, size_t cap) const;

  int rank_;
  int size_;
  std::string group_;
  DirectOptions options_;
  RequestTable table_;
  std::vector<PeerLink> links_;  // index = rank; links_[rank_] only holds self-messages
  bool aborted_ = false;
  std::string abort_reason_;
  std::vector<pollfd> pollfds_;
  std::vector<int> poll_peer_;
  Stats stats_;
};

}  // namespace hpcless::comm
