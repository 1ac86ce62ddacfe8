// An error the HTTP layer turns into {"error": message} with the given status code.
#pragma once

#include <string>

#include "comm/base/error.hpp"

namespace hpcless::manager {

class ApiError : public Error {
 public:
  ApiError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

}  // namespace hpcless::manager
