#include "executor/worker/function_host.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>

#include "comm/base/clock.hpp"

namespace hpcless::executor {

namespace {

// Entry points that have started in this process. Consulted only when a thread meets an entry
// point it has not seen before; the per-thread list answers every later call without a lock.
struct ProcessRuns {
  std::mutex mu;
  std::vector<hpcless_entry_fn> started;
};

ProcessRuns& process_runs() {
  static ProcessRuns runs;
  return runs;
}

}  // namespace

const hpcless_host_api FunctionHost::kApi = {
    HPCLESS_ABI_VERSION,
    sizeof(hpcless_host_api),
    &FunctionHost::output_reserve,
    &FunctionHost::output_append,
    &FunctionHost::set_error,
    &FunctionHost::phase_begin,
    &FunctionHost::phase_end,
    &FunctionHost::now,
    &StorageServices::abi_error,
    &StorageServices::abi_bucket,
    &StorageServices::abi_object_get,
    &StorageServices::abi_object_put,
    &StorageServices::abi_kv_get,
    &StorageServices::abi_kv_set,
    &StorageServices::abi_kv_del,
    &StorageServices::abi_kv_hset,
    &StorageServices::abi_kv_hget,
    &StorageServices::abi_kv_hgetall,
    &FunctionHost::group_info,
};

FunctionHost::FunctionHost(uint32_t worker_id, uint32_t max_output,
                           std::shared_ptr<const storage::StorageConfig> storage)
    : max_output_(max_output),
      buf_(new uint8_t[64 * 1024]),
      cap_(64 * 1024),
      storage_(std::move(storage)) {
  ctx_.api = &kApi;
  ctx_.worker_id = worker_id;
  ctx_.rank = 0;
  ctx_.size = 1;
  ctx_.host = this;
  out_.host = this;
  warm_.reserve(64);
}

bool FunctionHost::first_run_in_process(hpcless_entry_fn fn) {
  if (std::find(warm_.begin(), warm_.end(), fn) != warm_.end()) return false;
  bool first = false;
  {
    auto& runs = process_runs();
    std::lock_guard lock(runs.mu);
    if (std::find(runs.started.begin(), runs.started.end(), fn) == runs.started.end()) {
      runs.started.push_back(fn);
      first = true;
    }
  }
  warm_.push_back(fn);
  return first;
}

int FunctionHost::run(hpcless_entry_fn fn, uint32_t function_id, uint64_t request_id,
                      std::span<const std::byte> input, const protocol::GroupBlock* group) {
  out_.data = buf_.get();
  out_.size = 0;
  out_.capacity = cap_;
  error_len_ = 0;
  for (auto& p : phase_ns_) p = 0;
  for (auto& p : phase_start_) p = 0;
  phases_used_ = false;
  // Decided before the function runs (SeBS marked cold runs after the handler had returned).
  cold_ = first_run_in_process(fn);
  ctx_.function_id = function_id;
  ctx_.request_id = request_id;
  group_ = group;
  ctx_.rank = group ? static_cast<int32_t>(group->rank) : 0;
  ctx_.size = group ? static_cast<int32_t>(group->size) : 1;
  const int rc = fn(&ctx_, reinterpret_cast<const uint8_t*>(input.data()), input.size(), &out_);
  // The block belongs to the caller's receive buffer: never let a later call see it.
  group_ = nullptr;
  ctx_.rank = 0;
  ctx_.size = 1;
  return rc;
}

int FunctionHost::group_info(hpcless_context* ctx, hpcless_group_info* info) {
  auto* self = static_cast<FunctionHost*>(ctx->host);
  const protocol::GroupBlock* g = self->group_;
  if (g == nullptr || info == nullptr) return HPCLESS_GROUP_NONE;
  info->rank = static_cast<int32_t>(g->rank);
  info->size = static_cast<int32_t>(g->size);
  info->group = g->group.c_str();
  info->rendezvous = g->rendezvous.c_str();
  info->channel = g->channel.c_str();
  info->listen_host = g->listen_host.c_str();
  info->timeout_ms = g->timeout_ms;
  info->message_bytes = g->message_bytes;
  return HPCLESS_GROUP_OK;
}

int FunctionHost::output_reserve(hpcless_output* out, size_t extra) {
  auto* self = static_cast<FunctionHost*>(out->host);
  if (extra > self->max_output_ || out->size > self->max_output_ - extra) return -1;
  const size_t need = out->size + extra;
  if (need <= self->cap_) return 0;
  size_t cap = self->cap_ * 2;
  while (cap < need) cap *= 2;
  if (cap > self->max_output_) cap = self->max_output_;
  // Uninitialised on purpose: the function overwrites what it uses.
  std::unique_ptr<uint8_t[]> bigger(new (std::nothrow) uint8_t[cap]);
  if (!bigger) return -1;
  std::memcpy(bigger.get(), self->buf_.get(), out->size);
  self->buf_ = std::move(bigger);
  self->cap_ = cap;
  out->data = self->buf_.get();
  out->capacity = cap;
  return 0;
}

int FunctionHost::output_append(hpcless_output* out, const void* data, size_t len) {
  if (len == 0) return 0;
  if (len > out->capacity - out->size && output_reserve(out, len) != 0) return -1;
  std::memcpy(out->data + out->size, data, len);
  out->size += len;
  return 0;
}

void FunctionHost::set_error(hpcless_context* ctx, const char* message) {
  auto* self = static_cast<FunctionHost*>(ctx->host);
  if (message == nullptr) message = "";
  self->error_len_ = strnlen(message, sizeof(self->error_));
  std::memcpy(self->error_, message, self->error_len_);
}

void FunctionHost::phase_begin(hpcless_context* ctx, hpcless_phase phase) {
  if (phase < 0 || phase >= HPCLESS_PHASE_COUNT) return;
  auto* self = static_cast<FunctionHost*>(ctx->host);
  self->phase_start_[phase] = now_ns();
  self->phases_used_ = true;
}

void FunctionHost::phase_end(hpcless_context* ctx, hpcless_phase phase) {
  if (phase < 0 || phase >= HPCLESS_PHASE_COUNT) return;
  auto* self = static_cast<FunctionHost*>(ctx->host);
  if (self->phase_start_[phase] != 0) {
    self->phase_ns_[phase] += now_ns() - self->phase_start_[phase];
    self->phase_start_[phase] = 0;  // an unmatched second end adds nothing
  }
}

uint64_t FunctionHost::now(void) { return now_ns(); }

StorageServices& StorageServices::of(hpcless_context* ctx) {
  return static_cast<FunctionHost*>(ctx->host)->storage_;
}

}  // namespace hpcless::executor
