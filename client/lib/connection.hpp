// A client's connection to one worker: hello, then synchronous, asynchronous (futures or
// callbacks) and pipelined invocations over one framed TCP stream.
//
// Progress model: there is no background thread. Responses are read when the owner calls
// invoke(), progress(), wait_some(), drain() or Future::get()/ready(); callbacks run inside those
// calls and must not invoke on the same connection. In busy-poll mode the caller spins on the
// socket (hot); otherwise it blocks in poll() (warm).
//
// Thread safety: a Connection is used by one thread at a time. Use one connection per thread
// (they are cheap) or a Pool.
// Errors: set-up failures throw (ConfigError, IoError, TimeoutError, ProtocolError). Invocation
// outcomes are statuses in InvocationResult; a broken connection throws IoError from the call
// that notices it, and the Connection is then unusable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/protocol/frame.hpp"
#include "comm/protocol/messages.hpp"

namespace hpcless::transport {
class FrameLink;
}

namespace hpcless::client {

struct ConnectOptions {
  int32_t hot_timeout_ms = protocol::kHotAlways;  // the worker's policy for this connection
  bool busy_poll = true;      // how this client waits for replies: spin (hot) or block (warm)
  std::string token;          // lease token; empty for a standalone executor
  std::string client_name = "hpcless-client";
  uint32_t max_inflight = 0;  // 0: the worker's default
  std::chrono::milliseconds connect_timeout{5000};
  // "tcp" or "rdma". With rdma the hello still goes over TCP to the executor (which checks the
  // token and picks the worker); the worker answers with its RDMA endpoint and a one-time
  // ticket, and the connection moves there before the first invocation.
  std::string transport = "tcp";
};

// Where a connection's set-up time went (cold-start breakdowns). RDMA fields are 0 over TCP.
struct ConnectTimes {
  uint64_t tcp_connect_ns = 0;   // TCP connect to the executor
  uint64_t hello_ns = 0;         // hello -> hello-ack (the executor hands over to the worker)
  uint64_t rdma_resolve_ns = 0;  // RDMA address and route resolution (opens the device)
  uint64_t rdma_register_ns = 0; // protection domain, queues and memory registration
  uint64_t rdma_connect_ns = 0;  // queue-pair connection to the worker
};

struct InvocationResult {
  protocol::Status status = protocol::Status::kOk;
  std::vector<std::byte> output;       // the function's output, or the error message
  protocol::ServerTimestamps server;   // worker's recv/start/end/send (CLOCK_MONOTONIC)
  protocol::PhaseTimes phases;         // download/compute/upload ns the function timed (0: unused)
  bool cold = false;                   // the worker process ran this function for the first time
  uint64_t client_send_ns = 0;         // just before the request was written
  uint64_t client_recv_ns = 0;         // when the reply was decoded
  uint64_t request_id = 0;
  uint32_t function_id = 0;
  size_t input_bytes = 0;

  bool ok() const noexcept { return status == protocol::Status::kOk; }
  std::string_view output_text() const noexcept {
    return {reinterpret_cast<const char*>(output.data()), output.size()};
  }
  // "function failed: <message from the function>" and the like.
  std::string error_message() const;
};

using Callback = std::function<void(InvocationResult&)>;

class Connection;

// Handle to one asynchronous invocation. Move-only; dropping an unfinished future discards its
// reply when it arrives.
class Future {
 public:
  Future() = default;
  Future(Future&& o) noexcept;
  Future& operator=(Future&& o) noexcept;
  Future(const Future&) = delete;
  Future& operator=(const Future&) = delete;
  ~Future();

  bool valid() const noexcept { return conn_ != nullptr; }
  uint64_t request_id() const noexcept { return id_; }
  // Non-blocking: reads what has arrived; true when the result is there.
  bool ready();
  // Waits for the result. The reference stays valid until this future is destroyed or reset.
  // Throws TimeoutError past the deadline, IoError if the connection breaks first.
  InvocationResult& get(Deadline deadline);

 private:
  friend class Connection;
  Future(Connection* c, uint64_t id) : conn_(c), id_(id) {}
  void reset() noexcept;
  Connection* conn_ = nullptr;
  uint64_t id_ = 0;
};

class Connection {
 public:
  // Connects to "HOST:PORT" and authenticates. Throws on failure with the reason.
  static std::unique_ptr<Connection> connect(const std::string& address, const ConnectOptions& opts);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const protocol::HelloAck& info() const noexcept { return info_; }
  const ConnectTimes& connect_times() const noexcept { return times_; }
  // "tcp" or "rdma": what invocations travel over.
  std::string_view transport() const noexcept;
  const std::string& address() const noexcept { return address_; }
  // Throws ConfigError naming the functions the worker offers.
  uint32_t function_id(std::string_view name) const;

