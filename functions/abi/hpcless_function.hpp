// Thin C++ layer over the C ABI for function authors.
//
//   #include "functions/abi/hpcless_function.hpp"
//   int echo(hpcless::fn::Context& ctx, std::span<const std::byte> in, hpcless::fn::Output& out) {
//     return out.append(in) ? 0 : ctx.fail("output too large");
//   }
//   HPCLESS_PACKAGE("my-package", HPCLESS_FUNCTION(echo))
//
// Functions must not let exceptions escape; the wrapper turns any escaping exception into a
// failed invocation with the exception's message.
#pragma once

#include <cstddef>
#include <cstring>
#include <exception>
#include <span>
#include <string_view>

#include "functions/abi/hpcless_function.h"

namespace hpcless::fn {

class Output {
 public:
  explicit Output(hpcless_output* raw, const hpcless_host_api* api) : raw_(raw), api_(api) {}
  bool append(std::span<const std::byte> bytes) {
    return api_->output_append(raw_, bytes.data(), bytes.size()) == 0;
  }
  bool append(std::string_view text) { return api_->output_append(raw_, text.data(), text.size()) == 0; }
  // Returns a writable span of `n` bytes at the end of the output (nullptr-backed span on failure);
  // call commit(n) after writing.
  std::span<std::byte> reserve(size_t n) {
    if (api_->output_reserve(raw_, n) != 0) return {};
    return {reinterpret_cast<std::byte*>(raw_->data + raw_->size), n};
  }
  void commit(size_t n) { raw_->size += n; }
  size_t size() const { return raw_->size; }

 private:
  hpcless_output* raw_;
  const hpcless_host_api* api_;
};

class Context {
 public:
  explicit Context(hpcless_context* raw) : raw_(raw) {}
  int fail(const char* message) {
    raw_->api->set_error(raw_, message);
    return 1;
  }
  void begin(hpcless_phase p) { raw_->api->phase_begin(raw_, p); }
  void end(hpcless_phase p) { raw_->api->phase_end(raw_, p); }
  uint64_t now_ns() const { return raw_->api->now_ns(); }
  uint32_t worker_id() const { return raw_->worker_id; }
  uint64_t request_id() const { return raw_->request_id; }
  int rank() const { return raw_->rank; }
  int size() const { return raw_->size; }
  hpcless_context* raw() { return raw_; }

 private:
  hpcless_context* raw_;
};

using Function = int (*)(Context&, std::span<const std::byte>, Output&);

template <Function F>
int adapt(hpcless_context* ctx, const uint8_t* input, size_t len, hpcless_output* out) noexcept {
  Context c(ctx);
  Output o(out, ctx->api);
  try {
    return F(c, {reinterpret_cast<const std::byte*>(input), len}, o);
  } catch (const std::exception& e) {
    return c.fail(e.what());
  } catch (...) {
    return c.fail("function threw a non-standard exception");
  }
}

}  // namespace hpcless::fn

#define HPCLESS_FUNCTION(name) hpcless_entry{#name, &::hpcless::fn::adapt<&name>}
#define HPCLESS_NAMED_FUNCTION(str, name) hpcless_entry{str, &::hpcless::fn::adapt<&name>}

#define HPCLESS_PACKAGE(package_name, ...)                                                   \
  extern "C" __attribute__((visibility("default"))) const hpcless_manifest*                   \
  hpcless_manifest_v1(void) {                                                                \
    static const hpcless_entry entries[] = {__VA_ARGS__};                                    \
    static const hpcless_manifest manifest = {HPCLESS_ABI_VERSION,                           \
                                              sizeof(entries) / sizeof(entries[0]), entries, \
                                              package_name};                                 \
    return &manifest;                                                                        \
  }
