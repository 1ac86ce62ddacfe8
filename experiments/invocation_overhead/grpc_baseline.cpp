#include "experiments/invocation_overhead/grpc_baseline.hpp"

#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <climits>
#include <future>
#include <iterator>
#include <thread>

#include "comm/base/cpu.hpp"
#include "comm/base/error.hpp"
#include "experiments/invocation_overhead/echo.grpc.pb.h"

namespace hpcless::experiments {

namespace {

namespace pb = ::hpcless::experiments::grpc_echo;

// Room for the protobuf framing of the one bytes field (tag and length varint).
constexpr size_t kMessageOverhead = 16;
// How long calls still running at stop() may take before gRPC cancels them.
constexpr auto kShutdownGrace = std::chrono::seconds(1);

class EchoService final : public pb::Echo::Service {
 public:
  grpc::Status Call(grpc::ServerContext*, const pb::Payload* request, pb::Payload* reply) override {
    reply->set_data(request->data());
    return grpc::Status::OK;
  }
};

// gRPC deadlines are wall-clock time points; hpcless deadlines are CLOCK_MONOTONIC.
std::chrono::system_clock::time_point wall_deadline(Deadline d) {
  if (d.is_never()) return std::chrono::system_clock::time_point::max();
  const uint64_t now = now_ns();
  const uint64_t left = d.ns() > now ? d.ns() - now : 0;
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::nanoseconds(left));
}

// gRPC status codes 0..16 by name, for error messages.
constexpr const char* kCodeNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

const char* code_name(grpc::StatusCode c) {
  const auto i = static_cast<size_t>(c);
  return i < std::size(kCodeNames) ? kCodeNames[i] : "UNKNOWN_STATUS_CODE";
}

}  // namespace

std::string grpc_version() { return grpc::Version(); }

GrpcRuntime::GrpcRuntime() { grpc_init(); }
GrpcRuntime::~GrpcRuntime() { grpc_shutdown(); }

// ---- server -------------------------------------------------------------------------------

struct GrpcEchoServer::Impl {
  EchoService service;
  std::unique_ptr<grpc::Server> server;
  std::thread thread;
};

GrpcEchoServer::GrpcEchoServer(int core, size_t max_payload) : impl_(std::make_unique<Impl>()) {
  const int limit = max_payload > static_cast<size_t>(INT_MAX) - kMessageOverhead
                        ? INT_MAX
                        : static_cast<int>(max_payload + kMessageOverhead);
  // The server is built on its own pinned thread: the threads BuildAndStart() starts (and those
  // they start later) inherit the affinity, with no pinning of the whole process. The thread then
  // waits in Wait() until stop(). It owns the promise, which so outlives set_value().
  std::promise<int> started;
  auto ready = started.get_future();
  Impl* impl = impl_.get();
  impl_->thread = std::thread([impl, core, limit, started = std::move(started)]() mutable {
    try {
      if (core >= 0) pin_current_thread(core);
      int port = 0;
      grpc::ServerBuilder builder;
      builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
      builder.RegisterService(&impl->service);
      builder.SetMaxReceiveMessageSize(limit);
      builder.SetMaxSendMessageSize(limit);
      // One completion queue with 1..2 polling threads (gRPC's defaults, set explicitly since the
      // numbers matter): MAX_POLLERS 1 would make the sync server start a new thread for every
      // call (the poller that takes a call first starts a replacement, then exits).
      builder.SetSyncServerOption(grpc::ServerBuilder::NUM_CQS, 1);
      builder.SetSyncServerOption(grpc::ServerBuilder::MIN_POLLERS, 1);
      builder.SetSyncServerOption(grpc::ServerBuilder::MAX_POLLERS, 2);
      impl->server = builder.BuildAndStart();
      if (!impl->server || port <= 0 || port > 65535) {
        impl->server.reset();
        throw IoError("grpc baseline: cannot listen on 127.0.0.1 (gRPC BuildAndStart failed)");
      }
      started.set_value(port);
    } catch (...) {
      started.set_exception(std::current_exception());
      return;
    }
    impl->server->Wait();  // returns once stop() has shut the server down
  });
  try {
    port_ = static_cast<uint16_t>(ready.get());
  } catch (...) {
    impl_->thread.join();
    throw;
  }
}

GrpcEchoServer::~GrpcEchoServer() { stop(); }

void GrpcEchoServer::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  impl_->thread.join();
  impl_->server.reset();  // joins gRPC's server threads
}

// ---- client -------------------------------------------------------------------------------

struct GrpcEchoClient::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::Echo::Stub> stub;
  // Reused across calls, as a caller keeping its messages would.
  pb::Payload request;
  pb::Payload response;
};

GrpcEchoClient::GrpcEchoClient(uint16_t port, Deadline deadline) : impl_(std::make_unique<Impl>()) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // no limit: the server's limit is the one that counts
  args.SetMaxSendMessageSize(-1);
  // A channel of its own connection: never share a subchannel with an earlier block's channel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // "ipv4:" skips name resolution.
  const std::string target = "ipv4:127.0.0.1:" + std::to_string(port);
  impl_->channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  if (!impl_->channel->WaitForConnected(wall_deadline(deadline)))
    throw TimeoutError("connecting to the grpc baseline server 127.0.0.1:" + std::to_string(port) +
                       " timed out");
  impl_->stub = pb::Echo::NewStub(impl_->channel);
}

GrpcEchoClient::~GrpcEchoClient() = default;

GrpcRoundTrip GrpcEchoClient::round_trip(std::span<const std::byte> payload, Deadline deadline) {
  GrpcRoundTrip r;
  impl_->request.mutable_data()->assign(reinterpret_cast<const char*>(payload.data()),
                                        payload.size());
  impl_->response.Clear();
  grpc::ClientContext ctx;  // one per call, as gRPC requires
  ctx.set_deadline(wall_deadline(deadline));

  r.send_ns = now_ns();
  const grpc::Status st = impl_->stub->Call(&ctx, impl_->request, &impl_->response);
  const uint64_t done = now_ns();
  if (!st.ok()) {
    r.error = std::string("grpc call failed: ") + code_name(st.error_code());
    if (!st.error_message().empty()) {
      r.error += ": ";
      r.error += st.error_message();
    }
    return r;
  }
  r.recv_ns = done;
  r.ok = true;
  return r;
}

std::span<const std::byte> GrpcEchoClient::reply() const noexcept {
  const std::string& d = impl_->response.data();
  return {reinterpret_cast<const std::byte*>(d.data()), d.size()};
}

}  // namespace hpcless::experiments
