// The core package: functions that measure the system itself rather than a workload.
//   noop      returns nothing
//   echo      returns its input
//   sleep     sleeps for the number of microseconds given as decimal text, returns nothing
//   checksum  returns the CRC32 (zlib polynomial) of its input as 8 lowercase hex digits
#include <time.h>
#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

#include "functions/abi/hpcless_function.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;

int noop(Context&, std::span<const std::byte>, Output&) { return 0; }

int echo(Context& ctx, std::span<const std::byte> in, Output& out) {
  return out.append(in) ? 0 : ctx.fail("echo: output exceeds the payload limit");
}

int sleep_us(Context& ctx, std::span<const std::byte> in, Output&) {
  const char* first = reinterpret_cast<const char*>(in.data());
  const char* last = first + in.size();
  while (last > first && (last[-1] == '\n' || last[-1] == ' ')) --last;
  uint64_t us = 0;
  auto [p, ec] = std::from_chars(first, last, us);
  if (in.empty() || ec != std::errc() || p != last)
    return ctx.fail("sleep: input must be a decimal number of microseconds");
  if (us > 3'600'000'000ull) return ctx.fail("sleep: at most one hour (3600000000 us)");
  timespec ts{static_cast<time_t>(us / 1'000'000), static_cast<long>((us % 1'000'000) * 1000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  return 0;
}

int checksum(Context& ctx, std::span<const std::byte> in, Output& out) {
  ctx.begin(HPCLESS_PHASE_COMPUTE);
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large inputs in chunks.
  const auto* p = reinterpret_cast<const Bytef*>(in.data());
  size_t left = in.size();
  while (left > 0) {
    const uInt n = left > (1u << 30) ? (1u << 30) : static_cast<uInt>(left);
    crc = crc32(crc, p, n);
    p += n;
    left -= n;
  }
  ctx.end(HPCLESS_PHASE_COMPUTE);
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08lx", static_cast<unsigned long>(crc));
  return out.append(std::string_view(hex, 8)) ? 0 : ctx.fail("checksum: output limit");
}

}  // namespace

HPCLESS_PACKAGE("hpcless-core", HPCLESS_FUNCTION(noop), HPCLESS_FUNCTION(echo),
                HPCLESS_NAMED_FUNCTION("sleep", sleep_us), HPCLESS_FUNCTION(checksum))
