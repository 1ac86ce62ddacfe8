// The gRPC baseline of the invocation-overhead experiment: the request/response system a user
// would otherwise pick, measured on the same machine, cores and payloads as hpcless.
//
// Service Echo.Call(Payload) returns (Payload) (echo.proto): a synchronous gRPC server with
// insecure credentials on 127.0.0.1 and a blocking stub, HTTP/2 over loopback TCP. gRPC has no
// hot/warm switch: in both modes its threads wait in epoll (gRPC's default polling engine), so
// the same code runs for the hot and the warm rows.
//
// This header names no gRPC type (the implementation is behind pointers), so code that includes
// it compiles without gRPC's headers. Its definitions exist only in builds with the baseline
// (kGrpcBaselineCompiledIn, from HPCLESS_HAVE_GRPC).
//
// Thread safety: GrpcEchoServer owns its threads; a GrpcEchoClient is used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "comm/base/clock.hpp"

namespace hpcless::experiments {

#if defined(HPCLESS_HAVE_GRPC) && HPCLESS_HAVE_GRPC
inline constexpr bool kGrpcBaselineCompiledIn = true;
#else
inline constexpr bool kGrpcBaselineCompiledIn = false;
#endif

// grpc::Version(), e.g. "1.51.1".
std::string grpc_version();

// Keeps gRPC's process-wide state (and its timer and executor threads) alive for its lifetime,
// so that the fresh server and channel of every block do not start and tear down gRPC itself.
// The threads gRPC starts here inherit the calling thread's CPU affinity.
class GrpcRuntime {
 public:
  GrpcRuntime();
  ~GrpcRuntime();
  GrpcRuntime(const GrpcRuntime&) = delete;
  GrpcRuntime& operator=(const GrpcRuntime&) = delete;
};

// An echo server on 127.0.0.1 (ephemeral port). It is built on a thread pinned to `core` (-1:
// not pinned), so every thread it starts inherits that affinity; it serves until stop().
// Messages above `max_payload` (plus framing) are refused by gRPC with RESOURCE_EXHAUSTED.
// Throws SystemError when the core cannot be used, IoError when the server cannot listen.
class GrpcEchoServer {
 public:
  GrpcEchoServer(int core, size_t max_payload);
  ~GrpcEchoServer();
  GrpcEchoServer(const GrpcEchoServer&) = delete;
  GrpcEchoServer& operator=(const GrpcEchoServer&) = delete;

  uint16_t port() const noexcept { return port_; }
  // Shuts the server down (calls still running get a short grace period) and joins its threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

struct GrpcRoundTrip {
  bool ok = false;
  std::string error;     // gRPC status code and message when the call failed
  uint64_t send_ns = 0;  // just before the blocking stub call
  uint64_t recv_ns = 0;  // when it returned with the reply parsed
};

class GrpcEchoClient {
 public:
  // Creates a channel to 127.0.0.1:port (no message size limits, its own connection) and waits
  // until it is connected. Throws TimeoutError when that does not happen before `deadline`.
  GrpcEchoClient(uint16_t port, Deadline deadline);
  ~GrpcEchoClient();
  GrpcEchoClient(const GrpcEchoClient&) = delete;
  GrpcEchoClient& operator=(const GrpcEchoClient&) = delete;

  // One unary call with `deadline`. The request message and the call's ClientContext are set up
  // before the clock starts; the timed part is the stub call (serialize, send, wait, receive,
  // parse). reply() then holds the echoed bytes; contents are not compared here.
  GrpcRoundTrip round_trip(std::span<const std::byte> payload, Deadline deadline);
  std::span<const std::byte> reply() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hpcless::experiments
