// Bodies of the set-up messages (Hello, HelloAck, PackageLoaded). These are off the hot path;
// decoders throw ProtocolError on any malformed, truncated or oversized body.
//
// Encoding: little-endian integers; strings as u16 length + bytes; lists as u16 count + items.
#pragma once

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

struct Hello {
  int32_t hot_timeout_ms = kHotAlways;
  uint32_t max_inflight = 0;  // requested; 0 = worker default
  std::string token;          // lease token (empty for a standalone executor)
  std::string client_name;
};

struct HelloAck {
  uint32_t max_payload = 0;
  uint32_t max_inflight = 0;
  uint32_t worker_id = 0;  // index of the worker thread serving this connection
  int32_t hot_timeout_ms = kHotAlways;  // in effect for this connection
  std::string node_name;
  std::string package_name;
  std::vector<std::string> functions;  // function_id = index in this list
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

}  // namespace hpcless::protocol
