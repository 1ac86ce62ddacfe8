// Placement: which free cores of which nodes a lease request gets (docs/manager-api.md).
//
//   first-fit  takes free cores node by node, in registration order.
//   spread     takes one core at a time from the node with the most free cores left
//              (ties: the node registered first).
//
// Memory: a lease's memory_mb is split over its allocations in proportion to their cores
// (largest remainder, so the shares add up exactly). A node with a memory size only takes as many
// cores as its free memory can back at the lease's memory per core. A request is placed whole
// or refused whole, never partially. Pure functions, no state: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "manager/core/model.hpp"

namespace hpcless::manager {

// One eligible node (alive, offers the transport, its walltime covers the lease).
struct NodeCapacity {
  size_t index = 0;                        // the caller's handle for the node
  std::vector<int> free_cores;             // in the node's registration order
  std::optional<uint64_t> free_memory_mb;  // nullopt: the node sets no memory limit
};

struct PlacementRequest {
  int cores = 1;
  uint64_t memory_mb = 0;  // 0: no memory limit
  Policy policy = Policy::kFirstFit;
};

struct PlacedAllocation {
  size_t index = 0;  // NodeCapacity::index
  std::vector<int> cores;
  uint64_t memory_mb = 0;
};

struct Placement {
  std::vector<PlacedAllocation> allocations;  // in the nodes' order; empty when refused
  std::string refusal;                        // why the request cannot be met; empty when placed
  bool ok() const noexcept { return refusal.empty(); }
};

// `nodes` in registration order.
Placement place(const PlacementRequest& req, const std::vector<NodeCapacity>& nodes);

}  // namespace hpcless::manager
