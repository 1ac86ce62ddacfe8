// A lease's memory limit for its worker process: a cgroup v2 with memory.max where the cgroup
// tree is writable and has the memory controller, otherwise RLIMIT_AS.
//
// cgroup v2 limits resident memory and the kernel's OOM killer ends the worker (reported to the
// client as a crash and to the manager as a failed lease). RLIMIT_AS limits address space: the
// function's allocation fails and it ends with status "memory limit exceeded"; the limit is the
// lease's memory plus a fixed headroom for the worker's code, stacks and allocator.
// Thread safety: none needed (owned by the daemon thread). The cgroup is removed on destruction.
#pragma once

#include <cstdint>
#include <string>

namespace hpcless::executor {

class MemoryLimit {
 public:
  static constexpr uint64_t kAddressSpaceHeadroomMb = 256;

  MemoryLimit() = default;
  // memory_mb == 0: no limit.
  static MemoryLimit for_lease(const std::string& lease_id, uint64_t memory_mb);
  MemoryLimit(MemoryLimit&& o) noexcept;
  MemoryLimit& operator=(MemoryLimit&& o) noexcept;
  MemoryLimit(const MemoryLimit&) = delete;
  MemoryLimit& operator=(const MemoryLimit&) = delete;
  ~MemoryLimit();

  uint64_t rlimit_as_bytes() const noexcept { return rlimit_as_; }
  const std::string& cgroup_procs() const noexcept { return procs_; }
  // "none", "cgroup v2 memory.max=… at …", "RLIMIT_AS=… MiB", "none (sanitizer build)".
  const std::string& describe() const noexcept { return how_; }

 private:
  std::string dir_;    // the lease's cgroup directory, removed on destruction
  std::string procs_;  // dir_/cgroup.procs
  uint64_t rlimit_as_ = 0;
  std::string how_ = "none";
};

}  // namespace hpcless::executor
