// Wire format of the direct channel (little-endian, explicit encoding):
//   message : tag u64, payload length u64, then the payload
//   hello   : magic u32 "HPCD", version u16, reserved u16, from u32, to u32, group size u32,
//             group name length u32, then the group name. Sent once by the connecting (lower)
//             rank; the accepting rank checks every field before it uses the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "comm/channel/channel.hpp"
#include "comm/protocol/byte_order.hpp"

namespace hpcless::comm::direct {

inline constexpr size_t kHeaderBytes = 16;
// Larger lengths can only come from a corrupted stream.
inline constexpr uint64_t kMaxMessageBytes = uint64_t{1} << 40;

inline void encode_header(std::byte* p, Tag tag, uint64_t len) {
  protocol::store_le<uint64_t>(p, tag);
  protocol::store_le<uint64_t>(p + 8, len);
}

inline void decode_header(const std::byte* p, Tag& tag, uint64_t& len) {
  tag = protocol::load_le<uint64_t>(p);
  len = protocol::load_le<uint64_t>(p + 8);
}

inline constexpr uint32_t kHelloMagic = 0x44435048u;  // "HPCD" in memory order
inline constexpr uint16_t kHelloVersion = 1;
inline constexpr size_t kHelloBytes = 24;
inline constexpr uint32_t kMaxGroupName = 4096;

struct Hello {
  uint32_t from = 0;
  uint32_t to = 0;
  uint32_t size = 0;
  std::string group;
};

inline std::vector<std::byte> encode_hello(const Hello& h) {
  std::vector<std::byte> out(kHelloBytes + h.group.size());
  protocol::store_le<uint32_t>(out.data(), kHelloMagic);
  protocol::store_le<uint16_t>(out.data() + 4, kHelloVersion);
  protocol::store_le<uint32_t>(out.data() + 8, h.from);
  protocol::store_le<uint32_t>(out.data() + 12, h.to);
  protocol::store_le<uint32_t>(out.data() + 16, h.size);
  protocol::store_le<uint32_t>(out.data() + 20, static_cast<uint32_t>(h.group.size()));
  for (size_t i = 0; i < h.group.size(); ++i)
    out[kHelloBytes + i] = static_cast<std::byte>(h.group[i]);
  return out;
}

}  // namespace hpcless::comm::direct
