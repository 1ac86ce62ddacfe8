// Which hpcless channels `hpcless comm-bench` can measure, and the communicator options for one.
//
// Channel names are the CLI's: "direct" (TCP full mesh), "direct-rdma" (RDMA full mesh, builds with
// RDMA only; needs the address of an RDMA interface), "redis" and "s3" (object-store channels,
// configured by the "storage" section of a config file such as config/local.json; the servers
// must be running). Thread safety: pure functions (comm_options_for reads the environment).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "comm/communicator/communicator.hpp"

namespace hpcless::experiments::comm_bench {

// Every channel name the CLI knows, in the order experiments list them.
std::vector<std::string> known_channels();

// Empty when `channel` can run in this build; otherwise why not (one line).
std::string channel_unavailable_reason(std::string_view channel);

struct ChannelSettings {
  std::string channel = "direct";
  std::string config_path;                    // needed by redis and s3
  std::chrono::milliseconds timeout{60'000};  // deadline of every blocking call
  std::chrono::microseconds spin{0};          // direct, direct-rdma: poll this long first
  // direct-rdma: IP address of this host's RDMA interface; empty = $HPCLESS_RDMA_ADDRESS.
  std::string rdma_address;
};

// direct-rdma's address: the setting, else $HPCLESS_RDMA_ADDRESS, else empty.
std::string rdma_address_for(const ChannelSettings& s);

// Throws ConfigError for unknown or unavailable channels, bad config files and direct-rdma
// without an address.
comm::CommOptions comm_options_for(const ChannelSettings& s);

}  // namespace hpcless::experiments::comm_bench
