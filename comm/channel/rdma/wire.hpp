// Wire format of the RDMA channel: how a message travels as frames of an RdmaLink, and how the
// connection tickets are written in the rendezvous store. Pure functions (unit-tested on hosts
// without RDMA).
//
// A message is cut into chunks that each fit one fragment of the link (one RDMA write into one
// registered receive slot), so that the receiver copies every chunk straight from its slot into
// the destination buffer, without the link's reassembly copy, and so that the sender's progress
// engine can post chunk by chunk as credits allow instead of blocking on a whole message:
//   first chunk  Header{type kPing, request_id = tag, payload_len}, payload = message length
//                (u64 little-endian) then the first bytes of the message
//   later chunks Header{type kPong, request_id = tag, payload_len}, payload = the next bytes
// A link delivers frames in order, and a sender never interleaves two messages on one link, so
// chunks need no offsets. An empty message is a first chunk with the length only.
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "comm/channel/channel.hpp"
#include "comm/protocol/frame.hpp"

namespace hpcless::comm::rdma_wire {

inline constexpr protocol::MessageType kFirstChunk = protocol::MessageType::kPing;
inline constexpr protocol::MessageType kNextChunk = protocol::MessageType::kPong;
inline constexpr size_t kLengthBytes = 8;
// Longer lengths can only come from a corrupted frame (the direct channel's limit too).
inline constexpr uint64_t kMaxMessageBytes = uint64_t{1} << 40;

// Message bytes that one chunk carries on a link with `fragment`-byte fragments (header
// included); 0 when the fragment cannot even hold the header.
constexpr size_t chunk_capacity(size_t fragment, bool first) noexcept {
  const size_t overhead = protocol::kHeaderSize + (first ? kLengthBytes : 0);
  return fragment > overhead ? fragment - overhead : 0;
}

// Chunks (frames) a message of `len` bytes takes; 0 when the fragment is too small to carry data.
constexpr uint64_t chunk_count(uint64_t len, size_t fragment) noexcept {
  const size_t first = chunk_capacity(fragment, true);
  const size_t next = chunk_capacity(fragment, false);
  if (first == 0 || next == 0) return 0;
  if (len <= first) return 1;
  return 1 + (len - first + next - 1) / next;
}

inline protocol::Header chunk_header(bool first, Tag tag, size_t payload_len) noexcept {
  protocol::Header h;
  h.type = first ? kFirstChunk : kNextChunk;
  h.request_id = tag;
  h.payload_len = static_cast<uint32_t>(payload_len);
  return h;
}

// A connection ticket (128 random bits, rdma::Ticket) as 32 lowercase hex digits, and back.
using TicketWords = std::array<uint64_t, 2>;

inline std::string ticket_to_text(const TicketWords& t) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(32, '0');
  for (int w = 0; w < 2; ++w)
    for (int i = 0; i < 16; ++i) s[w * 16 + i] = kHex[(t[w] >> (60 - 4 * i)) & 0xF];
  return s;
}

inline std::optional<TicketWords> ticket_from_text(std::string_view s) {
  if (s.size() != 32) return std::nullopt;
  TicketWords t{};
  for (int w = 0; w < 2; ++w) {
    const char* b = s.data() + w * 16;
    for (const char* c = b; c != b + 16; ++c)
      if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))) return std::nullopt;
    const auto r = std::from_chars(b, b + 16, t[w], 16);
    if (r.ec != std::errc() || r.ptr != b + 16) return std::nullopt;
  }
  return t;
}

}  // namespace hpcless::comm::rdma_wire
