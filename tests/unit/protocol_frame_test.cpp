// Unit tests of the v1 frame header: field round trips, the exact byte layout, and every way a
// header can be rejected.
#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "comm/protocol/frame.hpp"

namespace hpcless::protocol {
namespace {

constexpr uint32_t kNoLimit = std::numeric_limits<uint32_t>::max();

std::vector<std::byte> encode_to_vector(const Header& h) {
  std::vector<std::byte> out(h.encoded_size());
  EXPECT_EQ(encode_header(h, out), out.size());
  return out;
}

std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

// A header whose fields all have distinct, easily recognised byte values (timestamps are set
// even without the flag, to show that they then stay off the wire).
Header sample_header(bool timestamps) {
  Header h;
  h.type = MessageType::kResult;
  h.flags = timestamps ? kFlagTimestamps : 0;
  h.request_id = 0x0807060504030201ull;
  h.function_id = 0x14131211u;
  h.status = Status::kTokenExpired;  // 11
  h.payload_len = 0x24232221u;
  h.timestamps = {0x3736353433323130ull, 0x4746454443424140ull, 0x5756555453525150ull,
                  0x6766656463626160ull};
  return h;
}

void expect_same(const Header& a, const Header& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.flags, b.flags);
  EXPECT_EQ(a.request_id, b.request_id);
  EXPECT_EQ(a.function_id, b.function_id);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.payload_len, b.payload_len);
  // Without the flag the timestamps are not on the wire, and decode reports zeros.
  const ServerTimestamps expected = a.has_timestamps() ? a.timestamps : ServerTimestamps{};
  EXPECT_EQ(expected.recv_ns, b.timestamps.recv_ns);
  EXPECT_EQ(expected.start_ns, b.timestamps.start_ns);
  EXPECT_EQ(expected.end_ns, b.timestamps.end_ns);
  EXPECT_EQ(expected.send_ns, b.timestamps.send_ns);
}

DecodeResult decode(std::span<const std::byte> in, uint32_t max_payload = kNoLimit) {
  Header h;
  size_t size = 0;
  return decode_header(in, max_payload, h, size);
}

// ---- round trips ----

