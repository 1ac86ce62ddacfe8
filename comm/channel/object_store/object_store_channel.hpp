// The object-store channel family: every collective and point-to-point operation of channel.hpp
// written once on a BlobStore (put / blocking get / arrival counters / abort marker), as FMI's
// "client-server" channels but with deadlines, abort propagation, batching and cleanup.
// RedisChannel (comm/channel/redis) and S3Channel (comm/channel/s3) derive from it.
//
// Algorithms (one object per contribution, every rank waits for what it needs, few requests;
// see docs/communication.md, "Object-store channels"):
//   barrier     arrival counter; the last arrival releases the others
//   bcast       root puts once, every other rank gets
//   gather(v)   every rank puts its block for the root, the root gets them in place
//   scatter(v)  the root puts one block per rank, each gets its own
//   allgather   every rank puts its block once for all, each gets the others
//   alltoall    every rank puts one block per destination, each gets its blocks
//   reduce      every rank puts for the root, the root folds in rank order; large vectors
//               (>= split_bytes, >= 4 ranks): reduce_scatter, then gather of the reduced blocks
//   allreduce   every rank gets every contribution and folds locally (one step); large vectors:
//               reduce_scatter, then allgather of the reduced blocks (two steps, 2n traffic)
//   reduce_scatter  block j of every rank goes to rank j, which folds them
//   scan        rank r gets the contributions of ranks < r and folds them
// Reductions always fold x0 op x1 op ... in rank order (non-commutative ops are exact).
//
// Point-to-point: isend puts one object per message, key p/<src>/<dst>/<tag>/<seq> (seq counts
// per source, destination and tag), and completes at once; irecv gets the next sequence number
// of its (source, tag) in posting order, so messages match FIFO per source and tag. Cancelling
// a pending receive returns its place to the later receives.
//
// Failures: a collective that throws aborts the channel and writes the run's abort marker, so
// the other ranks fail within moments instead of at their deadlines (RemoteAbort -> IoError);
// timeouts name the rank and key waited for. Point-to-point timeouts do not abort.
//
// Cleanup: when a channel is destroyed it counts itself out; the last rank of the run to do so
// deletes everything left under the run's namespace. Backends whose reads do not consume (S3)
// also delete, at every barrier, the collective objects written before it and the p2p objects
// already read (every rank has finished all earlier collectives when a barrier completes).
//
// Thread safety: none; one thread uses a channel at a time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "comm/channel/channel.hpp"
#include "comm/channel/object_store/blob_store.hpp"
#include "comm/channel/request_table.hpp"
#include "comm/rendezvous/store.hpp"

namespace hpcless::comm {

struct ObjectStoreTuning {
  // allreduce/reduce switch to reduce_scatter + allgather/gather from this many bytes per rank
  // (and at least 4 ranks): each rank then moves ~2n bytes instead of (p-1)n, for one more step.
  // Must be the same on every rank. Defaults per backend: RedisChannelOptions, S3ChannelOptions.
  size_t split_bytes = 32 * 1024;
};

class ObjectStoreChannel : public Channel {
 public:
  ~ObjectStoreChannel() override;
  ObjectStoreChannel(const ObjectStoreChannel&) = delete;
  ObjectStoreChannel& operator=(const ObjectStoreChannel&) = delete;

  int rank() const noexcept override { return rank_; }
  int size() const noexcept override { return size_; }
  std::string_view kind() const noexcept override { return store_->kind(); }
  const std::string& group() const noexcept { return group_; }
  const std::string& run() const noexcept { return run_; }
  objstore::BlobStore& blob_store() noexcept { return *store_; }

  RequestId isend(int peer, Tag tag, const void* data, size_t bytes) override;
  RequestId irecv(int peer, Tag tag, void* data, size_t capacity) override;
  bool test(RequestId id, size_t* bytes = nullptr) override;
  void wait_all(std::span<const RequestId> ids, Deadline deadline,
                size_t* bytes = nullptr) override;
  void cancel(RequestId id) noexcept override;
  void abort(std::string_view reason) noexcept override;

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

  const ObjectStoreTuning& object_tuning() const noexcept { return tuning_; }
  bool aborted() const noexcept { return aborted_; }

 protected:
  // `store` is already namespaced to (group, run).
  ObjectStoreChannel(int rank, int size, std::string group, std::string run,
                     std::unique_ptr<objstore::BlobStore> store, ObjectStoreTuning tuning);

  // For constructors without an explicit run: all ranks meet in the rendezvous store once the
  // run id is known (a barrier), then rank 0 erases the key it published.
  void finish_rendezvous(rendezvous::Store& store, const std::string& key, Deadline deadline);

 private:
  using Queue = std::pair<int, Tag>;  // (source, tag)

  template <class F>
  void run_collective(std::string_view op, Deadline deadline, F&& body);
  void check_root(std::string_view op, int root) const;
  void check_peer(int peer, std::string_view op) const;
  std::string coll_key(std::string_view what) const;  // "c<seq>/<what>"
  std::string ctx() const;                            // "rank R of group 'g' (redis)"
  // Folds per-rank contributions in rank order into out: out = x0 op x1 op ... op x(last).
  void fold(const std::vector<const std::byte*>& xs, void* out, size_t count, const Reduction& op);
  std::byte* scratch(size_t bytes);
  // Puts the items and remembers them for deletion (backends whose reads do not consume).
  void publish(std::vector<objstore::PutItem>& items);
  // Whether reduce/allreduce of count elements take the reduce_scatter route (same on all ranks).
  bool split_reduction(size_t count, size_t elem) const;
  // Reduce-scatter over blocks (counts in elements); writes this rank's reduced block to out.
  void reduce_scatter_blocks(const void* in, void* out, std::span<const size_t> counts,
                             const Reduction& op, Deadline deadline, std::string_view tagc);
  void note_written(std::string key);
  // Deletes the read p2p objects, and at a barrier also the collective objects written before.
  void collect_garbage(bool at_barrier);
  // Completes receives of one (source, tag) queue up to and including position `upto`.
  void progress_queue(const Queue& q, size_t upto, bool block, Deadline deadline);
  void fail_all_pending(const std::string& why);
  [[noreturn]] void rethrow_failure(std::string_view op, const Error& e);

  int rank_;
  int size_;
  std::string group_;
  std::string run_;
  std::unique_ptr<objstore::BlobStore> store_;
  ObjectStoreTuning tuning_;

  uint64_t seq_ = 0;  // collectives
  RequestTable table_;
  std::map<std::pair<int, Tag>, uint64_t> send_seq_;  // (dest, tag) -> next
  struct RecvQueue {
    uint64_t next_seq = 0;        // the message for posted.front()
    std::deque<uint32_t> posted;  // pending receive slots in posting order
  };
  std::map<Queue, RecvQueue> recv_;

  bool aborted_ = false;
  std::string abort_reason_;
  std::vector<std::byte> scratch_;   // received contributions
  std::vector<std::byte> block_;     // this rank's reduced block
  std::vector<std::byte> fold_acc_;  // accumulator when the output overlaps an input
  // Backends whose reads do not consume: collective objects this rank wrote (deleted at the
  // next barrier) and p2p objects it read (deleted in batches).
  std::vector<std::string> garbage_;
  std::vector<std::string> p2p_garbage_;
  std::string last_arrival_;  // this rank's arrival object of the previous barrier
};

}  // namespace hpcless::comm
