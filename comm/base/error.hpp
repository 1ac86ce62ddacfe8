// The one exception hierarchy of hpcless.
//
// Exceptions are for set-up and for broken connections; hot paths return status values.
//   Error           base class; what() is an actionable, one-line message.
//   ConfigError     bad user input: an address, a flag, a config file. Fix the input.
//   SystemError     a system call failed; carries errno.
//   IoError         a connection is broken; the object that threw must be recreated.
//   ProtocolError   the peer sent bytes that do not follow the wire protocol.
//   TimeoutError    a deadline passed before the operation completed.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace hpcless {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ConfigError : public Error {
 public:
  using Error::Error;
};

class SystemError : public Error {
 public:
  SystemError(std::string_view what, int err);
  int error_code() const noexcept { return err_; }

 private:
  int err_;
};

class IoError : public Error {
 public:
  using Error::Error;
};

class ProtocolError : public Error {
 public:
  using Error::Error;
};

class TimeoutError : public Error {
 public:
  using Error::Error;
};

// Throws SystemError("<what>: <strerror(err)>").
[[noreturn]] void throw_system_error(std::string_view what, int err);
[[noreturn]] void throw_system_error(std::string_view what);  // uses errno

// Invariant check that stays on in Release builds (never use assert for these).
#define HPCLESS_CHECK(cond, msg)                                                        \
  do {                                                                                  \
    if (!(cond)) ::hpcless::detail::check_failed(#cond, (msg), __FILE__, __LINE__);     \
  } while (0)

namespace detail {
[[noreturn]] void check_failed(const char* cond, std::string_view msg, const char* file, int line);
}  // namespace detail

}  // namespace hpcless
