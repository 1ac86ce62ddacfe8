// Network namespaces for `hpcless cluster up --netns`: one namespace per simulated node, joined
// to the host by a veth pair on a bridge, all inside 198.18.0.0/15 (reserved for benchmarks).
//
// Plan for network id C (0..255) and nodes K = 1..N (N <= 250):
//   bridge      hpcl-brC     198.18.C.1/24 (host side; the manager listens here)
//   namespace   hpcless-nK   (C = 0) or hpcless-C-nK (C > 0)
//   veth        hpclC-vK on the bridge  <->  eth0 in the namespace, 198.18.C.(K+1)/24
// Several clusters (different C) can coexist on one machine.
// Needs CAP_NET_ADMIN (root) and iproute2's `ip`. Thread safety: functions only.
#pragma once

#include <string>
#include <vector>

namespace hpcless::cli {

struct NetnsNode {
  std::string netns;    // namespace name
  std::string veth;     // host-side veth name
  std::string address;  // the node's address inside its namespace
};

struct NetnsPlan {
  int net_id = 0;
  std::string bridge;
  std::string host_address;  // on the bridge
  std::vector<NetnsNode> nodes;
};

inline constexpr int kMaxNetnsNodes = 250;

// Throws ConfigError for a net id outside 0..255 or a node count outside 1..250.
NetnsPlan plan_netns(int net_id, int nodes);

// Names an object of the plan that exists already (another cluster's?), or returns empty.
std::string netns_conflict(const NetnsPlan& plan);

// Creates the bridge, then each namespace with its veth pair and address. Throws ConfigError
// (naming the failed `ip` command and its output) when something already exists or cannot be
// created; what was created before the failure is left for remove_netns().
void create_bridge(const NetnsPlan& plan);
void create_node_netns(const NetnsPlan& plan, const NetnsNode& node);

// Deletes namespaces, veths and the bridge of the plan that exist; missing ones are skipped.
// Returns one line per object that could not be removed (empty: all gone).
std::vector<std::string> remove_netns(const NetnsPlan& plan);

// True when the namespace / link exists.
bool netns_exists(const std::string& name);
bool link_exists(const std::string& name);

}  // namespace hpcless::cli
