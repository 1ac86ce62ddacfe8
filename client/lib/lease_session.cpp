#include "client/lib/lease_session.hpp"

#include <algorithm>
#include <exception>
#include <thread>
#include <utility>

#include "comm/auth/lease_token.hpp"
#include "comm/base/error.hpp"

namespace hpcless::client {

Lease::Lease(const LeaseClient& manager, LeaseInfo info, const SessionOptions& options)
    : manager_(&manager),
      info_(std::move(info)),
      opts_(options),
      release_on_destroy_(options.release_on_destroy) {}

Lease::Lease(Lease&& o) noexcept
    : manager_(o.manager_),
      info_(std::move(o.info_)),
      opts_(std::move(o.opts_)),
      release_on_destroy_(std::exchange(o.release_on_destroy_, false)),
      released_(o.released_),
      conns_(std::move(o.conns_)),
      conn_node_(std::move(o.conn_node_)),
      cursor_(o.cursor_),
      timing_(std::move(o.timing_)),
      cached_function_(std::move(o.cached_function_)),
      cached_ids_(std::move(o.cached_ids_)),
      group_(std::move(o.group_)),
      group_spare_(std::move(o.group_spare_)) {
  o.conns_.clear();
  o.group_.clear();
  o.group_spare_.clear();
}

Lease& Lease::operator=(Lease&& o) noexcept {
  if (this == &o) return *this;
  // What this object held moves into `old`, whose destructor disconnects and releases it.
  Lease old(std::move(*this));
  manager_ = o.manager_;
  info_ = std::move(o.info_);
  opts_ = std::move(o.opts_);
  release_on_destroy_ = std::exchange(o.release_on_destroy_, false);
  released_ = o.released_;
  conns_ = std::move(o.conns_);
  conn_node_ = std::move(o.conn_node_);
  cursor_ = o.cursor_;
  timing_ = std::move(o.timing_);
  cached_function_ = std::move(o.cached_function_);
  cached_ids_ = std::move(o.cached_ids_);
  group_ = std::move(o.group_);
  group_spare_ = std::move(o.group_spare_);
  o.conns_.clear();
  o.group_.clear();
  o.group_spare_.clear();
  return *this;
}

Lease::~Lease() {
  // Connections first: the worker sees the clients go before the lease ends.
  disconnect();
  if (release_on_destroy_ && !released_ && manager_ != nullptr && !info_.id.empty()) {
    try {
      manager_->release(info_.id);
    } catch (const std::exception&) {
      // The manager expires the lease at its end time anyway; a destructor must not throw.
    }
  }
}

Lease Lease::acquire(const LeaseClient& manager, const LeaseRequest& request,
                     const SessionOptions& options) {
  Lease lease(manager, manager.acquire(request), options);
  // A lease this call could not make usable is released whatever release_on_destroy says:
  // nobody else knows its id.
  lease.release_on_destroy_ = true;
  if (lease.info_.allocations.empty())
    throw ProtocolError("the manager granted lease " + lease.id() + " without allocations");
  if (options.connect_now) lease.connect(Deadline::after(options.connect_deadline));
  lease.release_on_destroy_ = options.release_on_destroy;
  return lease;
}

Lease Lease::attach(const LeaseClient& manager, const std::string& id, SessionOptions options) {
  Lease lease(manager, manager.get(id), options);
  if (!lease.info_.active()) {
    lease.detach();  // nothing to release
    throw ConfigError("lease " + id + " is " + lease.info_.state +
                      (lease.info_.reason ? " (" + *lease.info_.reason + ")" : std::string()) +
                      "; acquire a new one");
  }
  if (options.connect_now) lease.connect(Deadline::after(options.connect_deadline));
  return lease;
}

int64_t Lease::remaining_ms() const { return info_.expires_at_ms - auth::unix_now_ms(); }

const ConnectTiming& Lease::connect(Deadline deadline) {
  if (!conns_.empty()) return timing_;
  struct Target {
    const LeaseAllocation* alloc;
    std::unique_ptr<Connection> conn;
    std::exception_ptr error;
    uint64_t ns = 0;
  };
  std::vector<Target> targets;
  for (const auto& a : info_.allocations) {
    size_t n = opts_.connections_per_allocation;
    if (n == 0) n = std::max<size_t>(1, a.cores.size());
    for (size_t i = 0; i < n; ++i) targets.push_back(Target{&a, nullptr, nullptr, 0});
  }
  if (targets.empty()) throw ConfigError("lease " + id() + " has no allocations to connect to");

  ConnectOptions base = opts_.connect;
  if (opts_.use_lease_hot_timeout) base.hot_timeout_ms = info_.hot_timeout_ms;
  base.transport = info_.transport;  // what the lease grants (its token names it too)
  const auto left = std::chrono::milliseconds(std::max(1, deadline.remaining_ms()));
  if (!deadline.is_never()) base.connect_timeout = std::min(base.connect_timeout, left);

  timing_ = ConnectTiming{};
  timing_.start_ns = now_ns();
  const auto run = [&base](Target& t) {
    ConnectOptions o = base;
    o.token = t.alloc->token;
    const uint64_t t0 = now_ns();
    try {
      t.conn = Connection::connect(t.alloc->address, o);
    } catch (...) {
      t.error = std::current_exception();
    }
    t.ns = now_ns() - t0;
  };
  if (targets.size() == 1) {
    run(targets[0]);  // no thread for the common one-node lease
  } else {
    std::vector<std::thread> threads;
    threads.reserve(targets.size());
    try {
      for (auto& t : targets) threads.emplace_back(run, std::ref(t));
    } catch (...) {
      for (auto& th : threads) th.join();
      throw;
    }
    for (auto& th : threads) th.join();
  }
  timing_.end_ns = now_ns();

  for (auto& t : targets) {
    if (!t.error) continue;
    std::string why;
    try {
      std::rethrow_exception(t.error);
    } catch (const std::exception& e) {
      why = e.what();
    }
    const std::string msg = "lease " + id() + ": cannot connect to the worker on node " +
                            t.alloc->node + " at " + t.alloc->address + ": " + why;
    try {
      std::rethrow_exception(t.error);
    } catch (const TimeoutError&) {
      throw TimeoutError(msg);
    } catch (const ConfigError&) {
      throw ConfigError(msg);
    } catch (const ProtocolError&) {
      throw ProtocolError(msg);
    } catch (...) {
      throw IoError(msg);
    }
  }
  for (auto& t : targets) {
    conns_.push_back(std::move(t.conn));
    conn_node_.push_back(t.alloc->node);
    timing_.per_connection_ns.push_back(t.ns);
  }
  cursor_ = 0;
  cached_function_.clear();
  cached_ids_.clear();
  return timing_;
}

void Lease::disconnect() noexcept {
  group_.clear();
  group_spare_.clear();
  conns_.clear();
  conn_node_.clear();
  cached_function_.clear();
  cached_ids_.clear();
  cursor_ = 0;
}

Connection& Lease::worker(size_t i) {
  if (i >= conns_.size())
    throw ConfigError("lease " + id() + " has " + std::to_string(conns_.size()) +
                      " connected workers, not " + std::to_string(i + 1) +
                      (conns_.empty() ? " (call connect() first)" : ""));
  return *conns_[i];
}

const Connection& Lease::worker(size_t i) const {
  return const_cast<Lease*>(this)->worker(i);  // same checks; no state changes
}

const std::string& Lease::node_of(size_t i) const {
  if (i >= conn_node_.size()) throw ConfigError("no worker " + std::to_string(i));
  return conn_node_[i];
}

size_t Lease::advance() noexcept {
  const size_t i = cursor_;
  cursor_ = (cursor_ + 1) % conns_.size();
  return i;
}

Connection& Lease::next_worker() {
  if (conns_.empty()) throw ConfigError("lease " + id() + " is not connected (call connect())");
  return *conns_[advance()];
}

uint32_t Lease::function_id(size_t conn, std::string_view function) {
  if (function != cached_function_ || cached_ids_.size() != conns_.size()) {
    std::vector<uint32_t> ids;
    ids.reserve(conns_.size());
    for (auto& c : conns_) ids.push_back(c->function_id(function));  // throws naming the offer
    cached_ids_ = std::move(ids);
    cached_function_ = std::string(function);
  }
  return cached_ids_[conn];
}

protocol::Status Lease::invoke(std::string_view function, std::span<const std::byte> input,
                               InvocationResult& result, Deadline deadline) {
  if (conns_.empty()) throw ConfigError("lease " + id() + " is not connected (call connect())");
  const uint32_t fid = function_id(cursor_, function);
  const size_t i = advance();
  return conns_[i]->invoke(fid, input, result, deadline);
}

protocol::Status Lease::invoke_async(std::string_view function, std::span<const std::byte> input,
                                     Future& future, Deadline deadline) {
  if (conns_.empty()) throw ConfigError("lease " + id() + " is not connected (call connect())");
  const size_t i = cursor_;
  const auto st = conns_[i]->invoke_async(function_id(i, function), input, future, deadline);
  if (st != protocol::Status::kTooManyInFlight) advance();
  return st;
}

std::vector<InvocationResult> Lease::scatter(std::string_view function,
                                             const std::vector<std::span<const std::byte>>& inputs,
                                             Deadline deadline) {
  if (conns_.empty()) throw ConfigError("lease " + id() + " is not connected (call connect())");
  if (inputs.size() != conns_.size())
    throw ConfigError("scatter needs one input per worker: " + std::to_string(inputs.size()) +
                      " inputs for " + std::to_string(conns_.size()) + " workers");
  std::vector<InvocationResult> results(conns_.size());
  std::vector<Future> futures(conns_.size());
  std::exception_ptr first_error;
  std::string failed_node;
  const auto note = [&](size_t i) {
    if (!first_error) {
      first_error = std::current_exception();
      failed_node = conn_node_[i];
    }
  };
  for (size_t i = 0; i < conns_.size(); ++i) {
    try {
      const auto st =
          conns_[i]->invoke_async(function_id(i, function), inputs[i], futures[i], deadline);
      if (st != protocol::Status::kOk) results[i].status = st;
    } catch (const ConfigError&) {
      throw;  // unknown function: nothing was sent to any worker that matters
    } catch (const Error&) {
      note(i);
    }
  }
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (!futures[i].valid()) continue;
    try {
      std::swap(results[i], futures[i].get(deadline));
    } catch (const Error&) {
      note(i);
    }
  }
  if (first_error) {
    try {
      std::rethrow_exception(first_error);
    } catch (const TimeoutError& e) {
      throw TimeoutError("lease " + id() + ", node " + failed_node + ": " + e.what());
    } catch (const Error& e) {
      throw IoError("lease " + id() + ", node " + failed_node + ": " + e.what());
    }
  }
  return results;
}

std::vector<InvocationResult> Lease::broadcast(std::string_view function,
                                               std::span<const std::byte> input,
                                               Deadline deadline) {
  std::vector<std::span<const std::byte>> inputs(conns_.size(), input);
  return scatter(function, inputs, deadline);
}

void Lease::load_package(std::span<const std::byte> package, Deadline deadline) {
  if (conns_.empty()) throw ConfigError("lease " + id() + " is not connected (call connect())");
  for (auto& c : conns_) c->load_package(package, deadline);
  cached_function_.clear();  // the function list changed
  cached_ids_.clear();
}

const LeaseInfo& Lease::renew(double seconds) {
  info_ = manager_->renew(info_.id, seconds);
  return info_;
}

const LeaseInfo& Lease::release() {
  if (!released_) {
    info_ = manager_->release(info_.id);
    released_ = true;
  }
  return info_;
}

const LeaseInfo& Lease::refresh() {
  info_ = manager_->get(info_.id);
  return info_;
}

}  // namespace hpcless::client
