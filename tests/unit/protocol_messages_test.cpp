// Unit tests of the set-up message bodies: round trips at the size limits, the byte layout, and
// rejection of truncated, padded and oversized bodies.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/protocol/messages.hpp"

namespace hpcless::protocol {
namespace {

using Body = std::vector<std::byte>;

// Every byte value, so that strings are treated as bytes (no NUL termination, no UTF-8 checks).
std::string binary_string(size_t n, unsigned seed = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + seed) & 0xff);
  return s;
}

void put_u16(Body& b, uint16_t v) {
  b.push_back(static_cast<std::byte>(v & 0xff));
  b.push_back(static_cast<std::byte>(v >> 8));
}

void put_u32(Body& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
}

void put_bytes(Body& b, size_t n, std::byte value = std::byte{'x'}) { b.insert(b.end(), n, value); }

// Decoding every strict prefix of a valid body must throw ProtocolError (and nothing else).
template <class Decode>
void expect_every_truncation_rejected(const Body& body, Decode decode) {
  for (size_t n = 0; n < body.size(); ++n) {
    const Body prefix(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(decode(prefix), ProtocolError) << "length " << n << " of " << body.size();
  }
}

template <class Decode>
void expect_trailing_bytes_rejected(const Body& body, Decode decode) {
  for (size_t extra : {1, 2, 100}) {
    Body padded = body;
    put_bytes(padded, extra, std::byte{0});
    EXPECT_THROW(decode(padded), ProtocolError) << extra << " trailing bytes";
  }
}

// ---- Hello ----

TEST(HelloMessage, RoundTripDefault) {
  const Hello in;
  const Hello out = decode_hello(encode(in));
  EXPECT_EQ(out.hot_timeout_ms, kHotAlways);
  EXPECT_EQ(out.max_inflight, 0u);
  EXPECT_TRUE(out.token.empty());
  EXPECT_TRUE(out.client_name.empty());
}

TEST(HelloMessage, RoundTripValues) {
  for (int32_t timeout : {kHotAlways, kWarmAlways, 1, 250, std::numeric_limits<int32_t>::max()}) {
    for (uint32_t inflight : {0u, 1u, std::numeric_limits<uint32_t>::max()}) {
      Hello in;
      in.hot_timeout_ms = timeout;
      in.max_inflight = inflight;
      in.token = "lease-token." + std::to_string(timeout);
      in.client_name = "client-" + std::to_string(inflight);
      const Hello out = decode_hello(encode(in));
      EXPECT_EQ(out.hot_timeout_ms, timeout);
      EXPECT_EQ(out.max_inflight, inflight);
      EXPECT_EQ(out.token, in.token);
      EXPECT_EQ(out.client_name, in.client_name);
    }
  }
}

TEST(HelloMessage, RoundTripMaxSizeBinaryStrings) {
  Hello in;
  in.token = binary_string(kMaxTokenLen, 1);
  in.client_name = binary_string(kMaxStringLen, 2);
  const Body body = encode(in);
  EXPECT_EQ(body.size(), 4 + 4 + 2 + kMaxTokenLen + 2 + kMaxStringLen + 1);
  const Hello out = decode_hello(body);
  EXPECT_EQ(out.token, in.token);
  EXPECT_EQ(out.client_name, in.client_name);
}

TEST(HelloMessage, ExactLayout) {
  Hello in;
  in.hot_timeout_ms = -1;
  in.max_inflight = 0x04030201;
  in.token = "tk";
  in.client_name = "c";
  Body expected;
  put_u32(expected, 0xffffffffu);  // -1 in two's complement
  put_u32(expected, 0x04030201u);
  put_u16(expected, 2);
  expected.push_back(std::byte{'t'});
  expected.push_back(std::byte{'k'});
  put_u16(expected, 1);
  expected.push_back(std::byte{'c'});
  expected.push_back(std::byte{0});  // transport: tcp
  EXPECT_EQ(encode(in), expected);
}

TEST(HelloMessage, TransportRoundTripsAndUnknownOnesAreRejected) {
  Hello in;
  in.transport = kTransportRdma;
  EXPECT_EQ(decode_hello(encode(in)).transport, kTransportRdma);
  for (uint8_t t : {uint8_t{2}, uint8_t{255}}) {
    Body body = encode(in);
    body.back() = std::byte{t};
    EXPECT_THROW(decode_hello(body), ProtocolError) << int(t);
  }
}

TEST(HelloMessage, EveryTruncationRejected) {
  Hello in;
  in.hot_timeout_ms = 5;
  in.max_inflight = 8;
  in.token = "token";
  in.client_name = "name";
  expect_every_truncation_rejected(encode(in), [](const Body& b) { return decode_hello(b); });
}

TEST(HelloMessage, TrailingBytesRejected) {
  Hello in;
  in.token = "t";
  expect_trailing_bytes_rejected(encode(in), [](const Body& b) { return decode_hello(b); });
}

TEST(HelloMessage, HotTimeoutBelowMinusOneRejected) {
  for (int32_t timeout : {-2, -1000, std::numeric_limits<int32_t>::min()}) {
    Hello in;
    in.hot_timeout_ms = timeout;
    EXPECT_THROW(decode_hello(encode(in)), ProtocolError) << timeout;
  }
}

TEST(HelloMessage, OversizeTokenLengthRejected) {
  // The length field says 4097 and all 4097 bytes are there: the limit, not truncation, rejects.
  Body body;
  put_u32(body, 0);
  put_u32(body, 0);
  put_u16(body, static_cast<uint16_t>(kMaxTokenLen + 1));
  put_bytes(body, kMaxTokenLen + 1);
  put_u16(body, 0);
  EXPECT_THROW(decode_hello(body), ProtocolError);
}

TEST(HelloMessage, OversizeClientNameLengthRejected) {
  for (uint16_t len : {static_cast<uint16_t>(kMaxStringLen + 1), uint16_t{0xffff}}) {
    Body body;
    put_u32(body, 0);
    put_u32(body, 0);
    put_u16(body, 0);
    put_u16(body, len);
    put_bytes(body, len);
    EXPECT_THROW(decode_hello(body), ProtocolError) << len;
  }
}

TEST(HelloMessage, ErrorNamesTheMessage) {
  try {
    decode_hello(Body{});
    FAIL() << "no exception";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("hello"), std::string::npos) << e.what();
  }
}

