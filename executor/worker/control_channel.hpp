// Messages between the executor daemon and its worker process over a SOCK_SEQPACKET socketpair,
// optionally carrying a descriptor (SCM_RIGHTS). Local to one host, off the invocation path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "comm/base/fd.hpp"

namespace hpcless::executor {

enum class ControlType : uint32_t {
  kNewConnection = 1,  // daemon -> worker: a client connection (fd attached)
  kShutdown = 2,       // daemon -> worker: stop serving and exit
  kReady = 3,          // worker -> daemon: serving; text = package name
  kFailed = 4,         // worker -> daemon: could not start; text = reason
  kLeaseUpdate = 5,    // daemon -> worker: the lease ends at conn_id (Unix ms);
                       //   text = "expired" (renewable expiry) or "ended" (released/failed)
};

struct ControlMessage {
  ControlType type = ControlType::kShutdown;
  uint64_t conn_id = 0;
  std::string text;
  UniqueFd fd;
};

// Returns false when the peer is gone.
bool send_control(int sock, ControlType type, uint64_t conn_id, std::string_view text,
                  int fd_to_pass = -1);
// Blocks until a message arrives; std::nullopt when the peer closed. Throws ProtocolError on a
// malformed message.
std::optional<ControlMessage> recv_control(int sock);

// A connected SOCK_SEQPACKET pair, close-on-exec.
std::pair<UniqueFd, UniqueFd> control_socket_pair();

}  // namespace hpcless::executor
