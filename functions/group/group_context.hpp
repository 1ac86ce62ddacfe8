// Group invocations for function authors: the rank, size and communicator of a function that the
// client invoked on every leased core at once (`hpcless invoke --group`, Lease::invoke_group).
//
//   int step(hpcless::fn::Context& ctx, std::span<const std::byte> in, hpcless::fn::Output& out) {
//     hpcless::fn::Group g(ctx);            // throws when not invoked as a group
//     auto& comm = g.communicator();        // collective: every rank builds it
//     comm.allreduce(local, comm::Op::kSum);
//     ...
//   }
//
// The communicator meets its peers through the rendezvous store named in the group block (the
// manager's /v1/kv with the worker's HPCLESS_API_TOKEN, or a TcpStore), listens on the address
// the client reached this worker at, and runs on the channel the client asked for: direct,
// redis / s3 (configured by the worker's storage configuration, $HPCLESS_STORAGE_CONFIG) or auto
// (cost model: $HPCLESS_COMM_COST_MODEL, else the "comm" section of the storage configuration
// file, else the defaults). Every blocking call has the group's deadline.
//
// Link the package with hpcless_function_group (a static, position-independent library).
// Ownership: a Group borrows the Context and owns its communicator and store; destroy it before
// the function returns. Thread safety: one thread (the function's).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "comm/base/clock.hpp"
#include "comm/communicator/communicator.hpp"
#include "functions/abi/hpcless_function.hpp"

namespace hpcless::fn {

struct GroupInfo {
  int rank = 0;
  int size = 1;
  std::string group;
  std::string rendezvous;
  std::string channel;
  std::string listen_host;
  std::chrono::milliseconds timeout{0};
  uint64_t message_bytes = 0;
};

// The group of this invocation; nullopt for a plain invocation (or an executor without groups).
std::optional<GroupInfo> group_info(Context& ctx);

class Group {
 public:
  // Throws std::runtime_error naming the function's requirement when the invocation is not a
  // group invocation.
  explicit Group(Context& ctx);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const noexcept { return info_.rank; }
  int size() const noexcept { return info_.size; }
  const GroupInfo& info() const noexcept { return info_; }
  // The group's deadline: the function's start + the timeout the client gave.
  Deadline deadline() const noexcept { return deadline_; }
  // Built on first call (collective over the group). Throws comm errors (TimeoutError when a
  // rank does not show up before the deadline).
  comm::Communicator& communicator();

 private:
  GroupInfo info_;
  Deadline deadline_;
  std::shared_ptr<rendezvous::Store> store_;
  std::unique_ptr<comm::Communicator> comm_;
};

}  // namespace hpcless::fn
