// Bodies of the set-up messages (Hello, HelloAck, PackageLoaded). These are off the hot path;
// decoders throw ProtocolError on any malformed, truncated or oversized body.
//
// Encoding: little-endian integers; strings as u16 length + bytes; lists as u16 count + items.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace hpcless::protocol {

inline constexpr size_t kMaxStringLen = 4096;
inline constexpr size_t kMaxTokenLen = 4096;
inline constexpr size_t kMaxFunctions = 4096;

// Hot-timeout semantics (as in rFaaS, but in real milliseconds):
//   -1: always busy-poll, 0: always block, N > 0: busy-poll, then block after N ms idle.
inline constexpr int32_t kHotAlways = -1;
inline constexpr int32_t kWarmAlways = 0;

inline constexpr uint8_t kTransportTcp = 0;
inline constexpr uint8_t kTransportRdma = 1;

struct Hello {
  int32_t hot_timeout_ms = kHotAlways;
  uint32_t max_inflight = 0;  // requested; 0 = worker default
  std::string token;          // lease token (empty for a standalone executor)
  std::string client_name;
  // The transport the client wants for invocations. With kRdma the worker answers with an RDMA
  // endpoint and a ticket, and the client moves the connection there (docs/protocol.md).
  uint8_t transport = kTransportTcp;
};

struct HelloAck {
  uint32_t max_payload = 0;
  uint32_t max_inflight = 0;
  uint32_t worker_id = 0;  // index of the worker thread serving this connection
  int32_t hot_timeout_ms = kHotAlways;  // in effect for this connection
  std::string node_name;
  std::string package_name;
  std::vector<std::string> functions;  // function_id = index in this list
  // How the worker process started, for cold-start breakdowns. `fresh_worker` is 1 in the answer
  // to the first hello the process ever served (that client waited for the spawn), else 0.
  // spawn: from the executor's fork to the worker being ready (its package loaded, threads
  // pinned); package: the initial package's load within it. 0 when unknown (e.g. a worker
  // started by hand).
  uint64_t worker_spawn_ns = 0;
  uint64_t worker_package_ns = 0;
  uint8_t fresh_worker = 0;
  // Answer to a hello asking for RDMA: the worker thread's RDMA listener ("ADDR:PORT") and the
  // one-time ticket that binds the RDMA connection to this authenticated hello. Empty for TCP.
  std::string rdma_endpoint;
  std::array<uint64_t, 2> rdma_ticket{0, 0};
};

struct PackageInfo {
  std::string package_name;
  std::vector<std::string> functions;
};

std::vector<std::byte> encode(const Hello& m);
std::vector<std::byte> encode(const HelloAck& m);
std::vector<std::byte> encode(const PackageInfo& m);

Hello decode_hello(std::span<const std::byte> body);
HelloAck decode_hello_ack(std::span<const std::byte> body);
PackageInfo decode_package_info(std::span<const std::byte> body);

// ---- Group invocations (invoke frames with kFlagGroup) ----
// The payload of such an invoke is `u32 block_len | block | user input`; the worker strips the
// block and hands the function only the user input, with the block's fields in its context
// (hpcless_group_info). The block carries no secret: the rendezvous store authenticates with the
// worker's own credentials (docs/communication.md, "Group invocation").
inline constexpr uint8_t kGroupBlockVersion = 1;
inline constexpr uint32_t kMaxGroupSize = 1u << 16;

struct GroupBlock {
  std::string group;        // unique id of this group invocation (communicator name)
  uint32_t rank = 0;        // 0 .. size-1
  uint32_t size = 1;
  std::string rendezvous;   // "http://host:port" (manager /v1/kv) or "tcp://host:port" (TcpStore)
  std::string channel;      // "direct", "redis", "s3" or "auto"
  std::string listen_host;  // address the direct channel listens on (where the client reached
                            // this worker)
  uint32_t timeout_ms = 0;  // deadline of the group's blocking calls, relative to the start
  uint64_t message_bytes = 0;  // expected bytes per collective, for the auto channel (0: unknown)
};

// The whole prefix: u32 length, then the block.
std::vector<std::byte> encode_group_prefix(const GroupBlock& m);
struct GroupSplit {
  GroupBlock block;
  std::span<const std::byte> input;  // the user's input after the block (a view into payload)
};
// Throws ProtocolError for a truncated or inconsistent block (rank >= size, empty group, ...).
GroupSplit split_group_payload(std::span<const std::byte> payload);

}  // namespace hpcless::protocol
