// The alpha-beta cost model behind ChannelKind::kAuto (comm/communicator/cost_model.hpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/communicator/cost_model.hpp"

using namespace hpcless;
using namespace hpcless::comm;

namespace {

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("grp-cost-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

}  // namespace

TEST(CostModelFit, RecoversAnExactLine) {
  const std::vector<std::pair<double, double>> pts = {{8, 10.0 + 8 * 0.002},
                                                      {65536, 10.0 + 65536 * 0.002},
                                                      {4194304, 10.0 + 4194304 * 0.002}};
  const auto c = fit_alpha_beta(pts, 4);
  EXPECT_NEAR(c.alpha_us, 10.0, 1e-6);
  EXPECT_NEAR(c.beta_us_per_byte, 0.002, 1e-12);
  EXPECT_EQ(c.ranks, 4);
}

TEST(CostModelFit, OnePointIsAConstant) {
  const std::vector<std::pair<double, double>> pts = {{8, 42.0}};
  const auto c = fit_alpha_beta(pts, 2);
  EXPECT_DOUBLE_EQ(c.alpha_us, 42.0);
  EXPECT_DOUBLE_EQ(c.beta_us_per_byte, 0.0);
}

TEST(CostModelFit, KeepsAlphaAndBetaNonNegative) {
  // Falling with size (noise): no negative beta.
  const std::vector<std::pair<double, double>> falling = {{8, 100}, {65536, 90}, {1 << 20, 80}};
  const auto f = fit_alpha_beta(falling, 4);
  EXPECT_GE(f.alpha_us, 0);
  EXPECT_EQ(f.beta_us_per_byte, 0);
  // Through the origin or below: no negative alpha.
  const std::vector<std::pair<double, double>> steep = {{1000, 1}, {2000, 3}, {4000, 7}};
  const auto s = fit_alpha_beta(steep, 4);
  EXPECT_EQ(s.alpha_us, 0);
  EXPECT_GT(s.beta_us_per_byte, 0);
}

TEST(CostModelFit, RejectsUnusableInput) {
  EXPECT_THROW(fit_alpha_beta({}, 4), ConfigError);
  const std::vector<std::pair<double, double>> bad = {{8, -1}};
  EXPECT_THROW(fit_alpha_beta(bad, 4), ConfigError);
  const std::vector<std::pair<double, double>> ok = {{8, 1}};
  EXPECT_THROW(fit_alpha_beta(ok, 0), ConfigError);
}

TEST(CostModel, DefaultsFollowTheBenchmarkFigures) {
  const auto m = CostModel::defaults();
  for (auto k : {ChannelKind::kDirect, ChannelKind::kRedis, ChannelKind::kS3})
    for (auto op : {OpClass::kP2p, OpClass::kAllreduce, OpClass::kBcast})
      ASSERT_TRUE(m.get(k, op).has_value()) << to_string(k) << " " << to_string(op);
  // docs/comm-bench.md: direct allreduce 8 B 71.7 us, 4 MiB 10334 us (4 ranks); within the
  // fit's relative error.
  EXPECT_NEAR(*m.predict(ChannelKind::kDirect, OpClass::kAllreduce, 4, 8), 71.7, 71.7 * 0.5);
  EXPECT_NEAR(*m.predict(ChannelKind::kDirect, OpClass::kAllreduce, 4, 4194304), 10334,
              10334 * 0.5);
  // Direct beats the stores at every size on the default figures.
  for (size_t n : {size_t{8}, size_t{65536}, size_t{4194304}}) {
    const ChannelKind all[] = {ChannelKind::kS3, ChannelKind::kRedis, ChannelKind::kDirect};
    EXPECT_EQ(m.choose(all, OpClass::kAllreduce, 4, n), ChannelKind::kDirect) << n;
  }
  // One rank communicates nothing.
  EXPECT_EQ(*m.predict(ChannelKind::kS3, OpClass::kAllreduce, 1, 1 << 20), 0.0);
}

TEST(CostModel, ChoiceFlipsWithMessageSize) {
  CostModel m;
  // A channel with low latency and low bandwidth against one with high latency and high
  // bandwidth: the crossover is at (500 - 10) / (0.01 - 0.0001) ~ 49.5 KB.
  m.set(ChannelKind::kDirect, OpClass::kAllreduce, {10, 0.01, 4});
  m.set(ChannelKind::kRedis, OpClass::kAllreduce, {500, 0.0001, 4});
  const ChannelKind both[] = {ChannelKind::kDirect, ChannelKind::kRedis};
  EXPECT_EQ(m.choose(both, OpClass::kAllreduce, 4, 8), ChannelKind::kDirect);
  EXPECT_EQ(m.choose(both, OpClass::kAllreduce, 4, 40000), ChannelKind::kDirect);
  EXPECT_EQ(m.choose(both, OpClass::kAllreduce, 4, 60000), ChannelKind::kRedis);
  EXPECT_EQ(m.choose(both, OpClass::kAllreduce, 4, 1 << 20), ChannelKind::kRedis);
}

TEST(CostModel, ChoiceFollowsAvailability) {
  CostModel m;
  m.set(ChannelKind::kDirect, OpClass::kBcast, {100, 0, 4});
  m.set(ChannelKind::kRedis, OpClass::kBcast, {50, 0, 4});
  const ChannelKind both[] = {ChannelKind::kDirect, ChannelKind::kRedis};
  const ChannelKind direct_only[] = {ChannelKind::kDirect};
  EXPECT_EQ(m.choose(both, OpClass::kBcast, 4, 8), ChannelKind::kRedis);
  EXPECT_EQ(m.choose(direct_only, OpClass::kBcast, 4, 8), ChannelKind::kDirect);
  // A candidate without an entry is never preferred to one with an entry...
  const ChannelKind s3_first[] = {ChannelKind::kS3, ChannelKind::kDirect};
  EXPECT_EQ(m.choose(s3_first, OpClass::kBcast, 4, 8), ChannelKind::kDirect);
  // ...and with no entries at all, the first candidate is taken.
  const ChannelKind s3_only[] = {ChannelKind::kS3};
  EXPECT_EQ(m.choose(s3_only, OpClass::kBcast, 4, 8), ChannelKind::kS3);
  EXPECT_THROW(m.choose({}, OpClass::kBcast, 4, 8), ConfigError);
  const ChannelKind with_auto[] = {ChannelKind::kAuto};
  EXPECT_THROW(m.choose(with_auto, OpClass::kBcast, 4, 8), ConfigError);
}

TEST(CostModel, TiesGoToTheEarlierCandidate) {
  CostModel m;
  m.set(ChannelKind::kDirect, OpClass::kP2p, {10, 0, 2});
  m.set(ChannelKind::kRedis, OpClass::kP2p, {10, 0, 2});
  const ChannelKind a[] = {ChannelKind::kRedis, ChannelKind::kDirect};
  const ChannelKind b[] = {ChannelKind::kDirect, ChannelKind::kRedis};
  EXPECT_EQ(m.choose(a, OpClass::kP2p, 2, 8), ChannelKind::kRedis);
  EXPECT_EQ(m.choose(b, OpClass::kP2p, 2, 8), ChannelKind::kDirect);
}

TEST(CostModel, GroupSizeScalesLatencyForPeersAndBandwidthForStores) {
  CostModel m;
  m.set(ChannelKind::kDirect, OpClass::kAllreduce, {10, 0.001, 4});  // log2(4) = 2 steps
  m.set(ChannelKind::kRedis, OpClass::kAllreduce, {100, 0.001, 4});  // 3 contributions
  EXPECT_DOUBLE_EQ(*m.predict(ChannelKind::kDirect, OpClass::kAllreduce, 16, 0), 20.0);
  EXPECT_DOUBLE_EQ(*m.predict(ChannelKind::kDirect, OpClass::kAllreduce, 16, 1000), 21.0);
  EXPECT_DOUBLE_EQ(*m.predict(ChannelKind::kRedis, OpClass::kAllreduce, 16, 0), 100.0);
  EXPECT_DOUBLE_EQ(*m.predict(ChannelKind::kRedis, OpClass::kAllreduce, 16, 1000), 105.0);
}

TEST(CostModel, JsonRoundTrip) {
  CostModel m = CostModel::defaults();
  m.set(ChannelKind::kRedis, OpClass::kAllreduce, {123.5, 0.25, 8});
  const auto back = CostModel::from_json(m.to_json("test"), "round-trip");
  const auto c = back.get(ChannelKind::kRedis, OpClass::kAllreduce).value();
  EXPECT_DOUBLE_EQ(c.alpha_us, 123.5);
  EXPECT_DOUBLE_EQ(c.beta_us_per_byte, 0.25);
  EXPECT_EQ(c.ranks, 8);
}

TEST(CostModel, FileEntriesOverrideDefaultsOthersStay) {
  TempDir d;
  write(d.path() / "cost_model.json",
        R"({"version": 1, "channels": {"redis": {"allreduce": )"
        R"({"alpha_us": 1, "beta_us_per_byte": 0, "ranks": 4}}}})");
  const auto m = CostModel::load((d.path() / "cost_model.json").string());
  EXPECT_DOUBLE_EQ(m.get(ChannelKind::kRedis, OpClass::kAllreduce)->alpha_us, 1.0);
  EXPECT_DOUBLE_EQ(m.get(ChannelKind::kDirect, OpClass::kAllreduce)->alpha_us,
                   CostModel::defaults().get(ChannelKind::kDirect, OpClass::kAllreduce)->alpha_us);
  // With that file Redis wins small allreduces.
  const ChannelKind both[] = {ChannelKind::kDirect, ChannelKind::kRedis};
  EXPECT_EQ(m.choose(both, OpClass::kAllreduce, 4, 8), ChannelKind::kRedis);
}

TEST(CostModel, RunConfigurationPointsAtTheModel) {
  TempDir d;
  write(d.path() / "model.json",
        R"({"channels": {"s3": {"bcast": {"alpha_us": 2, "beta_us_per_byte": 0}}}})");
  write(d.path() / "run.json", R"({"storage": {}, "comm": {"cost_model": "model.json"}})");
  const auto m = CostModel::load((d.path() / "run.json").string());
  EXPECT_DOUBLE_EQ(m.get(ChannelKind::kS3, OpClass::kBcast)->alpha_us, 2.0);
  write(d.path() / "inline.json",
        R"({"comm": {"cost_model": {"channels": {"direct": {"p2p": )"
        R"({"alpha_us": 3, "beta_us_per_byte": 0}}}}}})");
  EXPECT_DOUBLE_EQ(CostModel::load((d.path() / "inline.json").string())
                       .get(ChannelKind::kDirect, OpClass::kP2p)
                       ->alpha_us,
                   3.0);
}

TEST(CostModel, BadFilesGiveClearErrors) {
  TempDir d;
  const auto expect_error = [&](const std::string& text, const std::string& needle) {
    write(d.path() / "m.json", text);
    try {
      CostModel::load((d.path() / "m.json").string());
      ADD_FAILURE() << "accepted: " << text;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("{", "not valid JSON");
  expect_error("[]", "expected a JSON object");
  expect_error("{}", "neither");
  expect_error(R"({"channels": {"tcp": {}}})", "unknown channel");
  expect_error(R"({"channels": {"direct": {"alltoall": {}}}})", "unknown operation class");
  expect_error(R"({"channels": {"direct": {"p2p": {"alpha_us": -1, "beta_us_per_byte": 0}}}})",
               "alpha_us");
  expect_error(R"({"channels": {"direct": {"p2p": {"alpha_us": 1}}}})", "beta_us_per_byte");
  expect_error(R"({"version": 2, "channels": {}})", "version");
  EXPECT_THROW(CostModel::load((d.path() / "missing.json").string()), ConfigError);
}
