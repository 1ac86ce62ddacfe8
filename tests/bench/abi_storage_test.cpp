// The C++ wrapper's storage calls against host API tables of different ages: an executor built
// before the storage members existed (shorter struct_size) gives a clear error, not a crash.
#include <gtest/gtest.h>

#include <cstddef>
#include <string>

#include "functions/abi/hpcless_function.hpp"

namespace {

using hpcless::fn::Context;

TEST(AbiStorage, OldHostTableHasNoStorage) {
  hpcless_host_api api{};
  api.abi_version = HPCLESS_ABI_VERSION;
  api.struct_size = offsetof(hpcless_host_api, storage_error);  // a first-release executor
  EXPECT_TRUE(HPCLESS_API_HAS(&api, now_ns));
  EXPECT_FALSE(HPCLESS_API_HAS(&api, storage_error));
  EXPECT_FALSE(HPCLESS_API_HAS(&api, kv_hgetall));
  hpcless_context raw{};
  raw.api = &api;
  Context ctx(&raw);
  try {
    ctx.get_object("b", "k");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no storage API"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ctx.kv_set("k", "v"), std::runtime_error);
  EXPECT_THROW((void)ctx.bucket(), std::runtime_error);
}

TEST(AbiStorage, FullTableIsRecognised) {
  hpcless_host_api api{};
  api.struct_size = sizeof(hpcless_host_api);
  EXPECT_TRUE(HPCLESS_API_HAS(&api, kv_hgetall));
  EXPECT_TRUE(HPCLESS_API_HAS(&api, object_get));
}

// Phase is RAII: begin on construction, end on destruction, also when an exception leaves.
int begins = 0, ends = 0;
void count_begin(hpcless_context*, hpcless_phase) { ++begins; }
void count_end(hpcless_context*, hpcless_phase) { ++ends; }

TEST(AbiStorage, PhaseEndsWhenAnExceptionLeavesTheScope) {
  hpcless_host_api api{};
  api.struct_size = sizeof(api);
  api.phase_begin = &count_begin;
  api.phase_end = &count_end;
  hpcless_context raw{};
  raw.api = &api;
  Context ctx(&raw);
  try {
    hpcless::fn::Phase p(ctx, HPCLESS_PHASE_DOWNLOAD);
    throw std::runtime_error("x");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(begins, 1);
  EXPECT_EQ(ends, 1);
}

}  // namespace
