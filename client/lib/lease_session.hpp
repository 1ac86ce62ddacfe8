// A lease in use: the manager's grant plus one connection per allocation (one worker process per
// node), with round-robin, asynchronous and scatter/gather invocations over those workers.
//
//   client::LeaseClient manager(client::ManagerOptions::resolve({}, {}));
//   client::LeaseRequest req;  req.cores = 4;  req.seconds = 60;
//   auto lease = client::Lease::acquire(manager, req);   // POST /v1/leases, then connect
//   lease.invoke("echo", input, result, deadline);       // next worker, round-robin
//   auto all = lease.scatter("echo", inputs, deadline);  // one input per worker
//   lease.renew(60);
//   // the destructor releases the lease (DELETE) unless detach() was called
//
// Ownership: a Lease owns its connections and, unless detached, the lease itself (released on
// destruction, which can block for the LeaseClient's timeouts when the manager does not answer;
// errors there are swallowed, the manager expires the lease anyway).
// Thread safety: one thread at a time, like Connection. The LeaseClient must outlive the Lease.
// Errors: set-up (acquire, connect) throws like LeaseClient and Connection::connect; invocation
// outcomes are statuses (kTokenExpired after expiry, kLeaseEnded after release or failure); a
// broken connection throws IoError naming the node.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client/lib/connection.hpp"
#include "client/lib/lease_client.hpp"
#include "comm/base/clock.hpp"

namespace hpcless::client {

struct SessionOptions {
  // Options of every connection; `token` is replaced by each allocation's token.
  ConnectOptions connect;
  // true: the connections ask for the lease's hot_timeout_ms (the one granted) instead of
  // connect.hot_timeout_ms.
  bool use_lease_hot_timeout = true;
  // Connections per allocation: 1 (one per worker process), or 0 for one per leased core of
  // that allocation (the worker spreads connections over its pinned threads).
  size_t connections_per_allocation = 1;
  // Deadline for connecting to all allocations (in parallel; each also has
  // connect.connect_timeout).
  std::chrono::milliseconds connect_deadline{10000};
  bool connect_now = true;  // acquire()/attach() connect at once
  bool release_on_destroy = true;
};

// What connect() measured, for experiments.
struct ConnectTiming {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;                      // all connections up
  std::vector<uint64_t> per_connection_ns;  // TCP connect to hello-ack, per connection
};

class Lease {
 public:
  // POST /v1/leases, then (with connect_now) connects to every allocation.
  // When connecting fails, the fresh lease is released before the error is thrown.
  static Lease acquire(const LeaseClient& manager, const LeaseRequest& request,
                       const SessionOptions& options = {});
  // An existing lease (GET /v1/leases/{id}); it must be active. The returned Lease does not
  // release on destruction unless options.release_on_destroy is set.
  static Lease attach(const LeaseClient& manager, const std::string& id,
                      SessionOptions options = attach_defaults());
  static SessionOptions attach_defaults() {
    SessionOptions o;
    o.release_on_destroy = false;
    return o;
  }

  Lease(Lease&&) noexcept;
  Lease& operator=(Lease&&) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  const LeaseInfo& info() const noexcept { return info_; }
  const std::string& id() const noexcept { return info_.id; }
  const std::vector<LeaseAllocation>& allocations() const noexcept { return info_.allocations; }
  int64_t expires_at_ms() const noexcept { return info_.expires_at_ms; }
  // Milliseconds until the expiry the manager last reported (negative once past).
  int64_t remaining_ms() const;

  // Connects to every allocation in parallel (one thread each), within `deadline`. Throws the
  // first failure (naming the node) after all attempts have ended; no connection is kept then.
  // Does nothing when already connected.
  const ConnectTiming& connect(Deadline deadline);
  bool connected() const noexcept { return !conns_.empty(); }
  const ConnectTiming& connect_timing() const noexcept { return timing_; }
  // Closes every connection (the lease stays granted).
  void disconnect() noexcept;

  size_t workers() const noexcept { return conns_.size(); }
  Connection& worker(size_t i);
  const Connection& worker(size_t i) const;
  // Node of connection i.
  const std::string& node_of(size_t i) const;
  // The connection the next round-robin invocation goes to (advances the cursor).
  Connection& next_worker();

  // Synchronous invocation on the next worker, round-robin.
  protocol::Status invoke(std::string_view function, std::span<const std::byte> input,
                          InvocationResult& result, Deadline deadline);
  // Asynchronous invocation on the next worker; kTooManyInFlight leaves the cursor in place.
  protocol::Status invoke_async(std::string_view function, std::span<const std::byte> input,
                                Future& future, Deadline deadline);
  // Scatter/gather: inputs[i] goes to worker i (inputs.size() must equal workers()); the
  // results come back in the same order. All requests are sent before any reply is awaited.
  // A broken connection's error is thrown after the other workers' replies have arrived.
  std::vector<InvocationResult> scatter(std::string_view function,
                                        const std::vector<std::span<const std::byte>>& inputs,
                                        Deadline deadline);
  // The same input on every worker.
  std::vector<InvocationResult> broadcast(std::string_view function,
                                          std::span<const std::byte> input, Deadline deadline);
  // Ships a package to every worker (in turn).
  void load_package(std::span<const std::byte> package, Deadline deadline);

  // POST renew; the new expiry and tokens replace the old ones (open connections stay).
  const LeaseInfo& renew(double seconds);
  // DELETE; the connections stay open so that the caller can see the workers' answers
  // (kLeaseEnded) until they close. Releasing twice is harmless.
  const LeaseInfo& release();
  // GET the lease again (state, usage, expiry).
  const LeaseInfo& refresh();
  // The lease is no longer released on destruction.
  void detach() noexcept { release_on_destroy_ = false; }
  bool released() const noexcept { return released_; }

 private:
  Lease(const LeaseClient& manager, LeaseInfo info, const SessionOptions& options);
  uint32_t function_id(size_t conn, std::string_view function);
  size_t advance() noexcept;

  const LeaseClient* manager_ = nullptr;
  LeaseInfo info_;
  SessionOptions opts_;
  bool release_on_destroy_ = true;
  bool released_ = false;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<std::string> conn_node_;
  size_t cursor_ = 0;
  ConnectTiming timing_;
  // Function ids per connection for the last function name used (the common case: one).
  std::string cached_function_;
  std::vector<uint32_t> cached_ids_;
};

}  // namespace hpcless::client
