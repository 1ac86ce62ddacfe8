// Communicator: the MPI-like API through which the ranks of a group exchange data.
//
//   auto store = std::make_shared<rendezvous::MemoryStore>();   // or TcpStore, Redis, ...
//   comm::Communicator c(rank, size, "job-42", store);          // collective: all ranks construct
//   c.allreduce(std::span<const float>(in), std::span<float>(out), comm::Op::kSum);
//
// Buffers are contiguous ranges of trivially copyable elements (std::vector, std::array,
// std::span, ...): int32_t, int64_t, float, double for the built-in reductions, any element type
// (including std::byte) for data movement and user reductions. Sizes are element counts.
//
// Deadlines: every blocking call takes an optional Deadline; without one it uses now +
// CommOptions::timeout. A call that does not finish in time throws TimeoutError.
// Failures: a peer that dies or closes makes the calls that need it throw IoError naming the
// rank. A collective that throws (for any reason, including bad arguments) breaks the
// communicator: its links are closed, so the other ranks fail promptly too, and every later
// call throws IoError. Point-to-point timeouts do not break it.
//
// Collective calls must be made by all ranks in the same order with matching sizes and roots.
// Group names must be unique among live communicators sharing a store (split() derives names).
//
// Thread safety: a Communicator is used by one thread at a time. Several communicators (also of
// the same ranks) may be used concurrently from different threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <numeric>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/channel/channel.hpp"
#include "comm/channel/direct/direct_channel.hpp"
#include "comm/channel/redis/redis_channel.hpp"
#include "comm/channel/s3/s3_channel.hpp"
#include "comm/collectives/tuning.hpp"
#include "comm/communicator/channel_kind.hpp"
#include "comm/communicator/cost_model.hpp"
#include "comm/communicator/reduce_op.hpp"
#include "comm/communicator/request.hpp"
#include "comm/rendezvous/store.hpp"

namespace hpcless::comm {

// ChannelKind::kAuto: what the choice is based on. Every rank should pass the same values; to
// make sure all agree anyway, rank 0 decides and publishes its choice through the rendezvous
// store ("comm/<group>/channel-choice"), and the other ranks adopt it. All ranks must ask for
// kAuto (a rank with a fixed channel does not read rank 0's choice).
struct AutoChannelOptions {
  std::optional<CostModel> model;  // unset: CostModel::from_env() ($HPCLESS_COMM_COST_MODEL)
  OpClass op = OpClass::kAllreduce;  // the operation that dominates the group's traffic
  size_t message_bytes = 8;          // expected bytes per call of `op`
  // Channels this run can use (configure redis/s3 in CommOptions before listing them).
  std::vector<ChannelKind> candidates{ChannelKind::kDirect};
};

struct CommOptions {
  ChannelKind channel = ChannelKind::kDirect;
  AutoChannelOptions auto_channel;  // used only when channel == kAuto
  // Default deadline of blocking calls that are not given one.
  std::chrono::milliseconds timeout{60'000};
  // Direct channel: listen address (loopback by default), connect timeout, unexpected-message
  // and spinning policy.
  DirectOptions direct;
  // Redis / S3 channels: server, bucket, run id (empty: agreed through the store), TTL, polling.
  RedisChannelOptions redis;
  S3ChannelOptions s3;
  // Algorithm choices; unset = CollectiveTuning::from_env(). Must match on all ranks.
  std::optional<CollectiveTuning> tuning;
};

// Color for split() of ranks that want no sub-communicator (MPI_UNDEFINED).
inline constexpr int kUndefinedColor = -1;

template <class R>
using range_elem_t = std::remove_cv_t<std::ranges::range_value_t<R>>;

template <class R>
concept InputBuffer =
    std::ranges::contiguous_range<R> && std::ranges::sized_range<R> && Element<range_elem_t<R>>;

template <class R>
concept OutputBuffer =
    InputBuffer<R> && !std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<R>>>;

class Communicator {
 public:
  using OptDeadline = std::optional<Deadline>;

