// Bad input on a connection gets its error status (or a clean close) and never stops the
// executor from serving the next client.
#include <gtest/gtest.h>

#include "comm/base/error.hpp"
#include "tests/integration/executor_fixture.hpp"
#include "tests/integration/raw_client.hpp"

namespace hpcless::itest {
namespace {

using namespace std::chrono_literals;
using protocol::Header;
using protocol::MessageType;
using protocol::Status;

// Reads the next frame and checks that it is an Error with `status` (and `request_id`).
void expect_error_frame(RawClient& raw, Status status, uint64_t request_id) {
  const auto f = raw.read_frame(Deadline::after(5s));
  ASSERT_TRUE(f.has_value()) << "the worker closed the connection without an error frame";
  EXPECT_EQ(f->header.type, MessageType::kError) << protocol::to_string(f->header.type);
  EXPECT_EQ(f->header.status, status) << protocol::to_string(f->header.status) << ": " << f->text();
  EXPECT_EQ(f->header.request_id, request_id);
  EXPECT_FALSE(f->text().empty()) << "error frames carry a message";
}

void expect_closed(RawClient& raw) {
  std::optional<RawFrame> f;
  ASSERT_NO_THROW(f = raw.read_frame(Deadline::after(5s))) << "the connection stayed open";
  EXPECT_FALSE(f.has_value()) << "unexpected " << protocol::to_string(f->header.type) << " frame";
}

uint32_t echo_id(const protocol::HelloAck& ack) {
  for (uint32_t i = 0; i < ack.functions.size(); ++i)
    if (ack.functions[i] == "echo") return i;
  throw Error("no echo in the package");
}

class MalformedInputTest : public ::testing::Test {
 protected:
  void TearDown() override { expect_serves_new_client(exec_); }
  ExecutorProcess exec_;
};

TEST_F(MalformedInputTest, GarbageBytesGetMalformedFrameThenClose) {
  RawClient raw(exec_.address());
  raw.send_bytes(to_bytes("GET / HTTP/1.1\r\n\r\n"));
  expect_error_frame(raw, Status::kMalformedFrame, 0);
  expect_closed(raw);
}

TEST_F(MalformedInputTest, WrongVersionGetsUnsupportedVersionThenClose) {
  RawClient raw(exec_.address());
  Header h;
  h.type = MessageType::kHello;
  std::vector<std::byte> bytes(protocol::kHeaderSize);
  protocol::encode_header(h, bytes);
  bytes[4] = std::byte{protocol::kVersion + 1};
  raw.send_bytes(bytes);
  expect_error_frame(raw, Status::kUnsupportedVersion, 0);
  expect_closed(raw);
}

TEST_F(MalformedInputTest, UnknownMessageTypeGetsMalformedFrameThenClose) {
  RawClient raw(exec_.address());
  std::vector<std::byte> bytes(protocol::kHeaderSize);
  protocol::encode_header(Header{}, bytes);
  bytes[5] = std::byte{200};
  raw.send_bytes(bytes);
  expect_error_frame(raw, Status::kMalformedFrame, 0);
  expect_closed(raw);
}

TEST_F(MalformedInputTest, InvokeBeforeHelloGetsNotAuthenticatedThenClose) {
  RawClient raw(exec_.address());
  raw.send_invoke(7, 1, to_bytes("too early"));
  expect_error_frame(raw, Status::kNotAuthenticated, 7);
  expect_closed(raw);
}

TEST_F(MalformedInputTest, BadHelloBodyGetsMalformedFrameThenClose) {
  RawClient raw(exec_.address());
  Header h;
  h.type = MessageType::kHello;
  const auto body = to_bytes("\x01\x02\x03");
  h.payload_len = static_cast<uint32_t>(body.size());
  raw.send_frame(h, body);
  expect_error_frame(raw, Status::kMalformedFrame, 0);
  expect_closed(raw);
}

TEST_F(MalformedInputTest, TruncatedHeaderThenCloseLeavesTheExecutorServing) {
  RawClient raw(exec_.address());
  Header h;
  h.type = MessageType::kHello;
  std::vector<std::byte> bytes(protocol::kHeaderSize);
  protocol::encode_header(h, bytes);
  raw.send_bytes(std::span<const std::byte>(bytes).first(10));
  raw.close();
  // TearDown checks that the next client is served.
}

TEST_F(MalformedInputTest, HalfAPayloadThenCloseLeavesTheExecutorServing) {
  RawClient raw(exec_.address());
  const auto ack = raw.hello();
  Header h;
  h.type = MessageType::kInvoke;
  h.request_id = 3;
  h.function_id = echo_id(ack);
  h.payload_len = 1000;
  std::vector<std::byte> bytes(protocol::kHeaderSize + 500, std::byte{'x'});
  protocol::encode_header(h, bytes);
  raw.send_bytes(bytes);
  raw.close();
}

TEST_F(MalformedInputTest, UnknownFunctionIdGetsAnErrorAndTheConnectionStaysUsable) {
  RawClient raw(exec_.address());
  const auto ack = raw.hello();
  raw.send_invoke(5, 999, to_bytes("x"));
  expect_error_frame(raw, Status::kUnknownFunction, 5);
  raw.send_invoke(6, echo_id(ack), to_bytes("still here"));
  const auto f = raw.read_frame(Deadline::after(5s));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->header.type, MessageType::kResult);
  EXPECT_EQ(f->header.request_id, 6u);
  EXPECT_EQ(f->text(), "still here");
}

TEST_F(MalformedInputTest, SecondHelloGetsUnexpectedMessageAndTheConnectionStaysUsable) {
  RawClient raw(exec_.address());
  const auto ack = raw.hello();
  Header h;
  h.type = MessageType::kHello;
  const auto body = protocol::encode(protocol::Hello{});
  h.payload_len = static_cast<uint32_t>(body.size());
  raw.send_frame(h, body);
  expect_error_frame(raw, Status::kUnexpectedMessage, 0);
  raw.send_invoke(8, echo_id(ack), to_bytes("usable"));
  const auto f = raw.read_frame(Deadline::after(5s));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->header.request_id, 8u);
  EXPECT_EQ(f->text(), "usable");
}

