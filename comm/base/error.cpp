#include "comm/base/error.hpp"

#include <cerrno>
#include <cstring>

namespace hpcless {

namespace {
std::string describe(std::string_view what, int err) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  return msg;
}
}  // namespace

SystemError::SystemError(std::string_view what, int err) : Error(describe(what, err)), err_(err) {}

void throw_system_error(std::string_view what, int err) { throw SystemError(what, err); }
void throw_system_error(std::string_view what) { throw SystemError(what, errno); }

namespace detail {
void check_failed(const char* cond, std::string_view msg, const char* file, int line) {
  std::string text(msg);
  text += " (check '";
  text += cond;
  text += "' failed at ";
  text += file;
  text += ":";
  text += std::to_string(line);
  text += ")";
  throw Error(text);
}
}  // namespace detail

}  // namespace hpcless
