#include "comm/communicator/communicator.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#ifdef HPCLESS_HAVE_RDMA
#include "comm/channel/rdma/rdma_channel.hpp"
#endif

namespace hpcless::comm {

namespace {

std::unique_ptr<Channel> make_channel(int rank, int size, const std::string& group,
                                      rendezvous::Store& store, const CommOptions& options) {
  switch (options.channel) {
    case ChannelKind::kDirect:
      return std::make_unique<DirectChannel>(rank, size, group, store, options.direct,
                                             *options.tuning);
    case ChannelKind::kDirectRdma:
#ifdef HPCLESS_HAVE_RDMA
      return std::make_unique<RdmaChannel>(rank, size, group, store, options.direct,
                                           *options.tuning);
#else
      throw ConfigError(
          "the direct-rdma channel is not available: this build has no RDMA support "
          "(install libibverbs-dev and librdmacm-dev and rebuild)");
#endif
    case ChannelKind::kRedis:
      return std::make_unique<RedisChannel>(rank, size, group, &store, options.redis);
    case ChannelKind::kS3:
      return std::make_unique<S3Channel>(rank, size, group, &store, options.s3);
    case ChannelKind::kAuto:
      break;  // resolved before
  }
  throw ConfigError("unknown channel kind");
}

constexpr std::string_view kChoiceKey = "channel-choice";

// Rank 0 decides from its model and publishes the choice; the others adopt it, so that the
// ranks agree even when their models or candidate lists differ.
ChannelKind resolve_auto(int rank, int size, rendezvous::Store& store, const CommOptions& o) {
  if (rank == 0) {
    const CostModel model = o.auto_channel.model ? *o.auto_channel.model : CostModel::from_env();
    const ChannelKind k = model.choose(o.auto_channel.candidates, o.auto_channel.op, size,
                                       o.auto_channel.message_bytes);
    if (size > 1) {
      const auto name = to_string(k);
      store.set(kChoiceKey, std::as_bytes(std::span(name.data(), name.size())));
    }
    return k;
  }
  const auto wait = std::min(o.timeout, o.direct.connect_timeout);
  const auto bytes = store.get(kChoiceKey, Deadline::after(wait));
  const std::string name(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const auto k = channel_kind_from_string(name);
  if (!k || *k == ChannelKind::kAuto)
    throw ProtocolError("auto channel: rank 0 published an unknown channel '" + name + "'");
  return *k;
}

}  // namespace

Communicator::Communicator(int rank, int size, std::string group,
                           std::shared_ptr<rendezvous::Store> store, CommOptions options)
    : rank_(rank),
      size_(size),
      group_(std::move(group)),
      store_(std::move(store)),
      options_(std::move(options)) {
  if (size < 1)
    throw ConfigError("communicator size must be at least 1, got " + std::to_string(size));
  if (rank < 0 || rank >= size)
    throw ConfigError("rank " + std::to_string(rank) + " is outside the group size " +
                      std::to_string(size));
  if (group_.empty()) throw ConfigError("communicator group name must not be empty");
  if (!store_) throw ConfigError("communicator needs a rendezvous store");
  if (options_.timeout.count() <= 0) throw ConfigError("communicator timeout must be positive");
  if (!options_.tuning) options_.tuning = CollectiveTuning::from_env();
  scoped_store_ = std::make_shared<rendezvous::PrefixStore>(store_, "comm/" + group_ + "/");
  const bool chose = options_.channel == ChannelKind::kAuto;
  if (chose) options_.channel = resolve_auto(rank_, size_, *scoped_store_, options_);
  channel_ = make_channel(rank_, size_, group_, *scoped_store_, options_);
  // Every channel's construction needs all ranks, so each has read the choice by now.
  if (chose && rank_ == 0 && size_ > 1) {
    try {
      scoped_store_->erase_prefix(kChoiceKey);
    } catch (const Error&) {
      // A leftover key only costs space; the group name is unique anyway.
    }
  }
}

Communicator::Communicator(Communicator&&) noexcept = default;
Communicator& Communicator::operator=(Communicator&&) noexcept = default;
Communicator::~Communicator() = default;

void Communicator::set_tuning(const CollectiveTuning& t) {
  options_.tuning = t;
  channel_->set_tuning(t);
}

void Communicator::barrier(OptDeadline d) { channel_->barrier(resolve(d)); }

Tag Communicator::user_tag(int tag) {
  if (tag < 0) throw ConfigError("message tags must be >= 0, got " + std::to_string(tag));
  return static_cast<Tag>(tag);
}

void Communicator::require_size(const char* op, bool ok, const char* why) {
  if (ok) return;
  const std::string msg = std::string(op) + ": " + why;
  channel_->abort(msg + " on rank " + std::to_string(rank_));
  throw ConfigError(msg);
}

void Communicator::to_bytes_v(const char* op, std::span<const size_t> counts,
                              std::span<const size_t> displs, size_t buffer_elems, size_t elem,
                              std::vector<size_t>& bc, std::vector<size_t>& bd) {
  require_size(
      op,
      counts.size() == static_cast<size_t>(size_) && displs.size() == static_cast<size_t>(size_),
      "counts and displs need one entry per rank");
  bc.resize(counts.size());
  bd.resize(displs.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    require_size(op, displs[i] <= buffer_elems && counts[i] <= buffer_elems - displs[i],
                 "a block lies outside the root's buffer");
    bc[i] = counts[i] * elem;
    bd[i] = displs[i] * elem;
  }
}

std::optional<Communicator> Communicator::split(int color, int key, OptDeadline d) {
  const Deadline deadline = resolve(d);
  const int32_t mine[2] = {color < 0 ? kUndefinedColor : color, key};
  std::vector<int32_t> all(static_cast<size_t>(size_) * 2);
  channel_->allgather(mine, sizeof(mine), all.data(), deadline);
  const uint64_t seq = ++splits_;
  if (color < 0) return std::nullopt;
  struct Member {
    int32_t key;
    int rank;
  };
  std::vector<Member> members;
  for (int r = 0; r < size_; ++r)
    if (all[2 * r] == color) members.push_back({all[2 * r + 1], r});
  std::stable_sort(members.begin(), members.end(), [](const Member& a, const Member& b) {
    return a.key != b.key ? a.key < b.key : a.rank < b.rank;
  });
  int new_rank = 0;
  for (size_t i = 0; i < members.size(); ++i)
    if (members[i].rank == rank_) new_rank = static_cast<int>(i);
  CommOptions sub = options_;
  const std::string name =
      group_ + "/split" + std::to_string(seq) + "/color" + std::to_string(color);
  return Communicator(new_rank, static_cast<int>(members.size()), name, store_, sub);
}

}  // namespace hpcless::comm
