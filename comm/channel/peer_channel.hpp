// The peer-to-peer channel family: a channel that implements point-to-point messaging
// (isend/irecv/test/wait_all/cancel/abort) derives from PeerChannel and gets every collective
// from comm/collectives/, chosen by size through CollectiveTuning. DirectChannel (TCP) is one;
// an RDMA channel is the next.
//
// Each collective call gets its own tag (a sequence number), so messages of consecutive
// collectives never match each other even when ranks run ahead. If a collective throws, the
// channel is aborted (see channel.hpp) and the exception rethrown with the operation's name.
//
// Thread safety: none (one thread per channel).
#pragma once

#include <string_view>

#include "comm/channel/channel.hpp"
#include "comm/collectives/context.hpp"

namespace hpcless::comm {

class PeerChannel : public Channel {
 public:
  void barrier(Deadline deadline) override;
  void bcast(void* data, size_t bytes, int root, Deadline deadline) override;
  void reduce(const void* in, void* out, size_t count, const Reduction& op, int root,
              Deadline deadline) override;
  void allreduce(const void* in, void* out, size_t count, const Reduction& op,
                 Deadline deadline) override;
  void gather(const void* in, size_t bytes, void* out, int root, Deadline deadline) override;
  void gatherv(const void* in, size_t bytes, void* out, std::span<const size_t> counts,
               std::span<const size_t> displs, int root, Deadline deadline) override;
  void scatter(const void* in, void* out, size_t bytes, int root, Deadline deadline) override;
  void scatterv(const void* in, std::span<const size_t> counts, std::span<const size_t> displs,
                void* out, size_t bytes, int root, Deadline deadline) override;
  void allgather(const void* in, size_t bytes, void* out, Deadline deadline) override;
  void alltoall(const void* in, void* out, size_t block_bytes, Deadline deadline) override;
  void reduce_scatter(const void* in, void* out, std::span<const size_t> counts,
                      const Reduction& op, Deadline deadline) override;
  void scan(const void* in, void* out, size_t count, const Reduction& op,
            Deadline deadline) override;

  void set_tuning(const CollectiveTuning& tuning) override { tuning_ = tuning; }
  const CollectiveTuning& tuning() const noexcept { return tuning_; }

 protected:
  explicit PeerChannel(CollectiveTuning tuning) : tuning_(tuning) {}

 private:
  template <class F>
  void run(std::string_view op, Deadline deadline, F&& body);
  void check_root(std::string_view op, int root) const;

  CollectiveTuning tuning_;
  coll::Workspace ws_;
  uint64_t seq_ = 0;
};

}  // namespace hpcless::comm