  // Collective over the group: connects the ranks through `store` (keys under
  // "comm/<group>/"). Throws ConfigError for bad arguments, TimeoutError/IoError when peers do
  // not show up within the connect timeout.
  Communicator(int rank, int size, std::string group, std::shared_ptr<rendezvous::Store> store,
               CommOptions options = {});
  Communicator(Communicator&&) noexcept;
  Communicator& operator=(Communicator&&) noexcept;
  ~Communicator();

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  const std::string& group() const noexcept { return group_; }
  std::string_view channel_kind() const noexcept { return channel_->kind(); }
  // The channel in use (never kAuto: the one chosen).
  ChannelKind channel_choice() const noexcept { return options_.channel; }
  Channel& channel() noexcept { return *channel_; }
  const CommOptions& options() const noexcept { return options_; }
  // Must be called with the same value on every rank, between collectives.
  void set_tuning(const CollectiveTuning& t);
  const CollectiveTuning& tuning() const noexcept { return *options_.tuning; }

  // ---- point-to-point (tags 0 .. 2^31-1; messages match in order per source and tag) ----
  template <InputBuffer In>
  void send(const In& data, int dest, int tag, OptDeadline d = {}) {
    const RequestId id =
        channel_->isend(dest, user_tag(tag), std::ranges::data(data), bytes_of(data));
    channel_->wait_all({&id, 1}, resolve(d));
  }
  // Returns the number of elements received (the message may be shorter than the buffer).
  template <OutputBuffer Out>
  size_t recv(Out&& data, int source, int tag, OptDeadline d = {}) {
    Request r = irecv(data, source, tag);
    r.wait(d);
    return r.count();
  }
  // The buffer must stay valid until the request completes (not a temporary!).
  template <InputBuffer In>
  [[nodiscard]] Request isend(const In& data, int dest, int tag) {
    return Request(channel_.get(),
                   channel_->isend(dest, user_tag(tag), std::ranges::data(data), bytes_of(data)),
                   options_.timeout, sizeof(range_elem_t<In>));
  }
  template <OutputBuffer Out>
  [[nodiscard]] Request irecv(Out&& data, int source, int tag) {
    return Request(channel_.get(),
                   channel_->irecv(source, user_tag(tag), std::ranges::data(data), bytes_of(data)),
                   options_.timeout, sizeof(range_elem_t<Out>));
  }
  // Sends and receives at once (no deadlock when two ranks exchange); returns elements received.
  template <InputBuffer In, OutputBuffer Out>
  size_t sendrecv(const In& sdata, int dest, int send_tag, Out&& rdata, int source, int recv_tag,
                  OptDeadline d = {}) {
    Request rr = irecv(rdata, source, recv_tag);
    Request sr = isend(sdata, dest, send_tag);
    Request both[2] = {std::move(rr), std::move(sr)};
    Request::wait_all(both, d ? d : OptDeadline(resolve({})));
    return both[0].count();
  }

  // ---- collectives ----
  void barrier(OptDeadline d = {});

  template <OutputBuffer Buf>
  void bcast(Buf&& data, int root, OptDeadline d = {}) {
    channel_->bcast(std::ranges::data(data), bytes_of(data), root, resolve(d));
  }

  // out: at root, at least in.size() elements (may be the same range as in); elsewhere ignored.
  template <InputBuffer In, OutputBuffer Out>
  void reduce(const In& in, Out&& out, const ReduceOp<range_elem_t<In>>& op, int root,
              OptDeadline d = {}) {
    same_type<In, Out>();
    if (rank_ == root)
      require_size("reduce", std::ranges::size(out) >= std::ranges::size(in),
                   "the root's output is smaller than the input");
    channel_->reduce(std::ranges::data(in), rank_ == root ? std::ranges::data(out) : nullptr,
                     std::ranges::size(in), op.erased(), root, resolve(d));
  }

