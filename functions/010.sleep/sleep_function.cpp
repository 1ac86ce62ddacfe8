// 010.sleep: sleeps for the requested time (SeBS 010.sleep, scaled from seconds to milliseconds).
// Input: {"sleep_ms": N}. Output: {"slept_ms": N, "measured_ns": T} (T: the compute phase).
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "comm/base/json.hpp"
#include "functions/abi/hpcless_function.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;
using hpcless::fn::Phase;

constexpr uint64_t kMaxSleepMs = 3'600'000;  // an hour: anything longer is a wrong input

int sleep_fn(Context& ctx, std::span<const std::byte> in, Output& out) {
  const auto j = nlohmann::json::parse(
      std::string_view(reinterpret_cast<const char*>(in.data()), in.size()), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("sleep_ms") ||
      !j["sleep_ms"].is_number_unsigned())
    return ctx.fail("010.sleep: input must be {\"sleep_ms\": <non-negative integer>}");
  const uint64_t ms = j["sleep_ms"].get<uint64_t>();
  if (ms > kMaxSleepMs) return ctx.fail("010.sleep: sleep_ms above one hour");
  uint64_t t0, t1;
  {
    Phase p(ctx, HPCLESS_PHASE_COMPUTE);
    t0 = ctx.now_ns();
    timespec req{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1'000'000)};
    timespec rem{};
    while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
    t1 = ctx.now_ns();
  }
  nlohmann::json r;
  r["slept_ms"] = ms;
  r["measured_ns"] = t1 - t0;
  return out.append(r.dump()) ? 0 : ctx.fail("010.sleep: output too large");
}

}  // namespace

HPCLESS_PACKAGE("bench-010-sleep", HPCLESS_NAMED_FUNCTION("sleep", sleep_fn))
