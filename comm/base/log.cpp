#include "comm/base/log.hpp"

#include <time.h>

#include <atomic>
#include <cstdio>
#include <string>

namespace hpcless::log {

namespace {
std::string& program() {
  static std::string p = "hpcless";
  return p;
}
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
const char* name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
  }
  return "?";
}
}  // namespace

void set_program(std::string_view n) { program() = std::string(n); }
void set_level(Level level) { g_level.store(static_cast<int>(level)); }

void write(Level level, std::string_view message) {
  if (static_cast<int>(level) < g_level.load()) return;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &t);
  std::fprintf(stderr, "%s.%03ldZ %s %s: %.*s\n", stamp, ts.tv_nsec / 1'000'000, program().c_str(),
               name(level), static_cast<int>(message.size()), message.data());
}

}  // namespace hpcless::log