  template <InputBuffer In, OutputBuffer Out>
  void allreduce(const In& in, Out&& out, const ReduceOp<range_elem_t<In>>& op,
                 OptDeadline d = {}) {
    same_type<In, Out>();
    require_size("allreduce", std::ranges::size(out) >= std::ranges::size(in),
                 "the output is smaller than the input");
    channel_->allreduce(std::ranges::data(in), std::ranges::data(out), std::ranges::size(in),
                        op.erased(), resolve(d));
  }
  // In place.
  template <OutputBuffer Buf>
  void allreduce(Buf&& inout, const ReduceOp<range_elem_t<Buf>>& op, OptDeadline d = {}) {
    channel_->allreduce(std::ranges::data(inout), std::ranges::data(inout),
                        std::ranges::size(inout), op.erased(), resolve(d));
  }

  // out (root only): size() * in.size() elements, rank i's block at i * in.size().
  template <InputBuffer In, OutputBuffer Out>
  void gather(const In& in, Out&& out, int root, OptDeadline d = {}) {
    same_type<In, Out>();
    if (rank_ == root)
      require_size("gather", std::ranges::size(out) >= std::ranges::size(in) * size_,
                   "the root's output holds fewer than size() * input elements");
    channel_->gather(std::ranges::data(in), bytes_of(in),
                     rank_ == root ? std::ranges::data(out) : nullptr, root, resolve(d));
  }
  // counts[i] elements of rank i land at displs[i] of out (root only; counts[i] must equal
  // rank i's in.size()).
  template <InputBuffer In, OutputBuffer Out>
  void gatherv(const In& in, Out&& out, std::span<const size_t> counts,
               std::span<const size_t> displs, int root, OptDeadline d = {}) {
    same_type<In, Out>();
    std::vector<size_t> bc, bd;
    if (rank_ == root)
      to_bytes_v("gatherv", counts, displs, std::ranges::size(out), sizeof(range_elem_t<In>), bc,
                 bd);
    channel_->gatherv(std::ranges::data(in), bytes_of(in),
                      rank_ == root ? std::ranges::data(out) : nullptr, bc, bd, root, resolve(d));
  }

  // in (root only): size() * out.size() elements; rank i receives block i.
  template <InputBuffer In, OutputBuffer Out>
  void scatter(const In& in, Out&& out, int root, OptDeadline d = {}) {
    same_type<In, Out>();
    if (rank_ == root)
      require_size("scatter", std::ranges::size(in) >= std::ranges::size(out) * size_,
                   "the root's input holds fewer than size() * output elements");
    channel_->scatter(rank_ == root ? std::ranges::data(in) : nullptr, std::ranges::data(out),
                      bytes_of(out), root, resolve(d));
  }
  template <InputBuffer In, OutputBuffer Out>
  void scatterv(const In& in, std::span<const size_t> counts, std::span<const size_t> displs,
                Out&& out, int root, OptDeadline d = {}) {
    same_type<In, Out>();
    std::vector<size_t> bc, bd;
    if (rank_ == root)
      to_bytes_v("scatterv", counts, displs, std::ranges::size(in), sizeof(range_elem_t<In>), bc,
                 bd);
    channel_->scatterv(rank_ == root ? std::ranges::data(in) : nullptr, bc, bd,
                       std::ranges::data(out), bytes_of(out), root, resolve(d));
  }

  // out: size() * in.size() elements, rank i's block at i * in.size().
  template <InputBuffer In, OutputBuffer Out>
  void allgather(const In& in, Out&& out, OptDeadline d = {}) {
    same_type<In, Out>();
    require_size("allgather", std::ranges::size(out) >= std::ranges::size(in) * size_,
                 "the output holds fewer than size() * input elements");
    channel_->allgather(std::ranges::data(in), bytes_of(in), std::ranges::data(out), resolve(d));
  }

