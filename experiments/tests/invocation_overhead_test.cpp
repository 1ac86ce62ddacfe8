#include "experiments/invocation_overhead/invocation_overhead.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "comm/base/error.hpp"
#include "experiments/invocation_overhead/grpc_baseline.hpp"
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

TEST(Config, SystemsDefaultToAllCompiledInAndAreChecked) {
  InvocationOverheadConfig c;
  c.address = "127.0.0.1:1";
  c.out_dir = "/tmp/x";
  EXPECT_EQ(normalized(c).systems, available_systems());
  std::vector<std::string> all{"hpcless", "raw-tcp"};
  if (kGrpcBaselineCompiledIn) all.push_back("grpc");
  EXPECT_EQ(available_systems(), all);

  c.systems = {"raw-tcp", "hpcless", "raw-tcp"};  // order kept, duplicates dropped
  EXPECT_EQ(normalized(c).systems, (std::vector<std::string>{"raw-tcp", "hpcless"}));
  c.systems = {"zeromq"};
  EXPECT_THROW(normalized(c), ConfigError);
  c.systems = {"grpc"};
  if (kGrpcBaselineCompiledIn) {
    EXPECT_NO_THROW(normalized(c));
  } else {
    try {
      normalized(c);
      ADD_FAILURE() << "grpc accepted without the baseline";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("grpc baseline not compiled in"), std::string::npos);
    }
  }
  // Only hpcless needs an executor.
  c.address.clear();
  c.systems = {"raw-tcp"};
  EXPECT_NO_THROW(normalized(c));
  c.systems = {"raw-tcp", "hpcless"};
  EXPECT_THROW(normalized(c), ConfigError);
}

SummaryRow row(const char* system, const char* mode, size_t size, double p50) {
  SummaryRow r;
  r.system = system;
  r.mode = mode;
  r.payload_bytes = size;
  r.stats = summarize(std::vector<double>{p50});
  return r;
}

TEST(Table, HasAllThreeSystemsAndBothRatios) {
  const std::vector<SummaryRow> rows{row("hpcless", "hot", 64, 10), row("raw-tcp", "hot", 64, 8),
                                     row("grpc", "hot", 64, 20), row("hpcless", "warm", 64, 30)};
  const std::string t = format_overhead_table(rows);
  EXPECT_NE(t.find("grpc p50"), std::string::npos) << t;
  EXPECT_NE(t.find("grpc/hpcless"), std::string::npos) << t;
  EXPECT_NE(t.find("1.250x"), std::string::npos) << t;  // hpcless/raw-tcp
  EXPECT_NE(t.find("2.000x"), std::string::npos) << t;  // grpc/hpcless
  // warm has hpcless only: its other cells and ratios say n/a.
  const auto warm = t.substr(t.find("warm"));
  EXPECT_NE(warm.find("n/a"), std::string::npos) << t;
  EXPECT_EQ(warm.find('x'), std::string::npos) << t;
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

// The gRPC baseline on loopback, unpinned: a small and a 1 MiB echo come back intact.
TEST(GrpcBaseline, EchoesSmallAndOneMiB) {
  if (!kGrpcBaselineCompiledIn) GTEST_SKIP() << "grpc baseline not compiled in";
#if HPCLESS_HAVE_GRPC
  GrpcEchoServer server(-1, size_t{1} << 20);
  ASSERT_GT(server.port(), 0);
  GrpcEchoClient client(server.port(), Deadline::after(std::chrono::seconds(10)));
  for (size_t size : {size_t{0}, size_t{64}, size_t{1} << 20}) {
    std::vector<std::byte> payload(size);
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<std::byte>(i * 7 + 1);
    for (int rep = 0; rep < 3; ++rep) {  // the reused messages must not keep stale bytes
      const auto r = client.round_trip(payload, Deadline::after(std::chrono::seconds(10)));
      ASSERT_TRUE(r.ok) << r.error;
      EXPECT_GE(r.recv_ns, r.send_ns);
      ASSERT_EQ(client.reply().size(), size);
      EXPECT_TRUE(std::equal(payload.begin(), payload.end(), client.reply().begin()));
    }
  }
  server.stop();
  server.stop();  // idempotent
#endif
}

TEST(GrpcBaseline, OversizedMessageFailsTheCall) {
  if (!kGrpcBaselineCompiledIn) GTEST_SKIP() << "grpc baseline not compiled in";
#if HPCLESS_HAVE_GRPC
  GrpcEchoServer server(-1, 64);
  GrpcEchoClient client(server.port(), Deadline::after(std::chrono::seconds(10)));
  std::vector<std::byte> payload(4096);
  const auto r = client.round_trip(payload, Deadline::after(std::chrono::seconds(10)));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("RESOURCE_EXHAUSTED"), std::string::npos) << r.error;
#endif
}

