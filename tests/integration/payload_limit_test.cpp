// The payload limit: the largest allowed payload round trips intact, one byte more is refused by
// the client without a round trip, and the worker enforces the limit itself against a client
// that ignores it, answering on the same connection and then serving it normally.
#include <gtest/gtest.h>

#include "comm/base/error.hpp"
#include "tests/integration/executor_fixture.hpp"
#include "tests/integration/raw_client.hpp"

namespace hpcless::itest {
namespace {

using namespace std::chrono_literals;
using client::InvocationResult;
using protocol::MessageType;
using protocol::Status;

constexpr uint32_t kDefaultLimit = 64u * 1024 * 1024;
constexpr uint32_t kSmallLimit = 1024 * 1024;

class PayloadLimitTest : public TransportTest {};

TEST_P(PayloadLimitTest, LargestPayloadRoundTripsAndOneByteMoreIsRefusedLocally) {
  ExecutorProcess exec({.transport = GetParam()});
  auto conn = exec.connect(Mode::kWarm);
  ASSERT_EQ(conn->info().max_payload, kDefaultLimit);
  const uint32_t echo = conn->function_id("echo");

  auto input = pattern_bytes(kDefaultLimit, 64);
  InvocationResult r;
  // Generous: 64 MiB each way through loopback, under sanitizers too.
  ASSERT_EQ(conn->invoke(echo, input, r, Deadline::after(60s)), Status::kOk) << r.error_message();
  EXPECT_TRUE(same_bytes(input, r.output));
  expect_timestamps_ordered(r);

  input.push_back(std::byte{1});
  r.server = {};
  EXPECT_EQ(conn->invoke(echo, input, r, Deadline::after(5s)), Status::kPayloadTooLarge);
  EXPECT_EQ(r.status, Status::kPayloadTooLarge);
  EXPECT_TRUE(r.output.empty());
  EXPECT_EQ(r.server.recv_ns, 0u) << "the worker saw a request the client should have refused";
  EXPECT_EQ(conn->in_flight(), 0u);

  // Nothing was sent, so the connection is intact.
  const auto small = to_bytes("after the refusal");
  ASSERT_EQ(conn->invoke(echo, small, r, Deadline::after(5s)), Status::kOk) << r.error_message();
  EXPECT_EQ(r.output_text(), "after the refusal");
}

TEST_P(PayloadLimitTest, ClientRefusesInputAboveAConfiguredLimit) {
  ExecutorProcess exec({.transport = GetParam(), .max_payload = kSmallLimit});
  auto conn = exec.connect(Mode::kWarm);
  ASSERT_EQ(conn->info().max_payload, kSmallLimit);
  const uint32_t echo = conn->function_id("echo");
  InvocationResult r;
  const auto at_limit = pattern_bytes(kSmallLimit, 3);
  ASSERT_EQ(conn->invoke(echo, at_limit, r, Deadline::after(10s)), Status::kOk)
      << r.error_message();
  EXPECT_TRUE(same_bytes(at_limit, r.output));
  const auto above = pattern_bytes(kSmallLimit + 1, 3);
  EXPECT_EQ(conn->invoke(echo, above, r, Deadline::after(5s)), Status::kPayloadTooLarge);
  client::Future f;
  EXPECT_EQ(conn->invoke_async(echo, above, f, Deadline::after(5s)), Status::kPayloadTooLarge);
  EXPECT_FALSE(f.valid());
  EXPECT_EQ(conn->in_flight(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Transports, PayloadLimitTest, ::testing::ValuesIn(transports()),
                         [](const auto& info) { return info.param; });

// Wire level (TCP only): a client that ignores the advertised limit.
TEST(TcpWireTest, WorkerRefusesOversizedPayloadAndKeepsTheConnection) {
  ExecutorProcess exec({.max_payload = kSmallLimit});
  RawClient raw(exec.address());
  const auto ack = raw.hello();
  ASSERT_EQ(ack.max_payload, kSmallLimit);
  uint32_t echo = 0;
  while (echo < ack.functions.size() && ack.functions[echo] != "echo") ++echo;
  ASSERT_LT(echo, ack.functions.size());

  // Header and all of the oversized payload: the worker answers and skips the bytes.
  raw.send_invoke(41, echo, pattern_bytes(kSmallLimit + 1, 9));
  auto reply = raw.read_frame(Deadline::after(10s));
  ASSERT_TRUE(reply.has_value()) << "the worker closed the connection";
  EXPECT_EQ(reply->header.type, MessageType::kError);
  EXPECT_EQ(reply->header.status, Status::kPayloadTooLarge) << reply->text();
  EXPECT_EQ(reply->header.request_id, 41u);
  EXPECT_NE(reply->text().find(std::to_string(kSmallLimit + 1)), std::string::npos)
      << reply->text();

  // The same connection then serves a valid request.
  raw.send_invoke(42, echo, to_bytes("valid again"));
  reply = raw.read_frame(Deadline::after(5s));
  ASSERT_TRUE(reply.has_value()) << "the worker closed the connection";
  EXPECT_EQ(reply->header.type, MessageType::kResult) << reply->text();
  EXPECT_EQ(reply->header.request_id, 42u);
  EXPECT_EQ(reply->text(), "valid again");
}

}  // namespace
}  // namespace hpcless::itest