TEST(FrameHeader, RoundTripOfEveryFieldCombination) {
  const uint64_t request_ids[] = {0, 1, 0x0123456789abcdefull,
                                  std::numeric_limits<uint64_t>::max()};
  const uint32_t function_ids[] = {0, 1, std::numeric_limits<uint32_t>::max()};
  const uint32_t payload_lens[] = {0, 1, 65536, std::numeric_limits<uint32_t>::max()};
  int checked = 0;
  for (int type = 1; type <= kMaxMessageType; ++type) {
    for (uint16_t flags : {uint16_t{0}, uint16_t{kFlagTimestamps}}) {
      for (uint64_t rid : request_ids) {
        for (uint32_t fid : function_ids) {
          for (uint32_t status = 0; status <= kMaxStatus; ++status) {
            for (uint32_t len : payload_lens) {
              Header in;
              in.type = static_cast<MessageType>(type);
              in.flags = flags;
              in.request_id = rid;
              in.function_id = fid;
              in.status = static_cast<Status>(status);
              in.payload_len = len;
              if (flags & kFlagTimestamps)
                in.timestamps = {rid ^ 1, rid ^ 2, std::numeric_limits<uint64_t>::max(), 0};
              const auto wire = encode_to_vector(in);
              ASSERT_EQ(wire.size(), flags ? kHeaderSize + kTimestampsSize : kHeaderSize);
              Header out;
              size_t size = 0;
              ASSERT_EQ(decode_header(wire, kNoLimit, out, size), DecodeResult::kOk);
              ASSERT_EQ(size, wire.size());
              expect_same(in, out);
              ++checked;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 9 * 2 * 4 * 3 * static_cast<int>(kMaxStatus + 1) * 4);
}

TEST(FrameHeader, TimestampsAreNotSentWithoutTheFlag) {
  Header in = sample_header(false);  // timestamps set, flag clear
  const auto wire = encode_to_vector(in);
  ASSERT_EQ(wire.size(), kHeaderSize);
  Header out = sample_header(true);  // stale timestamps must be cleared by decode
  size_t size = 0;
  ASSERT_EQ(decode_header(wire, kNoLimit, out, size), DecodeResult::kOk);
  EXPECT_EQ(size, kHeaderSize);
  EXPECT_FALSE(out.has_timestamps());
  EXPECT_EQ(out.timestamps.recv_ns, 0u);
  EXPECT_EQ(out.timestamps.start_ns, 0u);
  EXPECT_EQ(out.timestamps.end_ns, 0u);
  EXPECT_EQ(out.timestamps.send_ns, 0u);
}

TEST(FrameHeader, EncodedSizeFollowsTheFlag) {
  Header h;
  EXPECT_FALSE(h.has_timestamps());
  EXPECT_EQ(h.encoded_size(), 32u);
  h.flags = kFlagTimestamps;
  EXPECT_TRUE(h.has_timestamps());
  EXPECT_EQ(h.encoded_size(), 64u);
  static_assert(kHeaderSize == 32 && kTimestampsSize == 32 && kPhasesSize == 24 &&
                kMaxHeaderSize == 88);
}

TEST(FrameHeader, DecodeIgnoresBytesAfterTheHeader) {
  Header in = sample_header(false);
  in.payload_len = 5;
  auto wire = encode_to_vector(in);
  const auto payload = bytes({0x48, 0x50, 0x43, 0x4c, 0x01});  // looks like a header start
  wire.insert(wire.end(), payload.begin(), payload.end());
  Header out;
  size_t size = 0;
  ASSERT_EQ(decode_header(wire, kNoLimit, out, size), DecodeResult::kOk);
  EXPECT_EQ(size, kHeaderSize);
  expect_same(in, out);
}

// ---- exact layout ----

TEST(FrameHeader, ExactByteLayoutWithoutTimestamps) {
  const auto wire = encode_to_vector(sample_header(false));
  const auto expected = bytes({
      0x48, 0x50, 0x43, 0x4c,                          //  0 magic "HPCL"
      0x01,                                            //  4 version
      0x04,                                            //  5 type (result)
      0x00, 0x00,                                      //  6 flags
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  //  8 request id
      0x11, 0x12, 0x13, 0x14,                          // 16 function id
      0x0b, 0x00, 0x00, 0x00,                          // 20 status
      0x21, 0x22, 0x23, 0x24,                          // 24 payload length
      0x00, 0x00, 0x00, 0x00,                          // 28 reserved
  });
  EXPECT_EQ(wire, expected);
}

TEST(FrameHeader, ExactByteLayoutWithTimestamps) {
  const auto wire = encode_to_vector(sample_header(true));
  ASSERT_EQ(wire.size(), 64u);
  EXPECT_EQ(wire[6], std::byte{0x01});  // flag bit 0
  EXPECT_EQ(wire[7], std::byte{0x00});
  // Each timestamp is a little-endian u64 at 32, 40, 48, 56: byte i of block k is 0x30 + 16k + i.
  for (size_t k = 0; k < 4; ++k) {
    for (size_t i = 0; i < 8; ++i) {
      EXPECT_EQ(wire[32 + 8 * k + i], static_cast<std::byte>(0x30 + 16 * k + i))
          << "timestamp " << k << " byte " << i;
    }
  }
  // The first 32 bytes are the plain header with the flag set.
  auto plain = encode_to_vector(sample_header(false));
  plain[6] = std::byte{0x01};
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), wire.begin()));
}

TEST(FrameHeader, MagicIsHpclInMemoryOrder) {
  const auto wire = encode_to_vector(Header{});
  EXPECT_EQ(std::memcmp(wire.data(), "HPCL", 4), 0);
  EXPECT_EQ(static_cast<uint8_t>(wire[4]), kVersion);
}

// ---- encode into a short buffer ----

TEST(FrameHeader, EncodeIntoTooSmallBufferReturnsZeroAndWritesNothing) {
  for (bool ts : {false, true}) {
    const Header h = sample_header(ts);
    for (size_t n = 0; n < h.encoded_size(); ++n) {
      std::vector<std::byte> buf(n, std::byte{0xee});
      EXPECT_EQ(encode_header(h, buf), 0u) << "buffer " << n << " timestamps " << ts;
      for (std::byte b : buf) ASSERT_EQ(b, std::byte{0xee});
    }
  }
}

TEST(FrameHeader, EncodeIntoLargerBufferWritesOnlyTheHeader) {
  std::vector<std::byte> buf(100, std::byte{0xee});
  EXPECT_EQ(encode_header(sample_header(false), buf), 32u);
  for (size_t i = 32; i < buf.size(); ++i) ASSERT_EQ(buf[i], std::byte{0xee});
  EXPECT_EQ(encode_header(sample_header(true), buf), 64u);
  for (size_t i = 64; i < buf.size(); ++i) ASSERT_EQ(buf[i], std::byte{0xee});
}

// ---- truncation ----

TEST(FrameHeader, EveryTruncationOfAValidHeaderNeedsMore) {
  for (bool ts : {false, true}) {
    const auto wire = encode_to_vector(sample_header(ts));
    for (size_t n = 0; n < wire.size(); ++n) {
      Header out;
      size_t size = 12345;
      EXPECT_EQ(decode_header(std::span(wire).first(n), kNoLimit, out, size),
                DecodeResult::kNeedMore)
          << "length " << n << " timestamps " << ts;
    }
  }
}

TEST(FrameHeader, TruncatedHeaderWithBadMagicFailsAsSoonAsMagicIsThere) {
  auto wire = encode_to_vector(sample_header(true));
  wire[3] = std::byte{0x00};  // last magic byte wrong
  for (size_t n = 0; n <= wire.size(); ++n) {
    const auto expected = n < 4 ? DecodeResult::kNeedMore : DecodeResult::kBadMagic;
    EXPECT_EQ(decode(std::span(wire).first(n)), expected) << "length " << n;
  }
}

TEST(FrameHeader, TruncatedHeaderWithBadVersionFailsAsSoonAsVersionIsThere) {
  auto wire = encode_to_vector(sample_header(true));
  wire[4] = std::byte{0x02};
  for (size_t n = 0; n <= wire.size(); ++n) {
    const auto expected = n < 5 ? DecodeResult::kNeedMore : DecodeResult::kBadVersion;
    EXPECT_EQ(decode(std::span(wire).first(n)), expected) << "length " << n;
  }
}

TEST(FrameHeader, TimestampBlockIsWaitedForEvenWhenPayloadIsTooLarge) {
  Header h = sample_header(true);
  h.payload_len = 1000;
  const auto wire = encode_to_vector(h);
  for (size_t n = kHeaderSize; n < kHeaderSize + kTimestampsSize; ++n)
    EXPECT_EQ(decode(std::span(wire).first(n), 10), DecodeResult::kNeedMore) << "length " << n;
  EXPECT_EQ(decode(wire, 10), DecodeResult::kTooLarge);
}

// ---- rejected headers ----

TEST(FrameHeader, WrongMagicInAnyByte) {
  for (size_t i = 0; i < 4; ++i) {
    auto wire = encode_to_vector(sample_header(false));
    wire[i] ^= std::byte{0x20};  // e.g. "hPCL"
    EXPECT_EQ(decode(wire), DecodeResult::kBadMagic) << "byte " << i;
  }
  // A byte-swapped (big-endian) magic is the typical mistake of a raw struct copy.
  auto wire = encode_to_vector(sample_header(false));
  std::swap(wire[0], wire[3]);
  std::swap(wire[1], wire[2]);
  EXPECT_EQ(decode(wire), DecodeResult::kBadMagic);
}

TEST(FrameHeader, WrongVersion) {
  for (int v : {0, 2, 127, 255}) {
    auto wire = encode_to_vector(sample_header(false));
    wire[4] = static_cast<std::byte>(v);
    EXPECT_EQ(decode(wire), DecodeResult::kBadVersion) << "version " << v;
  }
}

TEST(FrameHeader, UnknownMessageType) {
  for (int t : {0, 10, 11, 128, 255}) {
    auto wire = encode_to_vector(sample_header(false));
    wire[5] = static_cast<std::byte>(t);
    EXPECT_EQ(decode(wire), DecodeResult::kBadType) << "type " << t;
  }
}

TEST(FrameHeader, UnknownFlagBits) {
  // Bits 0-2 are known (timestamps, phases, cold; tests/bench/protocol_phases_test.cpp covers
  // them) and bit 3 (group, tests/group/group_block_test.cpp).
  for (int bit = 4; bit < 16; ++bit) {
    for (bool ts : {false, true}) {
      auto wire = encode_to_vector(sample_header(ts));
      const uint16_t flags = static_cast<uint16_t>((ts ? kFlagTimestamps : 0) | (1u << bit));
      wire[6] = static_cast<std::byte>(flags & 0xff);
      wire[7] = static_cast<std::byte>(flags >> 8);
      EXPECT_EQ(decode(wire), DecodeResult::kBadFlags) << "bit " << bit;
    }
  }
}

TEST(FrameHeader, ReservedBitsSet) {
  for (int bit = 0; bit < 32; ++bit) {
    auto wire = encode_to_vector(sample_header(false));
    wire[28 + bit / 8] = static_cast<std::byte>(1u << (bit % 8));
    EXPECT_EQ(decode(wire), DecodeResult::kBadReserved) << "bit " << bit;
  }
}

TEST(FrameHeader, UnknownStatus) {
  for (uint32_t s : {kMaxStatus + 1, 0x100u, 0x80000000u, 0xffffffffu}) {
    auto wire = encode_to_vector(sample_header(false));
    for (int i = 0; i < 4; ++i) wire[20 + i] = static_cast<std::byte>((s >> (8 * i)) & 0xff);
    EXPECT_EQ(decode(wire), DecodeResult::kBadStatus) << "status " << s;
  }
}

TEST(FrameHeader, PayloadOverTheLimitIsTooLargeWithHeaderFilled) {
  for (bool ts : {false, true}) {
    Header in = sample_header(ts);
    in.payload_len = 1001;
    const auto wire = encode_to_vector(in);
    Header out;
    size_t size = 0;
    ASSERT_EQ(decode_header(wire, 1000, out, size), DecodeResult::kTooLarge);
    EXPECT_EQ(size, in.encoded_size());
    expect_same(in, out);  // so that the receiver can answer request_id with an error
    ASSERT_EQ(decode_header(wire, 1001, out, size), DecodeResult::kOk);  // the limit is inclusive
  }
}

TEST(FrameHeader, ZeroLimitAllowsOnlyEmptyPayloads) {
  Header h;
  h.payload_len = 0;
  EXPECT_EQ(decode(encode_to_vector(h), 0), DecodeResult::kOk);
  h.payload_len = 1;
  EXPECT_EQ(decode(encode_to_vector(h), 0), DecodeResult::kTooLarge);
  h.payload_len = std::numeric_limits<uint32_t>::max();
  EXPECT_EQ(decode(encode_to_vector(h), std::numeric_limits<uint32_t>::max() - 1),
            DecodeResult::kTooLarge);
}

TEST(FrameHeader, ChecksRunInWireOrder) {
  // Several faults at once: the first field in wire order decides.
  auto wire = encode_to_vector(sample_header(false));
  wire[5] = std::byte{0};     // bad type
  wire[6] = std::byte{0x80};  // bad flags
  wire[28] = std::byte{1};    // reserved
  EXPECT_EQ(decode(wire), DecodeResult::kBadType);
  wire[5] = std::byte{1};
  EXPECT_EQ(decode(wire), DecodeResult::kBadFlags);
  wire[6] = std::byte{0};
  EXPECT_EQ(decode(wire), DecodeResult::kBadReserved);
}

// ---- names and statuses ----

TEST(FrameNames, EveryMessageTypeHasADistinctName) {
  const std::set<std::string> expected = {"hello",  "hello-ack",    "invoke",
                                          "result", "error",        "ping",
                                          "pong",   "load-package", "package-loaded"};
  std::set<std::string> seen;
  for (int t = 1; t <= kMaxMessageType; ++t) seen.insert(to_string(static_cast<MessageType>(t)));
  EXPECT_EQ(seen, expected);
  EXPECT_STREQ(to_string(MessageType::kInvoke), "invoke");
  EXPECT_STREQ(to_string(static_cast<MessageType>(0)), "unknown-message-type");
  EXPECT_STREQ(to_string(static_cast<MessageType>(10)), "unknown-message-type");
}

TEST(FrameNames, EveryStatusHasADistinctName) {
  std::set<std::string> seen;
  for (uint32_t s = 0; s <= kMaxStatus; ++s) {
    const std::string name = to_string(static_cast<Status>(s));
    EXPECT_FALSE(name.empty());
    EXPECT_NE(name, "unknown status") << s;
    seen.insert(name);
  }
  EXPECT_EQ(seen.size(), kMaxStatus + 1);
  EXPECT_STREQ(to_string(Status::kOk), "ok");
  EXPECT_STREQ(to_string(Status::kPayloadTooLarge), "payload too large");
  EXPECT_STREQ(to_string(Status::kShuttingDown), "shutting down");
  EXPECT_STREQ(to_string(static_cast<Status>(kMaxStatus + 1)), "unknown status");
}

constexpr DecodeResult kAllResults[] = {
    DecodeResult::kOk,          DecodeResult::kNeedMore,  DecodeResult::kBadMagic,
    DecodeResult::kBadVersion,  DecodeResult::kBadType,   DecodeResult::kBadFlags,
    DecodeResult::kBadReserved, DecodeResult::kBadStatus, DecodeResult::kTooLarge};

TEST(FrameNames, EveryDecodeResultHasADistinctName) {
  std::set<std::string> seen;
  for (DecodeResult r : kAllResults) {
    const std::string name = to_string(r);
    EXPECT_NE(name, "unknown decode result");
    seen.insert(name);
  }
  EXPECT_EQ(seen.size(), std::size(kAllResults));
  EXPECT_STREQ(to_string(DecodeResult::kBadMagic), "bad magic (not an hpcless frame)");
  EXPECT_STREQ(to_string(static_cast<DecodeResult>(200)), "unknown decode result");
}

TEST(FrameNames, StatusForEveryDecodeResult) {
  EXPECT_EQ(status_for(DecodeResult::kOk), Status::kOk);
  EXPECT_EQ(status_for(DecodeResult::kNeedMore), Status::kOk);
  EXPECT_EQ(status_for(DecodeResult::kBadMagic), Status::kMalformedFrame);
  EXPECT_EQ(status_for(DecodeResult::kBadVersion), Status::kUnsupportedVersion);
  EXPECT_EQ(status_for(DecodeResult::kBadType), Status::kMalformedFrame);
  EXPECT_EQ(status_for(DecodeResult::kBadFlags), Status::kMalformedFrame);
  EXPECT_EQ(status_for(DecodeResult::kBadReserved), Status::kMalformedFrame);
  EXPECT_EQ(status_for(DecodeResult::kBadStatus), Status::kMalformedFrame);
  EXPECT_EQ(status_for(DecodeResult::kTooLarge), Status::kPayloadTooLarge);
}

}  // namespace
}  // namespace hpcless::protocol