  // Synchronous invocation; fills `result` (its buffers are reused). Returns result.status.
  // Throws TimeoutError/IoError as described above; an input over the worker's limit gives
  // kPayloadTooLarge without a round trip.
  protocol::Status invoke(uint32_t function_id, std::span<const std::byte> input,
                          InvocationResult& result, Deadline deadline);

  // Asynchronous invocation. Returns kTooManyInFlight (without sending) when the in-flight
  // limit is reached: call progress() or wait on a future, then retry.
  protocol::Status invoke_async(uint32_t function_id, std::span<const std::byte> input,
                                Future& future, Deadline deadline);
  // One rank of a group invocation: `framed` is protocol::encode_group_prefix(block) followed by
  // the rank's input; the frame carries kFlagGroup (docs/protocol.md). Lease::invoke_group
  // builds these; otherwise as invoke_async.
  protocol::Status invoke_group_async(uint32_t function_id, std::span<const std::byte> framed,
                                      Future& future, Deadline deadline);
  // Asynchronous invocation whose result is handed to `cb` from inside a later call on this
  // connection (progress/wait/invoke/drain).
  protocol::Status invoke_async(uint32_t function_id, std::span<const std::byte> input,
                                Callback cb, Deadline deadline);

  // Reads every reply that has arrived, without blocking. Returns the number completed.
  size_t progress();
  // Waits until at least one in-flight invocation completes (or none is in flight). Returns the
  // number completed. Throws TimeoutError past the deadline.
  size_t wait_some(Deadline deadline);
  // Waits until no invocation is in flight.
  void drain(Deadline deadline);
  size_t in_flight() const noexcept { return in_flight_; }
  bool busy_poll() const noexcept { return busy_poll_; }

  // Ships a function package (shared library bytes) that this connection then invokes.
  // Throws ConfigError when the worker refuses the package (the connection stays usable).
  protocol::PackageInfo load_package(std::span<const std::byte> package, Deadline deadline);
  // Round trip without running a function.
  void ping(Deadline deadline);

 private:
  friend class Future;
  struct Slot;
  Connection(std::string address, const ConnectOptions& opts);
  void handshake(const ConnectOptions& opts, Deadline deadline);
  Slot* start(uint32_t function_id, std::span<const std::byte> input, Deadline deadline,
              protocol::Status& status, uint16_t flags = 0);
  // Reads replies until `done()` or the deadline. Throws on timeout or a broken connection.
  template <class Done>
  void progress_until(Done&& done, Deadline deadline, const char* what);
  size_t read_replies();
  // Hands one reply to its waiter; false (connection failed) for a reply nobody asked for.
  bool deliver(const protocol::Header& h, std::span<const std::byte> payload, size_t& completed);
  size_t collect_side_reports();
  void complete(Slot& slot);
  void fail_connection(const std::string& why);
  Slot& slot_of(uint64_t id);
  void release(uint64_t id) noexcept;
  bool is_done(uint64_t id);
  InvocationResult& result_of(uint64_t id);
  // Sends a non-invocation request and waits for its reply (set-up path).
  void control_round_trip(protocol::MessageType type, std::span<const std::byte> payload,
                          protocol::MessageType expect, std::vector<std::byte>& reply,
                          Deadline deadline);

  std::string address_;
  std::unique_ptr<transport::FrameLink> stream_;
  // RDMA only: the TCP connection of the hello. The executor holds a duplicate and reports a
  // worker's crash there; nothing else travels on it.
  std::unique_ptr<transport::FrameLink> side_;
  ConnectTimes times_;
  protocol::HelloAck info_;
  bool busy_poll_;
  bool broken_ = false;
  std::string broken_reason_;
  std::vector<Slot> slots_;  // indexed by request_id % slots_.size()
  bool control_waiting_ = false;  // a hello/load/ping reply is outstanding
  protocol::Header control_header_;
  std::vector<std::byte> control_reply_;
  uint64_t next_id_ = 1;
  size_t in_flight_ = 0;
  uint64_t completed_total_ = 0;  // replies to invocations received so far
};

}  // namespace hpcless::client
