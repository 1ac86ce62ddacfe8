// Every function of the core package over a hot connection (worker busy-polls, client spins) and
// a warm one (both block), with the server timestamps checked against the client's clock.
#include <gtest/gtest.h>

#include <tuple>

#include "comm/base/error.hpp"
#include "tests/integration/executor_fixture.hpp"

namespace hpcless::itest {
namespace {

using namespace std::chrono_literals;
using client::InvocationResult;
using protocol::Status;

class CoreFunctionsTest : public ::testing::TestWithParam<std::tuple<std::string, Mode>> {
 protected:
  void SetUp() override {
    ExecutorOptions o;
    o.transport = std::get<0>(GetParam());
    exec_ = std::make_unique<ExecutorProcess>(o);
    conn_ = exec_->connect(std::get<1>(GetParam()));
  }

  // Invokes `fn` with a 5 s deadline; successful results get their timestamps checked.
  InvocationResult call(std::string_view fn, std::span<const std::byte> input) {
    InvocationResult r;
    conn_->invoke(conn_->function_id(fn), input, r, Deadline::after(5s));
    if (r.ok()) expect_timestamps_ordered(r);
    return r;
  }

  std::unique_ptr<ExecutorProcess> exec_;
  std::unique_ptr<client::Connection> conn_;
};

TEST_P(CoreFunctionsTest, HelloAckDescribesTheWorker) {
  const auto& info = conn_->info();
  const int32_t expected_timeout =
      std::get<1>(GetParam()) == Mode::kHot ? protocol::kHotAlways : protocol::kWarmAlways;
  EXPECT_EQ(info.hot_timeout_ms, expected_timeout);
  EXPECT_EQ(info.package_name, "hpcless-core");
  EXPECT_EQ(info.functions, (std::vector<std::string>{"noop", "echo", "sleep", "checksum"}));
  EXPECT_EQ(info.max_payload, 64u * 1024 * 1024);
  EXPECT_GE(info.max_inflight, 1u);
  EXPECT_EQ(info.worker_id, 0u);
  EXPECT_EQ(info.node_name, "itest-node");
  EXPECT_NO_THROW(conn_->ping(Deadline::after(5s)));
}

TEST_P(CoreFunctionsTest, NoopReturnsNothing) {
  for (int i = 0; i < 3; ++i) {
    const auto r = call("noop", {});
    ASSERT_TRUE(r.ok()) << r.error_message();
    EXPECT_TRUE(r.output.empty());
  }
  // Input is ignored, not echoed.
  const auto r = call("noop", to_bytes("ignored"));
  ASSERT_TRUE(r.ok()) << r.error_message();
  EXPECT_TRUE(r.output.empty());
}

TEST_P(CoreFunctionsTest, EchoReturnsBinaryInputExactly) {
  std::vector<std::vector<std::byte>> inputs;
  inputs.emplace_back();                    // empty
  inputs.push_back({std::byte{0}});         // a single zero
  inputs.emplace_back(1000, std::byte{0});  // only zeros
  std::vector<std::byte> all_values;
  for (int rep = 0; rep < 4; ++rep)
    for (int v = 0; v < 256; ++v) all_values.push_back(static_cast<std::byte>(v));
  inputs.push_back(all_values);                 // every byte value
  inputs.push_back(pattern_bytes(100'000, 7));  // larger than one TCP segment
  for (const auto& in : inputs) {
    const auto r = call("echo", in);
    ASSERT_TRUE(r.ok()) << r.error_message();
    EXPECT_TRUE(same_bytes(in, r.output)) << "input of " << in.size() << " bytes";
    EXPECT_EQ(r.input_bytes, in.size());
  }
}

TEST_P(CoreFunctionsTest, SleepTakesAtLeastTheRequestedTimeOnTheServer) {
  const auto r = call("sleep", to_bytes("2000"));
  ASSERT_TRUE(r.ok()) << r.error_message();
  EXPECT_TRUE(r.output.empty());
  EXPECT_GE(r.server.end_ns - r.server.start_ns, 2'000'000u);
}

TEST_P(CoreFunctionsTest, SleepRejectsInputThatIsNotANumber) {
  const auto r = call("sleep", to_bytes("two ms"));
  EXPECT_EQ(r.status, Status::kFunctionFailed);
  EXPECT_NE(r.output_text().find("decimal number of microseconds"), std::string_view::npos)
      << r.output_text();
}

TEST_P(CoreFunctionsTest, ChecksumIsTheZlibCrc32OfTheInput) {
  for (const size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 20}) {
    const auto in = pattern_bytes(n, static_cast<uint32_t>(n) + 1);
    const auto r = call("checksum", in);
    ASSERT_TRUE(r.ok()) << r.error_message();
    EXPECT_EQ(r.output_text(), crc32_hex(in)) << "input of " << n << " bytes";
  }
  // A known value, independent of the helper: CRC32("123456789") = cbf43926.
  const auto r = call("checksum", to_bytes("123456789"));
  ASSERT_TRUE(r.ok()) << r.error_message();
  EXPECT_EQ(r.output_text(), "cbf43926");
}

TEST_P(CoreFunctionsTest, ManySequentialCallsReuseTheConnection) {
  const uint32_t echo = conn_->function_id("echo");
  InvocationResult r;
  for (int i = 0; i < 300; ++i) {
    const auto in = to_bytes("request " + std::to_string(i));
    ASSERT_EQ(conn_->invoke(echo, in, r, Deadline::after(5s)), Status::kOk) << r.error_message();
    ASSERT_EQ(r.output_text(), "request " + std::to_string(i));
    expect_timestamps_ordered(r);
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, CoreFunctionsTest,
                         ::testing::Combine(::testing::ValuesIn(transports()),
                                            ::testing::Values(Mode::kHot, Mode::kWarm)),
                         [](const ::testing::TestParamInfo<CoreFunctionsTest::ParamType>& info) {
                           return std::get<0>(info.param) + "_" +
                                  to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace hpcless::itest
