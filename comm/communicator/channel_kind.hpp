// Which channel a communicator runs on, and its names ("direct", "direct-rdma", "redis", "s3",
// "auto").
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace hpcless::comm {

enum class ChannelKind : uint8_t {
  kDirect,      // TCP full mesh (comm/channel/direct)
  kDirectRdma,  // RDMA full mesh (comm/channel/rdma), only in builds with RDMA; never chosen
                // by kAuto unless listed as a candidate
  kRedis,       // object store on Redis (comm/channel/redis)
  kS3,          // object store on S3 (comm/channel/s3)
  kAuto,        // chosen at construction from a cost model (comm/communicator/cost_model.hpp)
};

constexpr std::string_view to_string(ChannelKind k) noexcept {
  switch (k) {
    case ChannelKind::kDirect: return "direct";
    case ChannelKind::kDirectRdma: return "direct-rdma";
    case ChannelKind::kRedis: return "redis";
    case ChannelKind::kS3: return "s3";
    case ChannelKind::kAuto: return "auto";
  }
  return "?";
}

constexpr std::optional<ChannelKind> channel_kind_from_string(std::string_view s) noexcept {
  for (auto k : {ChannelKind::kDirect, ChannelKind::kDirectRdma, ChannelKind::kRedis,
                 ChannelKind::kS3, ChannelKind::kAuto})
    if (s == to_string(k)) return k;
  return std::nullopt;
}

}  // namespace hpcless::comm
