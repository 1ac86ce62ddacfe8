// Minimal logging to stderr for daemons: "<UTC time> <program> <level>: message".
// Not for hot paths. Thread-safe (one fprintf per line).
#pragma once

#include <string_view>

namespace hpcless::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_program(std::string_view name);
void set_level(Level level);
void write(Level level, std::string_view message);

inline void info(std::string_view m) { write(Level::kInfo, m); }
inline void warn(std::string_view m) { write(Level::kWarn, m); }
inline void error(std::string_view m) { write(Level::kError, m); }
inline void debug(std::string_view m) { write(Level::kDebug, m); }

}  // namespace hpcless::log
