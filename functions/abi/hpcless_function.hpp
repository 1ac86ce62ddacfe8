// Thin C++ layer over the C ABI for function authors.
//
//   #include "functions/abi/hpcless_function.hpp"
//   int echo(hpcless::fn::Context& ctx, std::span<const std::byte> in, hpcless::fn::Output& out) {
//     return out.append(in) ? 0 : ctx.fail("output too large");
//   }
//   HPCLESS_PACKAGE("my-package", HPCLESS_FUNCTION(echo))
//
// Storage and phases (benchmarks):
//   int copy(Context& ctx, std::span<const std::byte> in, Output& out) {
//     std::string data;
//     { Phase p(ctx, HPCLESS_PHASE_DOWNLOAD); data = ctx.get_object(ctx.bucket(), "in/a"); }
//     { Phase p(ctx, HPCLESS_PHASE_UPLOAD); ctx.put_object(ctx.bucket(), "out/a", data); }
//     return out.append("done") ? 0 : ctx.fail("output too large");
//   }
// The storage calls throw std::runtime_error with the host's message on failure (also when the
// executor has no storage configured); the wrapper turns an escaping exception into a failed
// invocation with that message.
#pragma once

#include <cstddef>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "functions/abi/hpcless_function.h"

namespace hpcless::fn {

class Output {
 public:
  explicit Output(hpcless_output* raw, const hpcless_host_api* api) : raw_(raw), api_(api) {}
  bool append(std::span<const std::byte> bytes) {
    return api_->output_append(raw_, bytes.data(), bytes.size()) == 0;
  }
  bool append(std::string_view text) {
    return api_->output_append(raw_, text.data(), text.size()) == 0;
  }
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

  // ---- storage (see hpcless_function.h); every call throws std::runtime_error on failure ----
  // The run's benchmark bucket.
  std::string bucket() const;
  // A whole object; throws when it does not exist (the message names bucket and key).
  std::string get_object(std::string_view bucket, std::string_view key);
  void put_object(std::string_view bucket, std::string_view key, std::string_view data);
  // Key-value strings: nullopt for a missing key; kv_del returns whether the key existed.
  std::optional<std::string> kv_get(std::string_view key);
  void kv_set(std::string_view key, std::string_view value);
  bool kv_del(std::string_view key);
  // Hashes: one key holding field -> value pairs (e.g. a shopping cart).
  void kv_hset(std::string_view key, std::string_view field, std::string_view value);
  std::optional<std::string> kv_hget(std::string_view key, std::string_view field);
  std::vector<std::pair<std::string, std::string>> kv_hgetall(std::string_view key);
  uint32_t worker_id() const { return raw_->worker_id; }
  uint64_t request_id() const { return raw_->request_id; }
  int rank() const { return raw_->rank; }
  int size() const { return raw_->size; }
  hpcless_context* raw() { return raw_; }

 private:
  hpcless_context* raw_;
};

// Times one phase for the benchmark record: begin on construction, end on destruction (also when
// an exception leaves the scope). Phases accumulate if a function enters one several times.
class Phase {
 public:
  Phase(Context& ctx, hpcless_phase phase) : ctx_(ctx), phase_(phase) { ctx_.begin(phase_); }
  ~Phase() { ctx_.end(phase_); }
  Phase(const Phase&) = delete;
  Phase& operator=(const Phase&) = delete;

