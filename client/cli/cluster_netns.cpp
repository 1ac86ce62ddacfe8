#include "client/cli/cluster_netns.hpp"

#include <sys/stat.h>

#include <chrono>

#include "client/cli/cluster_processes.hpp"
#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"

namespace hpcless::cli {

namespace {

std::string ip_binary() {
  const std::string ip = find_program("ip");
  if (ip.empty())
    throw ConfigError("--netns needs iproute2's 'ip' (Debian package iproute2), not found on PATH");
  return ip;
}

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) s += ' ';
    s += i == 0 ? "ip" : argv[i];
  }
  return s;
}

CommandResult ip(std::vector<std::string> args) {
  args.insert(args.begin(), ip_binary());
  return run_command(args, Deadline::after(std::chrono::seconds(10)));
}

void ip_or_throw(const std::vector<std::string>& args) {
  const CommandResult r = ip(args);
  if (r.exit_code == 0) return;
  std::string out = r.output;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  std::vector<std::string> shown = args;
  shown.insert(shown.begin(), "ip");
  std::string hint;
  if (out.find("Operation not permitted") != std::string::npos)
    hint = " (--netns needs root or CAP_NET_ADMIN)";
  throw ConfigError("'" + joined(shown) + "' failed: " + (out.empty() ? "no output" : out) + hint);
}

}  // namespace

NetnsPlan plan_netns(int net_id, int nodes) {
  if (net_id < 0 || net_id > 255) throw ConfigError("--net-id must be 0 .. 255");
  if (nodes < 1 || nodes > kMaxNetnsNodes)
    throw ConfigError("--netns supports 1 .. " + std::to_string(kMaxNetnsNodes) + " nodes");
  NetnsPlan p;
  p.net_id = net_id;
  const std::string c = std::to_string(net_id);
  p.bridge = "hpcl-br" + c;
  p.host_address = "198.18." + c + ".1";
  for (int k = 1; k <= nodes; ++k) {
    NetnsNode n;
    n.netns =
        net_id == 0 ? "hpcless-n" + std::to_string(k) : "hpcless-" + c + "-n" + std::to_string(k);
    n.veth = "hpcl" + c + "-v" + std::to_string(k);
    n.address = "198.18." + c + "." + std::to_string(k + 1);
    p.nodes.push_back(std::move(n));
  }
  return p;
}

bool netns_exists(const std::string& name) {
  struct stat st {};
  return ::stat(("/var/run/netns/" + name).c_str(), &st) == 0;
}

bool link_exists(const std::string& name) {
  struct stat st {};
  return ::stat(("/sys/class/net/" + name).c_str(), &st) == 0;
}

std::string netns_conflict(const NetnsPlan& plan) {
  if (link_exists(plan.bridge)) return "bridge " + plan.bridge;
  for (const auto& n : plan.nodes) {
    if (netns_exists(n.netns)) return "network namespace " + n.netns;
    if (link_exists(n.veth)) return "veth " + n.veth;
  }
  return {};
}

void create_bridge(const NetnsPlan& plan) {
  if (link_exists(plan.bridge))
    throw ConfigError("network id " + std::to_string(plan.net_id) + " is in use: bridge " +
                      plan.bridge + " exists (another cluster? use --net-id or cluster down)");
  ip_or_throw({"link", "add", plan.bridge, "type", "bridge"});
  ip_or_throw({"addr", "add", plan.host_address + "/24", "dev", plan.bridge});
  ip_or_throw({"link", "set", plan.bridge, "up"});
}

void create_node_netns(const NetnsPlan& plan, const NetnsNode& node) {
  if (netns_exists(node.netns))
    throw ConfigError("network namespace " + node.netns +
                      " exists already (another cluster? use --net-id or cluster down)");
  ip_or_throw({"netns", "add", node.netns});
  ip_or_throw(
      {"link", "add", node.veth, "type", "veth", "peer", "name", "eth0", "netns", node.netns});
  ip_or_throw({"link", "set", node.veth, "master", plan.bridge});
  ip_or_throw({"link", "set", node.veth, "up"});
  ip_or_throw({"-n", node.netns, "addr", "add", node.address + "/24", "dev", "eth0"});
  ip_or_throw({"-n", node.netns, "link", "set", "eth0", "up"});
  ip_or_throw({"-n", node.netns, "link", "set", "lo", "up"});
}

std::vector<std::string> remove_netns(const NetnsPlan& plan) {
  std::vector<std::string> problems;
  const auto remove = [&](bool exists, const std::vector<std::string>& args,
                          const std::string& what, auto still_there) {
    if (!exists) return;
    const CommandResult r = ip(args);
    if (still_there()) {
      std::string out = r.output;
      while (!out.empty() && out.back() == '\n') out.pop_back();
      problems.push_back(what + ": " + (out.empty() ? "still present" : out));
    }
  };
  for (const auto& n : plan.nodes) {
    // Deleting the namespace destroys eth0 and with it the host-side veth.
    remove(netns_exists(n.netns), {"netns", "del", n.netns}, "namespace " + n.netns,
           [&] { return netns_exists(n.netns); });
    remove(link_exists(n.veth), {"link", "del", n.veth}, "veth " + n.veth,
           [&] { return link_exists(n.veth); });
  }
  remove(link_exists(plan.bridge), {"link", "del", plan.bridge}, "bridge " + plan.bridge,
         [&] { return link_exists(plan.bridge); });
  return problems;
}

}  // namespace hpcless::cli