TEST(HelloMessage, EncodingOverTheLimitIsRefused) {
  Hello in;
  in.token = std::string(kMaxTokenLen + 1, 'a');
  EXPECT_THROW(encode(in), Error);
  in.token.clear();
  in.client_name = std::string(kMaxStringLen + 1, 'a');
  EXPECT_THROW(encode(in), Error);
}

// ---- HelloAck ----

HelloAck sample_ack() {
  HelloAck m;
  m.max_payload = 16u << 20;
  m.max_inflight = 64;
  m.worker_id = 3;
  m.hot_timeout_ms = 100;
  m.node_name = "node-01";
  m.package_name = "core";
  m.functions = {"noop", "echo", "", "sleep"};
  m.worker_spawn_ns = 12'345'678;
  m.worker_package_ns = 345'678;
  m.fresh_worker = 1;
  m.rdma_endpoint = "198.18.0.1:40001";
  m.rdma_ticket = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  return m;
}

void expect_same(const HelloAck& a, const HelloAck& b) {
  EXPECT_EQ(a.max_payload, b.max_payload);
  EXPECT_EQ(a.max_inflight, b.max_inflight);
  EXPECT_EQ(a.worker_id, b.worker_id);
  EXPECT_EQ(a.hot_timeout_ms, b.hot_timeout_ms);
  EXPECT_EQ(a.node_name, b.node_name);
  EXPECT_EQ(a.package_name, b.package_name);
  EXPECT_EQ(a.functions, b.functions);
  EXPECT_EQ(a.worker_spawn_ns, b.worker_spawn_ns);
  EXPECT_EQ(a.worker_package_ns, b.worker_package_ns);
  EXPECT_EQ(a.fresh_worker, b.fresh_worker);
  EXPECT_EQ(a.rdma_endpoint, b.rdma_endpoint);
  EXPECT_EQ(a.rdma_ticket, b.rdma_ticket);
}

