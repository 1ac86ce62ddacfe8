// Channel kinds and their names (comm/communicator/channel_kind.hpp), and the pure parts of the
// RDMA channel's wire format (comm/channel/rdma/wire.hpp): chunking and ticket text. Host-only:
// nothing here opens a device.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "comm/channel/rdma/wire.hpp"
#include "comm/communicator/communicator.hpp"
#include "comm/rendezvous/memory_store.hpp"

namespace hpcless::comm {
namespace {

TEST(ChannelKindNames, EveryKindRoundTripsThroughItsName) {
  for (auto k : {ChannelKind::kDirect, ChannelKind::kDirectRdma, ChannelKind::kRedis,
                 ChannelKind::kS3, ChannelKind::kAuto}) {
    const auto back = channel_kind_from_string(to_string(k));
    ASSERT_TRUE(back.has_value()) << to_string(k);
    EXPECT_EQ(*back, k);
  }
  EXPECT_EQ(to_string(ChannelKind::kDirectRdma), "direct-rdma");
  EXPECT_EQ(channel_kind_from_string("direct-rdma"), ChannelKind::kDirectRdma);
}

TEST(ChannelKindNames, UnknownOrMisspelledNamesAreRejected) {
  for (const char* s : {"", "rdma", "direct_rdma", "Direct-RDMA", "direct-rdma ", "tcp", "direct-"})
    EXPECT_FALSE(channel_kind_from_string(s).has_value()) << "'" << s << "'";
}

TEST(ChannelKindNames, AutoNeverPicksRdmaUnlessItIsACandidate) {
  CostModel m = CostModel::defaults();
  // Even a model that makes RDMA look free keeps to the candidates it was given.
  m.set(ChannelKind::kDirectRdma, OpClass::kAllreduce, {0.001, 0, 4});
  const ChannelKind direct_only[] = {ChannelKind::kDirect};
  EXPECT_EQ(m.choose(direct_only, OpClass::kAllreduce, 4, 8), ChannelKind::kDirect);
  const ChannelKind both[] = {ChannelKind::kDirect, ChannelKind::kDirectRdma};
  EXPECT_EQ(m.choose(both, OpClass::kAllreduce, 4, 8), ChannelKind::kDirectRdma);
  // The default candidates are the TCP direct channel only.
  EXPECT_EQ(AutoChannelOptions{}.candidates, std::vector<ChannelKind>{ChannelKind::kDirect});
}

TEST(ChannelKindNames, DirectRdmaGroupOfOneNeedsNoDeviceLargerGroupsNeedAnAddress) {
  auto store = std::make_shared<rendezvous::MemoryStore>();
  CommOptions o;
  o.channel = ChannelKind::kDirectRdma;
  o.tuning = CollectiveTuning{};
#ifdef HPCLESS_HAVE_RDMA
  // A group of one needs no device; two ranks need the address before anything else.
  Communicator solo(0, 1, "solo", store, o);
  EXPECT_EQ(solo.channel_kind(), "direct-rdma");
  // Messages to self, and a receive that nothing will match times out at its deadline.
  std::vector<int32_t> msg{1, 2, 3}, got(3);
  solo.send(msg, 0, 1);
  solo.recv(got, 0, 1);
  EXPECT_EQ(got, msg);
  const uint64_t t0 = now_ns();
  EXPECT_THROW(solo.recv(got, 0, 2, Deadline::after(std::chrono::milliseconds(50))), TimeoutError);
  EXPECT_GE(now_ns() - t0, 49'000'000u);
  try {
    Communicator c(0, 2, "no-address", store, o);
    FAIL() << "constructed without an RDMA address";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("rdma_address"), std::string::npos) << e.what();
  }
#else
  EXPECT_THROW(Communicator(0, 1, "solo", store, o), ConfigError);
#endif
}

TEST(RdmaWire, ChunksFillFragmentsAndCountExactly) {
  using namespace rdma_wire;
  constexpr size_t frag = 4096;
  const size_t first = chunk_capacity(frag, true);
  const size_t next = chunk_capacity(frag, false);
  EXPECT_EQ(first, frag - protocol::kHeaderSize - kLengthBytes);
  EXPECT_EQ(next, frag - protocol::kHeaderSize);
  EXPECT_EQ(chunk_count(0, frag), 1u);  // an empty message is one chunk with its length
  EXPECT_EQ(chunk_count(first, frag), 1u);
  EXPECT_EQ(chunk_count(first + 1, frag), 2u);
  EXPECT_EQ(chunk_count(first + next, frag), 2u);
  EXPECT_EQ(chunk_count(first + next + 1, frag), 3u);
  EXPECT_EQ(chunk_count(uint64_t{1} << 40, frag),
            1 + ((uint64_t{1} << 40) - first + next - 1) / next);
  // Fragments that cannot hold a header carry nothing.
  EXPECT_EQ(chunk_capacity(protocol::kHeaderSize, false), 0u);
  EXPECT_EQ(chunk_capacity(protocol::kHeaderSize + kLengthBytes, true), 0u);
  EXPECT_EQ(chunk_count(1, protocol::kHeaderSize + 4), 0u);
  const auto h = chunk_header(true, Tag{1} << 63 | 5, 40);
  EXPECT_EQ(h.type, kFirstChunk);
  EXPECT_EQ(h.request_id, Tag{1} << 63 | 5);
  EXPECT_EQ(h.payload_len, 40u);
  EXPECT_EQ(chunk_header(false, 7, 1).type, kNextChunk);
}

TEST(RdmaWire, TicketsRoundTripAsHexAndMalformedTextIsRejected) {
  using namespace rdma_wire;
  const TicketWords t{0x0123456789abcdefull, 0xfedcba9876543210ull};
  EXPECT_EQ(ticket_to_text(t), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(ticket_from_text(ticket_to_text(t)), t);
  const TicketWords zero{0, 0};
  EXPECT_EQ(ticket_from_text(ticket_to_text(zero)), zero);
  for (const char* bad : {"", "0123", "0123456789abcdeffedcba987654321",
                          "0123456789abcdeffedcba98765432100", "0123456789ABCDEFfedcba9876543210",
                          "+123456789abcdeffedcba9876543210", "0123456789abcdeffedcba987654321g"})
    EXPECT_FALSE(ticket_from_text(bad).has_value()) << "'" << bad << "'";
}

}  // namespace
}  // namespace hpcless::comm
