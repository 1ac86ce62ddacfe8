// Runs one function invocation against the C ABI: builds the context, owns the growable output
// sink and the error message, times the phases, decides whether the invocation is cold and
// offers the run's storage (StorageServices) to the function.
//
// One FunctionHost per worker thread; its output buffer grows to the largest output seen and is
// reused, so steady-state invocations allocate nothing (storage calls do allocate: they are I/O).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "comm/protocol/messages.hpp"
#include "executor/worker/storage_services.hpp"
#include "functions/abi/hpcless_function.h"

namespace hpcless::executor {

class FunctionHost {
 public:
  // `storage` may be null: storage calls then fail with a clear message.
  FunctionHost(uint32_t worker_id, uint32_t max_output,
               std::shared_ptr<const storage::StorageConfig> storage = nullptr);
  FunctionHost(const FunctionHost&) = delete;
  FunctionHost& operator=(const FunctionHost&) = delete;

  // Calls `fn`; returns its return code (0 = success). Whether the call is cold is decided
  // before `fn` runs. `group` (borrowed for the call) makes it a rank of a group invocation:
  // the function sees it through the host API's group_info and ctx->rank/size.
  int run(hpcless_entry_fn fn, uint32_t function_id, uint64_t request_id,
          std::span<const std::byte> input, const protocol::GroupBlock* group = nullptr);
  std::span<const std::byte> output() const noexcept {
    return {reinterpret_cast<const std::byte*>(out_.data), out_.size};
  }
  std::string_view error() const noexcept { return {error_, error_len_}; }
  uint64_t phase_ns(hpcless_phase p) const noexcept { return phase_ns_[p]; }
  // Whether the last invocation timed any phase (then its phase block goes on the wire).
  bool phases_used() const noexcept { return phases_used_; }
  // Whether the last invocation was the first run of its entry point in this worker process
  // (over all worker threads). Entry points stay loaded for the life of the process, so their
  // address identifies them.
  bool cold() const noexcept { return cold_; }

 private:
  friend class StorageServices;  // reaches storage_ from a context
  bool first_run_in_process(hpcless_entry_fn fn);

  static int output_reserve(hpcless_output* out, size_t extra);
  static int output_append(hpcless_output* out, const void* data, size_t len);
  static void set_error(hpcless_context* ctx, const char* message);
  static void phase_begin(hpcless_context* ctx, hpcless_phase phase);
  static void phase_end(hpcless_context* ctx, hpcless_phase phase);
  static uint64_t now(void);
  static int group_info(hpcless_context* ctx, hpcless_group_info* info);
  static const hpcless_host_api kApi;

  uint32_t max_output_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_ = 0;
  hpcless_output out_{};
  hpcless_context ctx_{};
  char error_[1024];
  size_t error_len_ = 0;
  uint64_t phase_start_[HPCLESS_PHASE_COUNT] = {};
  uint64_t phase_ns_[HPCLESS_PHASE_COUNT] = {};
  bool phases_used_ = false;
  bool cold_ = false;
  std::vector<hpcless_entry_fn> warm_;  // entry points this thread knows are warm
  const protocol::GroupBlock* group_ = nullptr;  // during a group invocation only
  StorageServices storage_;
};

}  // namespace hpcless::executor
