// Private to the Registry: one node's live state (its registration and who holds which core).
#pragma once

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "comm/base/clock.hpp"
#include "manager/core/registry.hpp"

namespace hpcless::manager {

inline int64_t mono_ms() { return static_cast<int64_t>(now_ns() / 1'000'000); }

struct Registry::NodeEntry {
  Node node;
  std::vector<std::string> owner;  // per position in node.cores: the lease holding it, "" = free
  std::unordered_map<int, size_t> pos;  // core number -> position
  size_t free = 0;
  uint64_t used_memory_mb = 0;
  int64_t last_heartbeat_mono_ms = 0;  // CLOCK_MONOTONIC: immune to wall-clock steps
  std::set<std::string> leases;        // active leases with an allocation here

  bool alive() const { return node.state == NodeState::kAlive; }

  // Installs a (new) core list; owners of cores in both lists are kept.
  void set_cores(const std::vector<int>& cores) {
    std::vector<std::string> new_owner(cores.size());
    std::unordered_map<int, size_t> new_pos;
    size_t new_free = 0;
    for (size_t i = 0; i < cores.size(); ++i) {
      new_pos[cores[i]] = i;
      auto it = pos.find(cores[i]);
      if (it != pos.end()) new_owner[i] = std::move(owner[it->second]);
      if (new_owner[i].empty()) ++new_free;
    }
    node.cores = cores;
    owner = std::move(new_owner);
    pos = std::move(new_pos);
    free = new_free;
  }

  std::vector<int> free_cores() const {
    std::vector<int> out;
    out.reserve(free);
    for (size_t i = 0; i < owner.size(); ++i)
      if (owner[i].empty()) out.push_back(node.cores[i]);
    return out;
  }

  // False when the core does not exist or is held already.
  bool take(int core, const std::string& lease) {
    auto it = pos.find(core);
    if (it == pos.end() || !owner[it->second].empty()) return false;
    owner[it->second] = lease;
    --free;
    return true;
  }

  void give_back(int core, const std::string& lease) {
    auto it = pos.find(core);
    if (it == pos.end() || owner[it->second] != lease) return;
    owner[it->second].clear();
    ++free;
  }

  uint64_t free_memory_mb() const {
    return node.memory_mb > used_memory_mb ? node.memory_mb - used_memory_mb : 0;
  }
};

}  // namespace hpcless::manager
