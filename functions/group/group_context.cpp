#include "functions/group/group_context.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "comm/rendezvous/http_store.hpp"
#include "comm/rendezvous/tcp_store.hpp"
#include "comm/storage/storage_config.hpp"
#include "comm/transport/tcp/endpoint.hpp"

namespace hpcless::fn {

namespace {

std::shared_ptr<rendezvous::Store> open_store(const GroupInfo& g) {
  const std::string& r = g.rendezvous;
  if (r.rfind("http://", 0) == 0) {
    rendezvous::HttpStoreOptions o;
    o.url = r;  // token: the worker's HPCLESS_API_TOKEN (inherited from its executor)
    o.prefix = "groups/";
    return std::make_shared<rendezvous::HttpStore>(o);
  }
  if (r.rfind("tcp://", 0) == 0)
    return std::make_shared<rendezvous::TcpStore>(tcp::parse_endpoint(r.substr(6)),
                                                  std::max(g.timeout, std::chrono::milliseconds(1000)));
  throw ConfigError("group '" + g.group + "': rendezvous '" + r +
                    "' is neither http://HOST:PORT nor tcp://HOST:PORT");
}

}  // namespace

std::optional<GroupInfo> group_info(Context& ctx) {
  hpcless_context* raw = ctx.raw();
  if (!HPCLESS_API_HAS(raw->api, group_info)) return std::nullopt;
  hpcless_group_info gi{};
  if (raw->api->group_info(raw, &gi) != HPCLESS_GROUP_OK) return std::nullopt;
  GroupInfo g;
  g.rank = gi.rank;
  g.size = gi.size;
  g.group = gi.group ? gi.group : "";
  g.rendezvous = gi.rendezvous ? gi.rendezvous : "";
  g.channel = gi.channel ? gi.channel : "";
  g.listen_host = gi.listen_host ? gi.listen_host : "";
  g.timeout = std::chrono::milliseconds(gi.timeout_ms);
  g.message_bytes = gi.message_bytes;
  return g;
}

Group::Group(Context& ctx) : deadline_(Deadline::never()) {
  auto g = group_info(ctx);
  if (!g)
    throw std::runtime_error(
        "this is a group function: invoke it on a lease as a group (hpcless invoke --lease ID "
        "--group FUNCTION, or Lease::invoke_group); a plain invocation has no rank or "
        "communicator");
  info_ = std::move(*g);
  if (info_.timeout.count() <= 0)
    throw std::runtime_error("group '" + info_.group + "' has no time left (timeout 0)");
  deadline_ = Deadline::after(info_.timeout);
}

Group::~Group() = default;

comm::Communicator& Group::communicator() {
  if (comm_) return *comm_;
  const auto left = std::chrono::milliseconds(deadline_.remaining_ms());
  if (left.count() <= 0)
    throw TimeoutError("group '" + info_.group + "': deadline passed before the communicator");
  comm::CommOptions o;
  o.timeout = left;
  o.direct.connect_timeout = left;
  o.direct.listen_host = info_.listen_host.empty() ? "127.0.0.1" : info_.listen_host;
  o.redis.connect_timeout = left;
  o.s3.connect_timeout = left;
  const auto kind = comm::channel_kind_from_string(info_.channel.empty() ? "direct" : info_.channel);
  if (!kind) throw ConfigError("group '" + info_.group + "': unknown channel '" + info_.channel + "'");
  o.channel = *kind;
  if (o.channel == comm::ChannelKind::kDirectRdma) {
    // The worker's RDMA address (hpcless-executor --rdma-address; the worker exports it).
    const char* rdma = std::getenv("HPCLESS_RDMA_ADDRESS");
    if (rdma == nullptr || *rdma == '\0')
      throw ConfigError("group '" + info_.group +
                        "' asks for the direct-rdma channel, but this worker has no RDMA address "
                        "(start hpcless-executor with --rdma-address)");
    o.direct.rdma_address = rdma;
  }
  const char* storage_path = std::getenv("HPCLESS_STORAGE_CONFIG");
  if (o.channel != comm::ChannelKind::kDirect && o.channel != comm::ChannelKind::kDirectRdma) {
    // Redis and S3 come from the worker's storage configuration, like the functions' storage.
    storage::StorageConfig sc;
    if (storage_path != nullptr && *storage_path != '\0')
      sc = storage::load_storage_config(storage_path);
    if (o.channel == comm::ChannelKind::kRedis && !sc.redis)
      throw ConfigError("group '" + info_.group +
                        "' asks for the redis channel, but this worker has no storage.redis "
                        "(HPCLESS_STORAGE_CONFIG)");
    if (o.channel == comm::ChannelKind::kS3 && !sc.s3)
      throw ConfigError("group '" + info_.group +
                        "' asks for the s3 channel, but this worker has no storage.s3 "
                        "(HPCLESS_STORAGE_CONFIG)");
    if (sc.redis) o.redis.redis = *sc.redis;
    if (sc.s3) o.s3.s3 = *sc.s3;
    if (o.channel == comm::ChannelKind::kAuto) {
      o.auto_channel.candidates = {comm::ChannelKind::kDirect};
      if (sc.redis) o.auto_channel.candidates.push_back(comm::ChannelKind::kRedis);
      if (sc.s3 && !sc.s3->bucket.empty()) o.auto_channel.candidates.push_back(comm::ChannelKind::kS3);
      if (info_.message_bytes != 0) o.auto_channel.message_bytes = info_.message_bytes;
      const char* model = std::getenv("HPCLESS_COMM_COST_MODEL");
      if ((model == nullptr || *model == '\0') && storage_path != nullptr && *storage_path != '\0') {
        try {
          o.auto_channel.model = comm::CostModel::load(storage_path);
        } catch (const ConfigError&) {
          // No "comm" section: the defaults (from_env) apply.
        }
      }
    }
  }
  store_ = open_store(info_);
  comm_ = std::make_unique<comm::Communicator>(info_.rank, info_.size, info_.group, store_, o);
  return *comm_;
}

}  // namespace hpcless::fn
