// comm-bench's channel settings (experiments/comm/channels.hpp) and the experiment's series for
// the direct channel over RDMA: names, labels, rank command lines, and the address requirement.
// Nothing here opens an RDMA device.
#include "experiments/comm/channels.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <optional>
#include <string>

#include "comm/base/error.hpp"
#include "experiments/comm/comm_bench.hpp"
#include "experiments/comm/experiment.hpp"
#include "experiments/comm/hpcless_rank.hpp"

namespace hpcless::experiments::comm_bench {
namespace {

// Sets or clears $HPCLESS_RDMA_ADDRESS for one scope.
class ScopedRdmaEnv {
 public:
  explicit ScopedRdmaEnv(const char* value) {
    if (const char* old = std::getenv("HPCLESS_RDMA_ADDRESS")) old_ = old;
    if (value != nullptr)
      ::setenv("HPCLESS_RDMA_ADDRESS", value, 1);
    else
      ::unsetenv("HPCLESS_RDMA_ADDRESS");
  }
  ~ScopedRdmaEnv() {
    if (old_)
      ::setenv("HPCLESS_RDMA_ADDRESS", old_->c_str(), 1);
    else
      ::unsetenv("HPCLESS_RDMA_ADDRESS");
  }

 private:
  std::optional<std::string> old_;
};

TEST(CommBenchChannels, DirectRdmaIsAKnownChannelWithItsOwnLabel) {
  const auto known = known_channels();
  EXPECT_NE(std::find(known.begin(), known.end(), "direct-rdma"), known.end());
#ifdef HPCLESS_HAVE_RDMA
  EXPECT_EQ(channel_unavailable_reason("direct-rdma"), "");
#else
  EXPECT_NE(channel_unavailable_reason("direct-rdma"), "");
#endif
  EXPECT_NE(channel_unavailable_reason("rdma"), "");
  ChannelSettings s;
  s.channel = "direct-rdma";
  EXPECT_EQ(hpcless_system_label(s), "hpcless-direct-rdma");
  s.spin = std::chrono::microseconds(100);
  EXPECT_EQ(hpcless_system_label(s), "hpcless-direct-rdma-spin");
}

#ifdef HPCLESS_HAVE_RDMA
TEST(CommBenchChannels, DirectRdmaTakesItsAddressFromTheOptionOrTheEnvironment) {
  ChannelSettings s;
  s.channel = "direct-rdma";
  s.spin = std::chrono::microseconds(7);
  {
    ScopedRdmaEnv env(nullptr);
    EXPECT_THROW(comm_options_for(s), ConfigError);
    s.rdma_address = "198.18.0.1";
    const auto o = comm_options_for(s);
    EXPECT_EQ(o.channel, comm::ChannelKind::kDirectRdma);
    EXPECT_EQ(o.direct.rdma_address, "198.18.0.1");
    EXPECT_EQ(o.direct.spin, std::chrono::microseconds(7));
  }
  {
    ScopedRdmaEnv env("198.18.0.2");
    s.rdma_address.clear();
    EXPECT_EQ(comm_options_for(s).direct.rdma_address, "198.18.0.2");
    s.rdma_address = "198.18.0.1";  // the option wins
    EXPECT_EQ(comm_options_for(s).direct.rdma_address, "198.18.0.1");
  }
}

TEST(CommBenchChannels, RankCommandLinesCarryTheRdmaAddress) {
  CommBenchConfig c;
  c.ranks = 2;
  c.self_exe = "/bin/hpcless";
  c.channel.channel = "direct-rdma";
  c.channel.rdma_address = "198.18.0.1";
  const auto lines = command_lines(c, "127.0.0.1:1", "g");
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& a : lines) {
    const auto it = std::find(a.begin(), a.end(), "--rdma-address");
    ASSERT_NE(it, a.end());
    ASSERT_NE(it + 1, a.end());
    EXPECT_EQ(*(it + 1), "198.18.0.1");
    EXPECT_NE(std::find(a.begin(), a.end(), "direct-rdma"), a.end());
  }
  c.channel.channel = "direct";
  for (const auto& a : command_lines(c, "127.0.0.1:1", "g"))
    EXPECT_EQ(std::find(a.begin(), a.end(), "--rdma-address"), a.end());
}

TEST(CommExperimentSeries, RdmaSeriesNeedAnAddressAndAreNeverDefault) {
  ScopedRdmaEnv env(nullptr);
  CommExperimentConfig c;
  c.out_dir = "/nonexistent/not-created-by-normalized";
  c.self_exe = "/bin/true";
  c.series = {"direct", "direct-rdma", "direct-rdma-spin"};
  EXPECT_THROW(normalized(c), ConfigError);
  c.rdma_address = "198.18.0.1";
  const auto n = normalized(c);
  EXPECT_EQ(n.series, c.series);
  const auto d = default_series(c);
  EXPECT_EQ(std::find(d.begin(), d.end(), "direct-rdma"), d.end());
  const auto known = known_series();
  EXPECT_NE(std::find(known.begin(), known.end(), "direct-rdma-spin"), known.end());
}
#endif

}  // namespace
}  // namespace hpcless::experiments::comm_bench
