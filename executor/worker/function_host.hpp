// Runs one function invocation against the C ABI: builds the context, owns the growable output
// sink and the error message, and times the phases.
//
// One FunctionHost per worker thread; its output buffer grows to the largest output seen and is
// reused, so steady-state invocations allocate nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "functions/abi/hpcless_function.h"

namespace hpcless::executor {

class FunctionHost {
 public:
  FunctionHost(uint32_t worker_id, uint32_t max_output);
  FunctionHost(const FunctionHost&) = delete;
  FunctionHost& operator=(const FunctionHost&) = delete;

  // Calls `fn`; returns its return code (0 = success).
  int run(hpcless_entry_fn fn, uint32_t function_id, uint64_t request_id,
          std::span<const std::byte> input);
  std::span<const std::byte> output() const noexcept {
    return {reinterpret_cast<const std::byte*>(out_.data), out_.size};
  }
  std::string_view error() const noexcept { return {error_, error_len_}; }
  uint64_t phase_ns(hpcless_phase p) const noexcept { return phase_ns_[p]; }

 private:
  static int output_reserve(hpcless_output* out, size_t extra);
  static int output_append(hpcless_output* out, const void* data, size_t len);
  static void set_error(hpcless_context* ctx, const char* message);
  static void phase_begin(hpcless_context* ctx, hpcless_phase phase);
  static void phase_end(hpcless_context* ctx, hpcless_phase phase);
  static uint64_t now(void);
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
};

}  // namespace hpcless::executor
