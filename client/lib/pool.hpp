// Connections to several workers, for invocations spread across them.
//
// Thread safety: a Pool is used by one thread at a time (like its connections).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client/lib/connection.hpp"

namespace hpcless::client {

class Pool {
 public:
  // Opens `per_address` connections to each address (a standalone executor assigns each new
  // connection to its next worker thread, so N connections to one executor reach N workers).
  Pool(const std::vector<std::string>& addresses, const ConnectOptions& opts,
       size_t per_address = 1);

  size_t size() const noexcept { return conns_.size(); }
  Connection& at(size_t i) { return *conns_.at(i); }

  // One invocation per input, round-robin over the connections, pipelined up to each
  // connection's in-flight limit. Results come back in input order; failures are statuses.
  std::vector<InvocationResult> invoke_all(std::string_view function,
                                           const std::vector<std::span<const std::byte>>& inputs,
                                           Deadline deadline);

  // The same input on every connection (scatter/gather over all workers).
  std::vector<InvocationResult> invoke_each(std::string_view function,
                                            std::span<const std::byte> input, Deadline deadline);

 private:
  void wait_briefly(size_t start);
  std::vector<std::unique_ptr<Connection>> conns_;
};

}  // namespace hpcless::client