  // in and out: size() blocks of equal size (in.size() divisible by size()); block j of in goes
  // to rank j, block i of out comes from rank i. in and out must not overlap.
  template <InputBuffer In, OutputBuffer Out>
  void alltoall(const In& in, Out&& out, OptDeadline d = {}) {
    same_type<In, Out>();
    const size_t n = std::ranges::size(in);
    require_size("alltoall", n % size_ == 0, "the input size is not divisible by size()");
    require_size("alltoall", std::ranges::size(out) >= n, "the output is smaller than the input");
    channel_->alltoall(std::ranges::data(in), std::ranges::data(out),
                       n / size_ * sizeof(range_elem_t<In>), resolve(d));
  }

  // in: sum(counts) elements; rank i receives the reduction of block i (counts[i] elements).
  template <InputBuffer In, OutputBuffer Out>
  void reduce_scatter(const In& in, Out&& out, std::span<const size_t> counts,
                      const ReduceOp<range_elem_t<In>>& op, OptDeadline d = {}) {
    same_type<In, Out>();
    require_size("reduce_scatter", counts.size() == static_cast<size_t>(size_),
                 "counts needs one entry per rank");
    require_size("reduce_scatter",
                 std::accumulate(counts.begin(), counts.end(), size_t{0}) == std::ranges::size(in),
                 "the input size differs from the sum of counts");
    require_size("reduce_scatter", std::ranges::size(out) >= counts[rank_],
                 "the output is smaller than this rank's count");
    channel_->reduce_scatter(std::ranges::data(in), std::ranges::data(out), counts, op.erased(),
                             resolve(d));
  }
  // Equal blocks: in.size() == size() * out.size().
  template <InputBuffer In, OutputBuffer Out>
  void reduce_scatter_block(const In& in, Out&& out, const ReduceOp<range_elem_t<In>>& op,
                            OptDeadline d = {}) {
    std::vector<size_t> counts(static_cast<size_t>(size_), std::ranges::size(out));
    reduce_scatter(in, out, counts, op, d);
  }

  // Inclusive prefix reduction: out on rank r = in_0 (op) ... (op) in_r. in and out may be the
  // same range.
  template <InputBuffer In, OutputBuffer Out>
  void scan(const In& in, Out&& out, const ReduceOp<range_elem_t<In>>& op, OptDeadline d = {}) {
    same_type<In, Out>();
    require_size("scan", std::ranges::size(out) >= std::ranges::size(in),
                 "the output is smaller than the input");
    channel_->scan(std::ranges::data(in), std::ranges::data(out), std::ranges::size(in),
                   op.erased(), resolve(d));
  }

  // Collective: splits into sub-communicators of the ranks with equal color, ordered by
  // (key, rank). Ranks passing kUndefinedColor (any negative color) get std::nullopt.
  std::optional<Communicator> split(int color, int key, OptDeadline d = {});

 private:
  template <class R>
  static size_t bytes_of(const R& r) {
    return std::ranges::size(r) * sizeof(range_elem_t<R>);
  }
  template <class In, class Out>
  static constexpr void same_type() {
    static_assert(std::is_same_v<range_elem_t<In>, range_elem_t<Out>>,
                  "input and output buffers must have the same element type");
  }
  static Tag user_tag(int tag);
  Deadline resolve(OptDeadline d) const { return d ? *d : Deadline::after(options_.timeout); }
  // A collective's arguments are wrong: break the communicator (the other ranks would wait for
  // this one) and throw ConfigError.
  void require_size(const char* op, bool ok, const char* why);
  void to_bytes_v(const char* op, std::span<const size_t> counts, std::span<const size_t> displs,
                  size_t buffer_elems, size_t elem, std::vector<size_t>& bc,
                  std::vector<size_t>& bd);

  int rank_;
  int size_;
  std::string group_;
  std::shared_ptr<rendezvous::Store> store_;  // the caller's store (splits namespace their own)
  CommOptions options_;
  // "comm/<group>/" view of store_; declared before channel_, so it outlives the channel.
  std::shared_ptr<rendezvous::Store> scoped_store_;
  std::unique_ptr<Channel> channel_;
  uint64_t splits_ = 0;
};

}  // namespace hpcless::comm
