// The group block of group invocations (comm/protocol/messages.hpp, docs/protocol.md).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/protocol/frame.hpp"
#include "comm/protocol/messages.hpp"

using namespace hpcless;
using namespace hpcless::protocol;

namespace {

GroupBlock sample() {
  GroupBlock b;
  b.group = "g-0123456789abcdef";
  b.rank = 2;
  b.size = 4;
  b.rendezvous = "http://127.0.0.1:7000";
  b.channel = "auto";
  b.listen_host = "198.18.0.2";
  b.timeout_ms = 12345;
  b.message_bytes = 1ull << 40;
  return b;
}

std::vector<std::byte> with_input(const GroupBlock& b, const std::string& input) {
  auto v = encode_group_prefix(b);
  for (char c : input) v.push_back(static_cast<std::byte>(c));
  return v;
}

}  // namespace

TEST(GroupBlock, RoundTripKeepsEveryFieldAndTheInput) {
  const auto wire = with_input(sample(), "n=1000");
  const auto g = split_group_payload(wire);
  EXPECT_EQ(g.block.group, "g-0123456789abcdef");
  EXPECT_EQ(g.block.rank, 2u);
  EXPECT_EQ(g.block.size, 4u);
  EXPECT_EQ(g.block.rendezvous, "http://127.0.0.1:7000");
  EXPECT_EQ(g.block.channel, "auto");
  EXPECT_EQ(g.block.listen_host, "198.18.0.2");
  EXPECT_EQ(g.block.timeout_ms, 12345u);
  EXPECT_EQ(g.block.message_bytes, 1ull << 40);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(g.input.data()), g.input.size()), "n=1000");
}

TEST(GroupBlock, EmptyInputAndBinaryInput) {
  EXPECT_TRUE(split_group_payload(encode_group_prefix(sample())).input.empty());
  auto wire = encode_group_prefix(sample());
  const size_t block = wire.size();
  for (int i = 0; i < 256; ++i) wire.push_back(static_cast<std::byte>(i));
  const auto g = split_group_payload(wire);
  ASSERT_EQ(g.input.size(), 256u);
  EXPECT_EQ(g.input.data(), wire.data() + block);  // a view, no copy
}

TEST(GroupBlock, EveryTruncationIsRejected) {
  const auto wire = encode_group_prefix(sample());
  for (size_t n = 0; n < wire.size(); ++n)
    EXPECT_THROW(split_group_payload(std::span(wire.data(), n)), ProtocolError) << n;
}

TEST(GroupBlock, LengthPastThePayloadIsRejected) {
  auto wire = encode_group_prefix(sample());
  wire[0] = std::byte{0xff};
  wire[1] = std::byte{0xff};
  EXPECT_THROW(split_group_payload(wire), ProtocolError);
}

TEST(GroupBlock, InconsistentFieldsAreRejected) {
  auto b = sample();
  b.rank = 4;  // == size
  EXPECT_THROW(split_group_payload(encode_group_prefix(b)), ProtocolError);
  b = sample();
  b.size = 0;
  b.rank = 0;
  EXPECT_THROW(split_group_payload(encode_group_prefix(b)), ProtocolError);
  b = sample();
  b.group.clear();
  EXPECT_THROW(split_group_payload(encode_group_prefix(b)), ProtocolError);
  b = sample();
  b.size = kMaxGroupSize + 1;
  EXPECT_THROW(split_group_payload(encode_group_prefix(b)), ProtocolError);
}

TEST(GroupBlock, UnknownVersionIsRejectedWithItsNumber) {
  auto wire = encode_group_prefix(sample());
  wire[4] = std::byte{7};
  try {
    split_group_payload(wire);
    FAIL() << "accepted version 7";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("version 7"), std::string::npos) << e.what();
  }
}

TEST(GroupBlock, TrailingBytesInsideTheBlockAreRejected) {
  auto wire = encode_group_prefix(sample());
  wire.push_back(std::byte{0});
  // Grow the block's declared length by one: the extra byte is now inside the block.
  wire[0] = static_cast<std::byte>(static_cast<uint8_t>(wire[0]) + 1);
  EXPECT_THROW(split_group_payload(wire), ProtocolError);
}

TEST(GroupBlock, TheGroupFlagIsAKnownFrameFlag) {
  Header h;
  h.type = MessageType::kInvoke;
  h.flags = kFlagGroup;
  h.request_id = 9;
  h.payload_len = 0;
  std::vector<std::byte> wire(h.encoded_size());
  encode_header(h, wire);
  Header out;
  size_t header_size = 0;
  EXPECT_EQ(decode_header(wire, 1024, out, header_size), DecodeResult::kOk);
  EXPECT_EQ(out.flags, kFlagGroup);
  // Only invokes carry a group block.
  for (MessageType t : {MessageType::kResult, MessageType::kError, MessageType::kHello}) {
    h.type = t;
    encode_header(h, wire);
    EXPECT_EQ(decode_header(wire, 1024, out, header_size), DecodeResult::kBadFlags)
        << static_cast<int>(t);
  }
}