// A whole (tiny) run without an executor: raw-tcp and grpc only. The summary has a grpc row per
// mode and size exactly when grpc is selected.
class ExperimentRun : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("hpcless-overhead-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  InvocationOverheadConfig config(std::vector<std::string> systems) const {
    InvocationOverheadConfig c;
    c.out_dir = dir_;
    c.systems = std::move(systems);
    c.sizes = {64, 4096};
    c.modes = {PollMode::kWarm, PollMode::kHot};
    c.repetitions = 6;
    c.warmup = 2;
    c.block = 4;  // two blocks per system: the alternation runs
    c.client_core = -1;
    c.server_core = -1;
    return c;
  }

  std::vector<std::string> summary_systems() const {
    std::ifstream in(dir_ / "summary.csv");
    std::vector<std::string> systems;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) systems.push_back(line.substr(0, line.find(',')));
    return systems;
  }

  std::filesystem::path dir_;
};

TEST_F(ExperimentRun, SummaryHasGrpcRowsWhenSelected) {
  if (!kGrpcBaselineCompiledIn) GTEST_SKIP() << "grpc baseline not compiled in";
  const auto outcome = run_invocation_overhead(config({"raw-tcp", "grpc"}), nullptr);
  EXPECT_EQ(outcome.failures, 0u);
  ASSERT_EQ(outcome.rows.size(), 8u);  // 2 modes x 2 sizes x 2 systems
  for (size_t i = 0; i < outcome.rows.size(); ++i) {
    const auto& r = outcome.rows[i];
    EXPECT_EQ(r.system, i % 2 == 0 ? "raw-tcp" : "grpc");
    EXPECT_EQ(r.stats.count, 6u) << r.system << " " << r.mode << " " << r.payload_bytes;
  }
  EXPECT_EQ(summary_systems(), (std::vector<std::string>{"raw-tcp", "grpc", "raw-tcp", "grpc",
                                                         "raw-tcp", "grpc", "raw-tcp", "grpc"}));
  std::ifstream meta_in(dir_ / "metadata.json");
  const auto meta = nlohmann::json::parse(meta_in);
  EXPECT_EQ(meta["grpc_version"], grpc_version());
  EXPECT_EQ(meta["config"]["systems"], (std::vector<std::string>{"raw-tcp", "grpc"}));
  EXPECT_TRUE(meta["config"]["executor"].is_null());
  // Per series two blocks (4 + 2 timed), each after 2 warm-up calls: 10 records, 8 series.
  EXPECT_EQ(outcome.records, 80u);
}

TEST_F(ExperimentRun, NoGrpcRowsWhenLeftOut) {
  const auto outcome = run_invocation_overhead(config({"raw-tcp"}), nullptr);
  EXPECT_EQ(outcome.rows.size(), 4u);
  for (const auto& s : summary_systems()) EXPECT_EQ(s, "raw-tcp");
}

}  // namespace
}  // namespace hpcless::experiments
