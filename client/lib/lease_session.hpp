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

// Group invocation (docs/communication.md, "Group invocation"): one rank per leased core.
struct GroupOptions {
  // Rendezvous store the ranks meet through: "http://host:port" (a manager's /v1/kv) or
  // "tcp://host:port" (a comm StoreServer). Empty: this lease's manager.
  std::string rendezvous;
  std::string channel = "direct";  // direct, redis, s3 or auto
  uint64_t message_bytes = 0;      // hint for channel auto (expected bytes per collective)
  std::string group_id;            // empty: a fresh random id (must be unique per invocation)
};

struct GroupRankResult {
  int rank = 0;
  std::string node;
  uint32_t worker_thread = 0;  // worker thread (core index within the node) that ran the rank
  InvocationResult result;     // the worker's answer (status, output or error message)
  // Empty when the worker answered; otherwise why no answer came (deadline passed, connection
  // lost), and result.status is kInternal.
  std::string error;
  bool ok() const noexcept { return error.empty() && result.ok(); }
  // The output, or a one-line description of the failure.
  std::string message() const;
};

struct GroupResult {
  std::string group;  // the group id
  std::vector<GroupRankResult> ranks;  // in rank order; every rank is present
  bool ok() const noexcept {
    for (const auto& r : ranks)
      if (!r.ok()) return false;
    return true;
  }
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
  // Group invocation: runs `function` once per leased core (ranks numbered by allocation, then
  // worker thread), all at once, as the ranks of one communicator; rank, size and rendezvous
  // reach the function through its context (functions/group/group_context.hpp). Uses its own
  // connections (one per leased core, warm; opened on first use and kept), checking from the
  // hello answers that the ranks of one node run on distinct worker threads (two ranks on one
  // thread would wait for each other until the deadline); throws IoError when the worker does
  // not spread them. The ranks get the time left to `deadline` minus a margin (a fifth, at
  // most 2 s) as their own deadline, so that a rank blocked on a failed peer answers with its
  // error before the client stops waiting. Every rank's outcome is returned, failures included.
  // Throws ConfigError for bad arguments or a function the workers do not offer.
  GroupResult invoke_group(std::string_view function, std::span<const std::byte> input,
                           Deadline deadline, const GroupOptions& options = {});
  // Per-rank inputs: inputs.size() must equal group_size().
  GroupResult invoke_group(std::string_view function,
                           const std::vector<std::span<const std::byte>>& inputs,
                           Deadline deadline, const GroupOptions& options = {});
  // Ranks of a group invocation: the leased cores over all allocations.
  size_t group_size() const noexcept;
  // Closes the group connections (the next invoke_group opens new ones).
  void disconnect_group() noexcept { group_.clear(); }

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

  struct GroupRank {
    std::unique_ptr<Connection> conn;
    size_t allocation = 0;
    uint32_t thread = 0;
  };
  // Opens group connections until every allocation has one per core on distinct threads.
  void connect_group(Deadline deadline);

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
  std::vector<GroupRank> group_;               // in rank order
  std::vector<std::unique_ptr<Connection>> group_spare_;  // landed on an already-used thread
};

}  // namespace hpcless::client