TEST_F(MalformedInputTest, ManyBadClientsInARow) {
  // Alternating abuse, each followed by a good client.
  for (int i = 0; i < 10; ++i) {
    {
      RawClient raw(exec_.address());
      raw.send_bytes(pattern_bytes(64, static_cast<uint32_t>(i) + 1));
      raw.close();
    }
    expect_serves_new_client(exec_);
  }
}

// Through the client library, on every transport.
class UnknownFunctionTest : public TransportTest {};

TEST_P(UnknownFunctionTest, FunctionIdOfAnUnknownNameNamesTheOfferedFunctions) {
  ExecutorProcess exec({.transport = GetParam()});
  auto conn = exec.connect(Mode::kWarm);
  try {
    conn->function_id("nope");
    FAIL() << "function_id(\"nope\") did not throw";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'nope'"), std::string::npos) << what;
    for (const char* f : {"noop", "echo", "sleep", "checksum"})
      EXPECT_NE(what.find(f), std::string::npos) << what;
  }
  // The connection is unaffected.
  client::InvocationResult r;
  const auto in = to_bytes("fine");
  EXPECT_EQ(conn->invoke(conn->function_id("echo"), in, r, Deadline::after(5s)), Status::kOk);
  EXPECT_EQ(r.output_text(), "fine");
}

TEST_P(UnknownFunctionTest, OutOfRangeFunctionIdThroughTheLibrary) {
  ExecutorProcess exec({.transport = GetParam()});
  auto conn = exec.connect(Mode::kWarm);
  client::InvocationResult r;
  EXPECT_EQ(conn->invoke(12345, {}, r, Deadline::after(5s)), Status::kUnknownFunction);
  EXPECT_NE(r.error_message().find("12345"), std::string::npos) << r.error_message();
  const auto in = to_bytes("fine");
  EXPECT_EQ(conn->invoke(conn->function_id("echo"), in, r, Deadline::after(5s)), Status::kOk);
  EXPECT_EQ(r.output_text(), "fine");
}

INSTANTIATE_TEST_SUITE_P(Transports, UnknownFunctionTest, ::testing::ValuesIn(transports()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hpcless::itest
