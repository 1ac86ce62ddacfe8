#include "experiments/comm/channels.hpp"

#include <algorithm>
#include <cstdlib>

#include "comm/base/error.hpp"
#include "comm/storage/storage_config.hpp"

namespace hpcless::experiments::comm_bench {

std::vector<std::string> known_channels() { return {"direct", "direct-rdma", "redis", "s3"}; }

std::string channel_unavailable_reason(std::string_view channel) {
  if (channel == "direct" || channel == "redis" || channel == "s3") return "";
  if (channel == "direct-rdma") {
#ifdef HPCLESS_HAVE_RDMA
    return "";
#else
    return "this build has no RDMA support (install libibverbs-dev and librdmacm-dev, rebuild)";
#endif
  }
  return "unknown channel '" + std::string(channel) + "' (direct, direct-rdma, redis or s3)";
}

std::string rdma_address_for(const ChannelSettings& s) {
  if (!s.rdma_address.empty()) return s.rdma_address;
  const char* env = std::getenv("HPCLESS_RDMA_ADDRESS");
  return env != nullptr ? env : "";
}

comm::CommOptions comm_options_for(const ChannelSettings& s) {
  const std::string why = channel_unavailable_reason(s.channel);
  if (!why.empty()) throw ConfigError(why);
  comm::CommOptions o;
  o.timeout = s.timeout;
  // Connecting waits for every rank to start; a slow exec on a loaded node must not fail it.
  const auto connect = std::max(s.timeout, std::chrono::milliseconds(30'000));
  if (s.channel == "direct" || s.channel == "direct-rdma") {
    o.channel = comm::ChannelKind::kDirect;
    o.direct.spin = s.spin;
    o.direct.connect_timeout = connect;
    if (s.channel == "direct-rdma") {
      o.channel = comm::ChannelKind::kDirectRdma;
      o.direct.rdma_address = rdma_address_for(s);
      if (o.direct.rdma_address.empty())
        throw ConfigError(
            "the direct-rdma channel needs the IP address of this host's RDMA interface: "
            "--rdma-address ADDR or $HPCLESS_RDMA_ADDRESS (`rdma link` lists the devices and "
            "their netdevs)");
    }
    return o;
  }
  if (s.config_path.empty())
    throw ConfigError("the " + s.channel +
                      " channel needs --config FILE with a \"storage\" section (see "
                      "config/local.json)");
  const storage::StorageConfig sc = storage::load_storage_config(s.config_path);
  if (s.channel == "redis") {
    if (!sc.redis) throw ConfigError("'" + s.config_path + "' has no storage.redis section");
    o.channel = comm::ChannelKind::kRedis;
    o.redis.redis = *sc.redis;
    o.redis.connect_timeout = connect;
  } else {
    if (!sc.s3) throw ConfigError("'" + s.config_path + "' has no storage.s3 section");
    if (sc.s3->bucket.empty())
      throw ConfigError("'" + s.config_path + "': storage.s3.bucket is empty");
    o.channel = comm::ChannelKind::kS3;
    o.s3.s3 = *sc.s3;
    o.s3.prefix = "comm-bench/";
    o.s3.connect_timeout = connect;
  }
  return o;
}

}  // namespace hpcless::experiments::comm_bench