TEST(HelloAckMessage, FreshWorkerIsABoolean) {
  HelloAck in = sample_ack();
  Body body = encode(in);
  // fresh_worker sits before the RDMA endpoint string and the two ticket words.
  body[body.size() - 16 - 2 - in.rdma_endpoint.size() - 1] = std::byte{2};
  EXPECT_THROW(decode_hello_ack(body), ProtocolError);
}

TEST(HelloAckMessage, RoundTrip) {
  const HelloAck in = sample_ack();
  expect_same(in, decode_hello_ack(encode(in)));
}

TEST(HelloAckMessage, RoundTripEmpty) {
  const HelloAck in;
  const Body body = encode(in);
  EXPECT_EQ(body.size(), 4u * 4 + 2 + 2 + 2 + 8 + 8 + 1 + 2 + 16);
  expect_same(in, decode_hello_ack(body));
}

TEST(HelloAckMessage, RoundTripExtremes) {
  HelloAck in;
  in.max_payload = std::numeric_limits<uint32_t>::max();
  in.max_inflight = std::numeric_limits<uint32_t>::max();
  in.worker_id = std::numeric_limits<uint32_t>::max();
  in.hot_timeout_ms = std::numeric_limits<int32_t>::max();
  in.node_name = binary_string(kMaxStringLen, 3);
  in.package_name = binary_string(kMaxStringLen, 4);
  in.functions = {binary_string(kMaxStringLen, 5), binary_string(kMaxStringLen, 6)};
  expect_same(in, decode_hello_ack(encode(in)));
}

TEST(HelloAckMessage, RoundTripMaxFunctionCount) {
  HelloAck in = sample_ack();
  in.functions.clear();
  // Appending (not "f" + ...) sidesteps a GCC 12 -Wrestrict false positive at -O3.
  for (size_t i = 0; i < kMaxFunctions; ++i) in.functions.push_back(std::to_string(i) + "-f");
  expect_same(in, decode_hello_ack(encode(in)));
}

TEST(HelloAckMessage, ExactLayout) {
  HelloAck in;
  in.max_payload = 1;
  in.max_inflight = 2;
  in.worker_id = 3;
  in.hot_timeout_ms = 0;
  in.node_name = "n";
  in.package_name = "";
  in.functions = {"ab"};
  in.worker_spawn_ns = 7;
  in.worker_package_ns = 5;
  in.fresh_worker = 1;
  Body expected;
  put_u32(expected, 1);
  put_u32(expected, 2);
  put_u32(expected, 3);
  put_u32(expected, 0);
  put_u16(expected, 1);
  expected.push_back(std::byte{'n'});
  put_u16(expected, 0);
  put_u16(expected, 1);  // list count
  put_u16(expected, 2);
  expected.push_back(std::byte{'a'});
  expected.push_back(std::byte{'b'});
  put_u32(expected, 7);  // worker_spawn_ns = 7, little-endian u64
  put_u32(expected, 0);
  put_u32(expected, 5);  // worker_package_ns = 5
  put_u32(expected, 0);
  expected.push_back(std::byte{1});  // fresh_worker
  put_u16(expected, 0);              // rdma_endpoint: empty (TCP)
  for (int i = 0; i < 4; ++i) put_u32(expected, 0);  // rdma_ticket
  EXPECT_EQ(encode(in), expected);
}

TEST(HelloAckMessage, EveryTruncationRejected) {
  expect_every_truncation_rejected(encode(sample_ack()),
                                   [](const Body& b) { return decode_hello_ack(b); });
}

TEST(HelloAckMessage, TrailingBytesRejected) {
  expect_trailing_bytes_rejected(encode(sample_ack()),
                                 [](const Body& b) { return decode_hello_ack(b); });
}

TEST(HelloAckMessage, OversizeListCountRejected) {
  // kMaxFunctions + 1 empty names, all present.
  Body body;
  for (int i = 0; i < 4; ++i) put_u32(body, 0);
  put_u16(body, 0);
  put_u16(body, 0);
  put_u16(body, static_cast<uint16_t>(kMaxFunctions + 1));
  for (size_t i = 0; i < kMaxFunctions + 1; ++i) put_u16(body, 0);
  EXPECT_THROW(decode_hello_ack(body), ProtocolError);
}

