#include "experiments/invocation_overhead/invocation_overhead.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "comm/base/error.hpp"
#include "experiments/invocation_overhead/raw_tcp_baseline.hpp"

namespace hpcless::experiments {
namespace {

TEST(SizeSweep, PowersOfFourUpToOneMiB) {
  const auto s = default_sizes();
  ASSERT_EQ(s.size(), 11u);
  EXPECT_EQ(s.front(), 1u);
  EXPECT_EQ(s[3], 64u);
  EXPECT_EQ(s.back(), 1048576u);
  EXPECT_EQ(size_sweep(3, 100, 10), (std::vector<size_t>{3, 30}));
  EXPECT_THROW(size_sweep(0, 10, 2), ConfigError);
  EXPECT_THROW(size_sweep(10, 1, 2), ConfigError);
  EXPECT_THROW(size_sweep(1, 10, 1), ConfigError);
}

TEST(Config, NormalizedSortsSizesAndChecksRanges) {
  InvocationOverheadConfig c;
  c.address = "127.0.0.1:1";
  c.out_dir = "/tmp/x";
  c.sizes = {64, 1, 64};
  const auto n = normalized(c);
  EXPECT_EQ(n.sizes, (std::vector<size_t>{1, 64}));
  c.repetitions = 0;
  EXPECT_THROW(normalized(c), ConfigError);
}

// The baseline itself on loopback, unpinned: echoes intact in both modes, small and large.
TEST(RawTcpBaseline, EchoesInBothModes) {
  for (PollMode mode : {PollMode::kHot, PollMode::kWarm}) {
    RawEchoServer server(mode, -1, 1 << 20);
    RawEchoClient client(server.port(), mode, Deadline::after(std::chrono::seconds(5)));
    for (size_t size : {size_t{0}, size_t{1}, size_t{4096}, size_t{1} << 20}) {
      std::vector<std::byte> payload(size);
      for (size_t i = 0; i < size; ++i) payload[i] = static_cast<std::byte>(i * 7);
      const auto r = client.round_trip(payload, Deadline::after(std::chrono::seconds(5)));
      ASSERT_TRUE(r.ok) << r.error;
      EXPECT_GE(r.recv_ns, r.send_ns);
      ASSERT_EQ(client.reply().size(), size);
      EXPECT_TRUE(std::equal(payload.begin(), payload.end(), client.reply().begin()));
    }
  }
}

TEST(RawTcpBaseline, OversizedMessageEndsTheConnection) {
  RawEchoServer server(PollMode::kWarm, -1, 16);
  RawEchoClient client(server.port(), PollMode::kWarm, Deadline::after(std::chrono::seconds(5)));
  std::vector<std::byte> payload(17);
  const auto r = client.round_trip(payload, Deadline::after(std::chrono::seconds(5)));
  EXPECT_FALSE(r.ok);
  server.stop();
  EXPECT_NE(server.error().find("exceeds"), std::string::npos) << server.error();
}

}  // namespace
}  // namespace hpcless::experiments
