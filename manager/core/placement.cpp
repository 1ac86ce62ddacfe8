#include "manager/core/placement.hpp"

#include <algorithm>

namespace hpcless::manager {

namespace {

// How many cores of this node the request may take: its free cores, fewer if its free memory
// cannot back them (share of k cores = ceil(k * M / C) <= free  <=>  k * M <= free * C).
size_t usable_cores(const NodeCapacity& n, const PlacementRequest& req) {
  size_t cap = n.free_cores.size();
  if (req.memory_mb == 0 || !n.free_memory_mb) return cap;
  const unsigned __int128 by_memory = static_cast<unsigned __int128>(*n.free_memory_mb) *
                                      static_cast<unsigned>(req.cores) / req.memory_mb;
  return by_memory < cap ? static_cast<size_t>(by_memory) : cap;
}

std::string plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string refusal_reason(const PlacementRequest& req, const std::vector<NodeCapacity>& nodes,
                           size_t usable) {
  size_t free = 0;
  for (const auto& n : nodes) free += n.free_cores.size();
  std::string r = "need " + plural(static_cast<size_t>(req.cores), "core") + ", " +
                  std::to_string(free) + " free on " + plural(nodes.size(), "alive node");
  if (free >= static_cast<size_t>(req.cores))
    r += ", but free memory backs only " + std::to_string(usable) + " of them at " +
         std::to_string(req.memory_mb) + " MB for " +
         plural(static_cast<size_t>(req.cores), "core");
  return r;
}

// Splits req.memory_mb over the allocations in proportion to their cores; the shares add up to
// exactly req.memory_mb (largest remainder, ties to the earlier node).
void split_memory(const PlacementRequest& req, std::vector<PlacedAllocation>& allocs) {
  if (req.memory_mb == 0) return;
  const auto total = static_cast<unsigned __int128>(req.memory_mb);
  const auto cores = static_cast<unsigned __int128>(req.cores);
  std::vector<std::pair<uint64_t, size_t>> remainders;  // (remainder, position)
  uint64_t assigned = 0;
  for (size_t i = 0; i < allocs.size(); ++i) {
    const unsigned __int128 exact = total * allocs[i].cores.size();
    allocs[i].memory_mb = static_cast<uint64_t>(exact / cores);
    assigned += allocs[i].memory_mb;
    remainders.emplace_back(static_cast<uint64_t>(exact % cores), i);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; assigned < req.memory_mb && k < remainders.size(); ++k, ++assigned)
    allocs[remainders[k].second].memory_mb += 1;
}

}  // namespace

Placement place(const PlacementRequest& req, const std::vector<NodeCapacity>& nodes) {
  Placement out;
  const size_t want = req.cores > 0 ? static_cast<size_t>(req.cores) : 0;
  std::vector<size_t> cap(nodes.size());
  size_t usable = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    cap[i] = usable_cores(nodes[i], req);
    usable += cap[i];
  }
  if (want == 0 || usable < want) {
    out.refusal = refusal_reason(req, nodes, usable);
    return out;
  }

  std::vector<size_t> take(nodes.size(), 0);
  if (req.policy == Policy::kFirstFit) {
    size_t left = want;
    for (size_t i = 0; i < nodes.size() && left > 0; ++i) {
      take[i] = std::min(cap[i], left);
      left -= take[i];
    }
  } else {
    for (size_t k = 0; k < want; ++k) {
      size_t best = nodes.size();
      for (size_t i = 0; i < nodes.size(); ++i) {
        if (take[i] >= cap[i]) continue;
        if (best == nodes.size() ||
            nodes[i].free_cores.size() - take[i] > nodes[best].free_cores.size() - take[best])
          best = i;
      }
      ++take[best];  // usable >= want guarantees a candidate
    }
  }

  for (size_t i = 0; i < nodes.size(); ++i) {
    if (take[i] == 0) continue;
    PlacedAllocation a;
    a.index = nodes[i].index;
    a.cores.assign(nodes[i].free_cores.begin(),
                   nodes[i].free_cores.begin() + static_cast<std::ptrdiff_t>(take[i]));
    out.allocations.push_back(std::move(a));
  }
  split_memory(req, out.allocations);
  return out;
}

}  // namespace hpcless::manager