TEST(HelloAckMessage, HugeListCountWithoutEntriesRejectedCheaply) {
  // A count of 65535 with no entries must fail on the count, not reserve and then truncate.
  Body body;
  for (int i = 0; i < 4; ++i) put_u32(body, 0);
  put_u16(body, 0);
  put_u16(body, 0);
  put_u16(body, 0xffff);
  EXPECT_THROW(decode_hello_ack(body), ProtocolError);
}

TEST(HelloAckMessage, OversizeFunctionNameRejected) {
  Body body;
  for (int i = 0; i < 4; ++i) put_u32(body, 0);
  put_u16(body, 0);
  put_u16(body, 0);
  put_u16(body, 1);
  put_u16(body, static_cast<uint16_t>(kMaxStringLen + 1));
  put_bytes(body, kMaxStringLen + 1);
  EXPECT_THROW(decode_hello_ack(body), ProtocolError);
}

TEST(HelloAckMessage, EncodingTooManyFunctionsIsRefused) {
  HelloAck in;
  in.functions.assign(kMaxFunctions + 1, "f");
  EXPECT_THROW(encode(in), Error);
}

// ---- PackageInfo ----

TEST(PackageInfoMessage, RoundTrip) {
  PackageInfo in;
  in.package_name = "graph-bfs";
  in.functions = {"bfs", "pagerank"};
  const PackageInfo out = decode_package_info(encode(in));
  EXPECT_EQ(out.package_name, in.package_name);
  EXPECT_EQ(out.functions, in.functions);
}

TEST(PackageInfoMessage, RoundTripEmpty) {
  const PackageInfo in;
  const Body body = encode(in);
  EXPECT_EQ(body, Body(4, std::byte{0}));
  const PackageInfo out = decode_package_info(body);
  EXPECT_TRUE(out.package_name.empty());
  EXPECT_TRUE(out.functions.empty());
}

TEST(PackageInfoMessage, RoundTripMaxSizes) {
  PackageInfo in;
  in.package_name = binary_string(kMaxStringLen, 9);
  for (size_t i = 0; i < kMaxFunctions; ++i) in.functions.push_back(binary_string(i % 64, 10));
  in.functions.back() = binary_string(kMaxStringLen, 11);
  const PackageInfo out = decode_package_info(encode(in));
  EXPECT_EQ(out.package_name, in.package_name);
  EXPECT_EQ(out.functions, in.functions);
}

TEST(PackageInfoMessage, EveryTruncationRejected) {
  PackageInfo in;
  in.package_name = "pkg";
  in.functions = {"a", "", "bcd"};
  expect_every_truncation_rejected(encode(in),
                                   [](const Body& b) { return decode_package_info(b); });
}

TEST(PackageInfoMessage, TrailingBytesRejected) {
  PackageInfo in;
  in.package_name = "pkg";
  in.functions = {"a"};
  expect_trailing_bytes_rejected(encode(in), [](const Body& b) { return decode_package_info(b); });
}

TEST(PackageInfoMessage, OversizeNameAndCountRejected) {
  Body name;
  put_u16(name, static_cast<uint16_t>(kMaxStringLen + 1));
  put_bytes(name, kMaxStringLen + 1);
  put_u16(name, 0);
  EXPECT_THROW(decode_package_info(name), ProtocolError);

  Body count;
  put_u16(count, 0);
  put_u16(count, static_cast<uint16_t>(kMaxFunctions + 1));
  for (size_t i = 0; i < kMaxFunctions + 1; ++i) put_u16(count, 0);
  EXPECT_THROW(decode_package_info(count), ProtocolError);
}

TEST(PackageInfoMessage, BodiesOfOtherMessagesDoNotPassAsPackageInfo) {
  // A Hello body is not a valid PackageInfo: strict length checks catch the mix-up.
  Hello hello;
  hello.token = "abc";
  EXPECT_THROW(decode_package_info(encode(hello)), ProtocolError);
  EXPECT_THROW(decode_hello_ack(encode(hello)), ProtocolError);
}

}  // namespace
}  // namespace hpcless::protocol
