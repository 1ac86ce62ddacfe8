// Unit tests of TCP endpoints and connection set-up on loopback.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/transport/tcp/endpoint.hpp"

namespace hpcless::tcp {
namespace {

using namespace std::chrono_literals;

// ---- parse_endpoint ----

TEST(ParseEndpoint, Ipv4) {
  const Endpoint e = parse_endpoint("127.0.0.1:7000");
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, 7000);
  EXPECT_EQ(e.to_string(), "127.0.0.1:7000");
}

TEST(ParseEndpoint, BracketedIpv6) {
  const Endpoint e = parse_endpoint("[::1]:8080");
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 8080);
  EXPECT_EQ(e.to_string(), "[::1]:8080");  // brackets come back for IPv6
  const Endpoint full = parse_endpoint("[fe80::1:2]:1");
  EXPECT_EQ(full.host, "fe80::1:2");
  EXPECT_EQ(full.port, 1);
}

TEST(ParseEndpoint, HostNameAndPortExtremes) {
  EXPECT_EQ(parse_endpoint("localhost:0").port, 0);
  const Endpoint e = parse_endpoint("node-17.cluster:65535");
  EXPECT_EQ(e.host, "node-17.cluster");
  EXPECT_EQ(e.port, 65535);
}

TEST(ParseEndpoint, MissingPort) {
  for (const char* text : {"127.0.0.1", "localhost", "", "127.0.0.1:", "[::1]", "[::1]:"}) {
    EXPECT_THROW(parse_endpoint(text), ConfigError) << "'" << text << "'";
  }
}

TEST(ParseEndpoint, BadPort) {
  for (const char* text :
       {"h:65536", "h:-1", "h:+1", "h:abc", "h:80x", "h: 80", "h:1e3", "h:99999999999999999999"}) {
    EXPECT_THROW(parse_endpoint(text), ConfigError) << "'" << text << "'";
  }
}

TEST(ParseEndpoint, EmptyHost) {
  for (const char* text : {":7000", "[]:7000"}) {
    EXPECT_THROW(parse_endpoint(text), ConfigError) << "'" << text << "'";
  }
}

TEST(ParseEndpoint, UnbalancedBrackets) { EXPECT_THROW(parse_endpoint("[::1:7000"), ConfigError); }

TEST(ParseEndpoint, ErrorShowsInputAndExpectedForm) {
  try {
    parse_endpoint("10.0.0.1:port");
    FAIL() << "no exception";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("10.0.0.1:port"), std::string::npos) << what;
    EXPECT_NE(what.find("HOST:PORT"), std::string::npos) << what;
  }
}

// ---- Listener / connect_tcp ----

UniqueFd accept_within(Listener& listener, std::chrono::seconds limit) {
  const Deadline deadline = Deadline::after(limit);
  while (!deadline.expired()) {
    if (UniqueFd fd = listener.accept_one()) return fd;
    pollfd p{listener.fd(), POLLIN, 0};
    ::poll(&p, 1, deadline.remaining_ms());
  }
  return UniqueFd();
}

TEST(Listener, EphemeralPortOnLoopback) {
  Listener listener(Endpoint{"127.0.0.1", 0});
  EXPECT_GE(listener.fd(), 0);
  EXPECT_EQ(listener.bound_endpoint().host, "127.0.0.1");
  EXPECT_NE(listener.bound_endpoint().port, 0);
}

TEST(Listener, AcceptWithNothingPendingReturnsInvalid) {
  Listener listener(Endpoint{"127.0.0.1", 0});
  EXPECT_FALSE(listener.accept_one().valid());
}

TEST(Listener, TwoListenersGetDifferentPorts) {
  Listener a(Endpoint{"127.0.0.1", 0});
  Listener b(Endpoint{"127.0.0.1", 0});
  EXPECT_NE(a.bound_endpoint().port, b.bound_endpoint().port);
}

TEST(Listener, PortInUseThrowsSystemError) {
  Listener a(Endpoint{"127.0.0.1", 0});
  EXPECT_THROW(Listener(a.bound_endpoint()), SystemError);
}

TEST(ConnectTcp, ConnectsAndAccepts) {
  Listener listener(Endpoint{"127.0.0.1", 0});
  UniqueFd client = connect_tcp(listener.bound_endpoint(), Deadline::after(10s));
  ASSERT_TRUE(client.valid());
  UniqueFd server = accept_within(listener, 10s);
  ASSERT_TRUE(server.valid());
  // Both ends are usable: one byte each way.
  const char ping = 'p';
  ASSERT_EQ(::send(client.get(), &ping, 1, MSG_NOSIGNAL), 1);
  pollfd p{server.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10'000), 1);
  char got = 0;
  ASSERT_EQ(::recv(server.get(), &got, 1, 0), 1);
  EXPECT_EQ(got, 'p');
}

TEST(ConnectTcp, ClosedPortThrowsIoErrorQuickly) {
  Endpoint closed;
  {
    Listener probe(Endpoint{"127.0.0.1", 0});
    closed = probe.bound_endpoint();
  }  // the port is free again, and nothing listens on it
  const uint64_t start = now_ns();
  EXPECT_THROW(connect_tcp(closed, Deadline::after(10s)), IoError);
  EXPECT_LT(now_ns() - start, 2'000'000'000ull) << "a refused connection must not wait";
}

TEST(ConnectTcp, Ipv6LoopbackWhenAvailable) {
  std::unique_ptr<Listener> listener;
  try {
    listener = std::make_unique<Listener>(parse_endpoint("[::1]:0"));
  } catch (const Error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  EXPECT_EQ(listener->bound_endpoint().host, "::1");
  UniqueFd client = connect_tcp(listener->bound_endpoint(), Deadline::after(10s));
  EXPECT_TRUE(client.valid());
  EXPECT_TRUE(accept_within(*listener, 10s).valid());
}

}  // namespace
}  // namespace hpcless::tcp
