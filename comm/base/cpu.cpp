#include "comm/base/cpu.hpp"

#include <pthread.h>
#include <sched.h>

#include <charconv>
#include <string>

#include "comm/base/error.hpp"

namespace hpcless {

namespace {
int parse_int(std::string_view s, std::string_view whole) {
  int v = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v >= CPU_SETSIZE)
    throw ConfigError("invalid core list '" + std::string(whole) +
                      "': expected numbers and ranges like 0-3,6");
  return v;
}
}  // namespace

std::vector<int> parse_core_list(std::string_view text) {
  std::vector<int> cores;
  if (text.empty()) throw ConfigError("empty core list");
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      cores.push_back(parse_int(item, text));
    } else {
      int lo = parse_int(item.substr(0, dash), text);
      int hi = parse_int(item.substr(dash + 1), text);
      if (hi < lo) throw ConfigError("invalid core range '" + std::string(item) + "'");
      for (int c = lo; c <= hi; ++c) cores.push_back(c);
    }
    pos = comma + 1;
  }
  return cores;
}

void pin_current_thread(int core) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (rc != 0) throw_system_error("cannot pin thread to core " + std::to_string(core), rc);
}

int usable_core_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return CPU_COUNT(&set);
}

}  // namespace hpcless
