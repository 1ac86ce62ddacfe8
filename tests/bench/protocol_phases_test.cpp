// The phase block and the cold flag of the frame header (comm/protocol/frame.hpp): round trips,
// placement after the timestamps, and truncated or inconsistent headers.
#include <gtest/gtest.h>

#include <cstddef>
#include <limits>
#include <vector>

#include "comm/protocol/frame.hpp"

namespace hpcless::protocol {
namespace {

constexpr uint32_t kNoLimit = std::numeric_limits<uint32_t>::max();

Header result_header(uint16_t flags) {
  Header h;
  h.type = MessageType::kResult;
  h.flags = flags;
  h.request_id = 0x0102030405060708ull;
  h.function_id = 3;
  h.payload_len = 77;
  if (h.has_timestamps()) h.timestamps = {11, 12, 13, 14};
  if (h.has_phases())
    h.phases.ns[0] = 1000, h.phases.ns[1] = std::numeric_limits<uint64_t>::max(),
    h.phases.ns[2] = 0x1122334455667788ull;
  return h;
}

std::vector<std::byte> encode(const Header& h) {
  std::vector<std::byte> out(h.encoded_size());
  EXPECT_EQ(encode_header(h, out), out.size());
  return out;
}

TEST(FramePhases, SizesFollowTheFlags) {
  static_assert(kPhasesSize == 24 && kMaxHeaderSize == 88);
  EXPECT_EQ(result_header(0).encoded_size(), 32u);
  EXPECT_EQ(result_header(kFlagPhases).encoded_size(), 56u);
  EXPECT_EQ(result_header(kFlagTimestamps | kFlagPhases).encoded_size(), 88u);
  EXPECT_EQ(result_header(kFlagCold).encoded_size(), 32u);  // the cold flag carries no block
}

TEST(FramePhases, EveryFlagCombinationRoundTrips) {
  for (uint16_t flags = 0; flags < 8; ++flags) {
    const Header in = result_header(flags);
    const auto wire = encode(in);
    Header out;
    out.phases.ns[0] = 99;  // stale values must be cleared when the flag is absent
    out.timestamps.recv_ns = 99;
    size_t size = 0;
    ASSERT_EQ(decode_header(wire, kNoLimit, out, size), DecodeResult::kOk) << "flags " << flags;
    EXPECT_EQ(size, wire.size());
    EXPECT_EQ(out.flags, flags);
    EXPECT_EQ(out.cold(), (flags & kFlagCold) != 0);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(out.phases.ns[i], in.phases.ns[i]) << "flags " << flags;
    EXPECT_EQ(out.timestamps.recv_ns, in.timestamps.recv_ns);
    EXPECT_EQ(out.timestamps.send_ns, in.timestamps.send_ns);
  }
}

TEST(FramePhases, PhaseBlockSitsAfterTheTimestampsLittleEndian) {
  const auto wire = encode(result_header(kFlagTimestamps | kFlagPhases));
  // download = 1000 at offset 64, upload's low byte 0x88 at offset 80.
  EXPECT_EQ(wire[64], std::byte{0xE8});
  EXPECT_EQ(wire[65], std::byte{0x03});
  EXPECT_EQ(wire[80], std::byte{0x88});
  EXPECT_EQ(wire[87], std::byte{0x11});
  const auto alone = encode(result_header(kFlagPhases));
  EXPECT_EQ(alone[32], std::byte{0xE8});  // without timestamps the block follows the header
}

TEST(FramePhases, TruncatedPhaseBlockNeedsMoreAtEveryLength) {
  for (uint16_t flags : {uint16_t(kFlagPhases), uint16_t(kFlagPhases | kFlagTimestamps),
                         uint16_t(kFlagPhases | kFlagCold)}) {
    const auto wire = encode(result_header(flags));
    for (size_t n = 0; n < wire.size(); ++n) {
      Header out;
      size_t size = 0;
      EXPECT_EQ(decode_header(std::span(wire).first(n), kNoLimit, out, size),
                DecodeResult::kNeedMore)
          << "flags " << flags << " length " << n;
    }
  }
}

TEST(FramePhases, PayloadLimitIsCheckedOnlyAfterTheWholeHeader) {
  Header h = result_header(kFlagTimestamps | kFlagPhases);
  h.payload_len = 1000;
  const auto wire = encode(h);
  Header out;
  size_t size = 0;
  EXPECT_EQ(decode_header(std::span(wire).first(87), 10, out, size), DecodeResult::kNeedMore);
  EXPECT_EQ(decode_header(wire, 10, out, size), DecodeResult::kTooLarge);
  EXPECT_EQ(size, 88u);
}

// Bit 3 (group) is known but only valid on invoke frames; these are results.
TEST(FramePhases, BitsAboveColdAreRejected) {
  for (int bit = 3; bit < 16; ++bit) {
    auto wire = encode(result_header(kFlagPhases));
    const uint16_t flags = static_cast<uint16_t>(kFlagPhases | (1u << bit));
    wire[6] = static_cast<std::byte>(flags & 0xff);
    wire[7] = static_cast<std::byte>(flags >> 8);
    Header out;
    size_t size = 0;
    EXPECT_EQ(decode_header(wire, kNoLimit, out, size), DecodeResult::kBadFlags) << bit;
  }
}

TEST(FramePhases, EncodeRefusesAShortBuffer) {
  const Header h = result_header(kFlagTimestamps | kFlagPhases | kFlagCold);
  std::vector<std::byte> out(h.encoded_size() - 1);
  EXPECT_EQ(encode_header(h, out), 0u);
}

TEST(FramePhases, APhaseFlagSetOnAShorterFrameReadsIntoNothing) {
  // A header whose phase flag was set by a bit flip: the decoder waits for the block instead of
  // reading past the bytes it was given (the stream layer then times out or reads the payload
  // as the block; either way nothing outside the buffer is touched).
  auto wire = encode(result_header(0));
  wire[6] = static_cast<std::byte>(kFlagPhases);
  Header out;
  size_t size = 0;
  EXPECT_EQ(decode_header(wire, kNoLimit, out, size), DecodeResult::kNeedMore);
}

}  // namespace
}  // namespace hpcless::protocol
