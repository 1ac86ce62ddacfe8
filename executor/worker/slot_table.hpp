// What each worker thread is doing, in memory shared between the worker process and the daemon.
// When the worker process dies, the daemon reads it to tell each affected client which request
// was running (and to avoid writing into a connection the worker was in the middle of replying on).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "comm/base/fd.hpp"

namespace hpcless::executor {

enum class SlotState : uint32_t { kIdle = 0, kRunning = 1, kSending = 2 };

struct alignas(64) WorkerSlot {
  std::atomic<uint32_t> state{0};
  std::atomic<uint32_t> function_id{0};
  std::atomic<uint64_t> conn_id{0};
  std::atomic<uint64_t> request_id{0};
  char function_name[40] = {};  // written by the owning thread before state becomes kRunning
  // Accounting, written only by the owning thread (relaxed load + store, no RMW on the hot path)
  // and read by the daemon for the lease's usage report. Hot-polling time is what remains of the
  // thread's wall time after busy and idle.
  std::atomic<uint64_t> busy_ns{0};         // inside functions
  std::atomic<uint64_t> idle_ns{0};         // blocked in epoll_wait (warm, nothing to do)
  std::atomic<uint64_t> invocations{0};
  std::atomic<uint64_t> errors{0};          // invocations answered with a non-ok status
};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared-memory atomics must be lock-free");

inline constexpr size_t kMaxWorkerThreads = 256;

struct SlotTable {
  WorkerSlot slots[kMaxWorkerThreads];
};

// A SlotTable in a memfd mapping. The daemon creates it; the worker attaches to the inherited fd.
class SharedSlots {
 public:
  static SharedSlots create();
  static SharedSlots attach(int fd);
  SharedSlots(SharedSlots&& o) noexcept;
  SharedSlots& operator=(SharedSlots&&) = delete;
  ~SharedSlots();

  SlotTable& table() noexcept { return *table_; }
  const SlotTable& table() const noexcept { return *table_; }
  int fd() const noexcept { return fd_.get(); }
  void clear() noexcept;

 private:
  SharedSlots() = default;
  UniqueFd fd_;
  SlotTable* table_ = nullptr;
};

}  // namespace hpcless::executor
