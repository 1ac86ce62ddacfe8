// Deadlines: a slow function makes the call throw TimeoutError on time, an unreachable address
// fails fast, and a reply that arrives after its request was abandoned is discarded (not handed
// to the next request).
#include <gtest/gtest.h>

#include <thread>

#include "comm/base/error.hpp"
#include "tests/integration/executor_fixture.hpp"

namespace hpcless::itest {
namespace {

using namespace std::chrono_literals;
using client::InvocationResult;
using protocol::Status;

double seconds_since(uint64_t t0) { return static_cast<double>(now_ns() - t0) / 1e9; }

class DeadlineTest : public ::testing::TestWithParam<std::tuple<std::string, Mode>> {
 protected:
  void SetUp() override {
    exec_ =
        std::make_unique<ExecutorProcess>(ExecutorOptions{.transport = std::get<0>(GetParam())});
    conn_ = exec_->connect(std::get<1>(GetParam()));
  }

  void expect_echo_works(std::string_view text) {
    InvocationResult r;
    const auto in = to_bytes(text);
    ASSERT_EQ(conn_->invoke(conn_->function_id("echo"), in, r, Deadline::after(5s)), Status::kOk)
        << r.error_message();
    EXPECT_EQ(r.output_text(), text);
  }

  std::unique_ptr<ExecutorProcess> exec_;
  std::unique_ptr<client::Connection> conn_;
};

TEST_P(DeadlineTest, SlowFunctionThrowsTimeoutErrorOnTime) {
  InvocationResult r;
  const auto in = to_bytes("3000000");  // 3 s
  const uint64_t t0 = now_ns();
  EXPECT_THROW(conn_->invoke(conn_->function_id("sleep"), in, r, Deadline::after(200ms)),
               TimeoutError);
  const double took = seconds_since(t0);
  EXPECT_GE(took, 0.19);
  EXPECT_LT(took, 2.0);
}

TEST_P(DeadlineTest, FutureGetThrowsTimeoutErrorOnTime) {
  client::Future f;
  const auto in = to_bytes("3000000");
  ASSERT_EQ(conn_->invoke_async(conn_->function_id("sleep"), in, f, Deadline::after(5s)),
            Status::kOk);
  const uint64_t t0 = now_ns();
  EXPECT_THROW(f.get(Deadline::after(200ms)), TimeoutError);
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_FALSE(f.ready());
}

TEST_P(DeadlineTest, LateReplyOfAnAbandonedRequestIsDiscarded) {
  InvocationResult r;
  const auto in = to_bytes("300000");  // 300 ms
  EXPECT_THROW(conn_->invoke(conn_->function_id("sleep"), in, r, Deadline::after(50ms)),
               TimeoutError);
  // The next request queues behind the sleep; the sleep's late reply arrives first and must not
  // be taken for this one.
  expect_echo_works("after the abandoned request");
  EXPECT_EQ(conn_->in_flight(), 0u);
  expect_echo_works("and once more");
}

TEST_P(DeadlineTest, LateReplyOfADroppedFutureIsDiscarded) {
  {
    client::Future f;
    const auto in = to_bytes("200000");  // 200 ms
    ASSERT_EQ(conn_->invoke_async(conn_->function_id("sleep"), in, f, Deadline::after(5s)),
              Status::kOk);
  }  // dropped unfinished
  expect_echo_works("after the dropped future");
  EXPECT_EQ(conn_->in_flight(), 0u);
}

TEST_P(DeadlineTest, AbandonedRequestsFreeTheirSlotsWhenTheirRepliesArrive) {
  auto opts = connect_options(std::get<1>(GetParam()));
  opts.max_inflight = 4;
  conn_ = exec_->connect(opts);
  const uint32_t sleep = conn_->function_id("sleep");
  const auto in = to_bytes("20000");  // 20 ms
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) {
      client::Future f;
      ASSERT_EQ(conn_->invoke_async(sleep, in, f, Deadline::after(5s)), Status::kOk)
          << "round " << round << ", request " << i;
    }  // each future dropped unfinished
    // Abandoned requests are still in flight until their replies arrive...
    EXPECT_EQ(conn_->in_flight(), 4u);
    client::Future extra;
    EXPECT_EQ(conn_->invoke_async(sleep, in, extra, Deadline::after(5s)), Status::kTooManyInFlight);
    // ...and then free their slots.
    conn_->drain(Deadline::after(5s));
    EXPECT_EQ(conn_->in_flight(), 0u);
  }
  expect_echo_works("all discarded");
}

INSTANTIATE_TEST_SUITE_P(Transports, DeadlineTest,
                         ::testing::Combine(::testing::ValuesIn(transports()),
                                            ::testing::Values(Mode::kHot, Mode::kWarm)),
                         [](const ::testing::TestParamInfo<DeadlineTest::ParamType>& info) {
                           return std::get<0>(info.param) + "_" +
                                  to_string(std::get<1>(info.param));
                         });

class ConnectDeadlineTest : public TransportTest {};

TEST_P(ConnectDeadlineTest, NothingListeningThrowsIoErrorQuickly) {
  const ClosedPort closed;
  const std::string address = closed.address();

  auto opts = connect_options(Mode::kWarm);
  opts.connect_timeout = 5s;
  const uint64_t t0 = now_ns();
  EXPECT_THROW(client::Connection::connect(address, opts), IoError);
  EXPECT_LT(seconds_since(t0), 2.0);
}

TEST_P(ConnectDeadlineTest, MalformedAddressIsAConfigError) {
  EXPECT_THROW(client::Connection::connect("no-port-here", connect_options(Mode::kWarm)),
               ConfigError);
  EXPECT_THROW(client::Connection::connect("127.0.0.1:99999", connect_options(Mode::kWarm)),
               ConfigError);
}

INSTANTIATE_TEST_SUITE_P(Transports, ConnectDeadlineTest, ::testing::ValuesIn(transports()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hpcless::itest