 private:
  Context& ctx_;
  hpcless_phase phase_;
};

namespace detail {

// Sinks never let an exception cross the C boundary: a failed append aborts the call instead.
inline int append_sink(void* user, const void* data, size_t len) noexcept {
  try {
    static_cast<std::string*>(user)->append(static_cast<const char*>(data), len);
    return 0;
  } catch (...) {
    return -1;
  }
}

inline int pair_sink(void* user, const char* field, size_t field_len, const void* value,
                     size_t value_len) noexcept {
  try {
    static_cast<std::vector<std::pair<std::string, std::string>>*>(user)->emplace_back(
        std::string(field, field_len), std::string(static_cast<const char*>(value), value_len));
    return 0;
  } catch (...) {
    return -1;
  }
}

inline const hpcless_host_api& storage_api(hpcless_context* ctx) {
  if (!HPCLESS_API_HAS(ctx->api, kv_hgetall))
    throw std::runtime_error(
        "this executor provides no storage API (it is older than the package)");
  return *ctx->api;
}

[[noreturn]] inline void storage_failed(hpcless_context* ctx, const char* what) {
  throw std::runtime_error(std::string(what) + ": " + ctx->api->storage_error(ctx));
}

}  // namespace detail

inline std::string Context::bucket() const {
  const auto& api = detail::storage_api(raw_);
  std::string b;
  if (api.storage_bucket(raw_, &detail::append_sink, &b) != HPCLESS_STORAGE_OK)
    detail::storage_failed(raw_, "bucket");
  return b;
}

inline std::string Context::get_object(std::string_view bucket, std::string_view key) {
  const auto& api = detail::storage_api(raw_);
  std::string data;
  const int rc = api.object_get(raw_, bucket.data(), bucket.size(), key.data(), key.size(),
                                &detail::append_sink, &data);
  if (rc == HPCLESS_STORAGE_NOT_FOUND)
    throw std::runtime_error("get_object: no object '" + std::string(key) + "' in bucket '" +
                             std::string(bucket) + "'");
  if (rc != HPCLESS_STORAGE_OK) detail::storage_failed(raw_, "get_object");
  return data;
}

inline void Context::put_object(std::string_view bucket, std::string_view key,
                                std::string_view data) {
  const auto& api = detail::storage_api(raw_);
  if (api.object_put(raw_, bucket.data(), bucket.size(), key.data(), key.size(), data.data(),
                     data.size()) != HPCLESS_STORAGE_OK)
    detail::storage_failed(raw_, "put_object");
}

inline std::optional<std::string> Context::kv_get(std::string_view key) {
  const auto& api = detail::storage_api(raw_);
  std::string v;
  const int rc = api.kv_get(raw_, key.data(), key.size(), &detail::append_sink, &v);
  if (rc == HPCLESS_STORAGE_NOT_FOUND) return std::nullopt;
  if (rc != HPCLESS_STORAGE_OK) detail::storage_failed(raw_, "kv_get");
  return v;
}

inline void Context::kv_set(std::string_view key, std::string_view value) {
  const auto& api = detail::storage_api(raw_);
  if (api.kv_set(raw_, key.data(), key.size(), value.data(), value.size()) != HPCLESS_STORAGE_OK)
    detail::storage_failed(raw_, "kv_set");
}

inline bool Context::kv_del(std::string_view key) {
  const auto& api = detail::storage_api(raw_);
  const int rc = api.kv_del(raw_, key.data(), key.size());
  if (rc == HPCLESS_STORAGE_NOT_FOUND) return false;
  if (rc != HPCLESS_STORAGE_OK) detail::storage_failed(raw_, "kv_del");
  return true;
}

inline void Context::kv_hset(std::string_view key, std::string_view field, std::string_view value) {
  const auto& api = detail::storage_api(raw_);
  if (api.kv_hset(raw_, key.data(), key.size(), field.data(), field.size(), value.data(),
                  value.size()) != HPCLESS_STORAGE_OK)
    detail::storage_failed(raw_, "kv_hset");
}

inline std::optional<std::string> Context::kv_hget(std::string_view key, std::string_view field) {
  const auto& api = detail::storage_api(raw_);
  std::string v;
  const int rc = api.kv_hget(raw_, key.data(), key.size(), field.data(), field.size(),
                             &detail::append_sink, &v);
  if (rc == HPCLESS_STORAGE_NOT_FOUND) return std::nullopt;
  if (rc != HPCLESS_STORAGE_OK) detail::storage_failed(raw_, "kv_hget");
  return v;
}

inline std::vector<std::pair<std::string, std::string>> Context::kv_hgetall(std::string_view key) {
  const auto& api = detail::storage_api(raw_);
  std::vector<std::pair<std::string, std::string>> pairs;
  if (api.kv_hgetall(raw_, key.data(), key.size(), &detail::pair_sink, &pairs) !=
      HPCLESS_STORAGE_OK)
    detail::storage_failed(raw_, "kv_hgetall");
  return pairs;
}

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

#define HPCLESS_FUNCTION(name) \
  hpcless_entry { #name, &::hpcless::fn::adapt < &name> }
#define HPCLESS_NAMED_FUNCTION(str, name) \
  hpcless_entry { str, &::hpcless::fn::adapt<&name> }

#define HPCLESS_PACKAGE(package_name, ...)                                                       \
  extern "C" __attribute__((visibility("default"))) const hpcless_manifest* hpcless_manifest_v1( \
      void) {                                                                                    \
    static const hpcless_entry entries[] = {__VA_ARGS__};                                        \
    static const hpcless_manifest manifest = {                                                   \
        HPCLESS_ABI_VERSION, sizeof(entries) / sizeof(entries[0]), entries, package_name};       \
    return &manifest;                                                                            \
  }
