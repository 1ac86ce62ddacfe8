#include "executor/worker/worker_thread.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "comm/base/clock.hpp"
#include "comm/base/cpu.hpp"
#include "comm/base/error.hpp"
#include "comm/protocol/messages.hpp"
#include "comm/transport/tcp/hot_warm.hpp"
#include "comm/transport/tcp/tcp_link.hpp"
#ifdef HPCLESS_HAVE_RDMA
#include <sys/random.h>

#include "comm/transport/rdma/rdma_link.hpp"
#endif

namespace hpcless::executor {

using protocol::Header;
using protocol::MessageType;
using protocol::Status;

namespace {
constexpr uint32_t kFramesPerServe = 32;  // fairness between connections of one thread
constexpr uint32_t kHotChecksEvery = 256;  // hot-loop iterations between epoll/idle checks
std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
// Single writer per counter: a relaxed load and store, not a locked read-modify-write.
void add(std::atomic<uint64_t>& counter, uint64_t v) {
  counter.store(counter.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}
}  // namespace

struct WorkerThread::Conn {
  Conn(uint64_t i, UniqueFd fd, uint32_t max_payload)
      : id(i), link(std::make_unique<tcp::TcpLink>(std::move(fd), max_payload)) {}
  uint64_t id;
  std::unique_ptr<transport::FrameLink> link;  // TCP; RDMA once the client moved there
  tcp::HotWarmPolicy policy{protocol::kWarmAlways};  // warm until the hello says otherwise
  bool authenticated = false;
  bool closed = false;
  bool backlog = false;  // serve() stopped at its budget with frames still buffered
  bool awaiting_rdma = false;  // the hello-ack offered RDMA with `ticket`
  std::array<uint64_t, 2> ticket{0, 0};
  std::shared_ptr<const Package> package;
};

namespace {
// The epoll tag of the RDMA listener (connections use their Conn*, the wake-up fd null).
char rdma_listener_tag;
}  // namespace

WorkerThread::WorkerThread(uint32_t index, int core, WorkerConfig config,
                           std::shared_ptr<const Package> package, WorkerSlot* slot)
    : index_(index),
      core_(core),
      config_(std::move(config)),
      default_package_(std::move(package)),
      slot_(slot),
      host_(index, config_.max_payload, config_.storage) {
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw_system_error("epoll_create1");
  wake_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_) throw_system_error("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0) throw_system_error("epoll_ctl");
  if (!config_.rdma_address.empty()) {
#ifdef HPCLESS_HAVE_RDMA
    rdma_listener_ = std::make_unique<rdma::Listener>(config_.rdma_address);
    ev.data.ptr = &rdma_listener_tag;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, rdma_listener_->fd(), &ev) != 0)
      throw_system_error("epoll_ctl");
#else
    throw ConfigError("RDMA address " + config_.rdma_address +
                      " given, but this build has no RDMA transport (libibverbs-dev and "
                      "librdmacm-dev were missing when it was configured)");
#endif
  }
}

WorkerThread::~WorkerThread() {
  request_stop();
  join();
}

void WorkerThread::start() {
  auto started = started_.get_future();
  thread_ = std::thread([this] { run(); });
  started.get();  // rethrows a pinning failure
}

void WorkerThread::add_connection(uint64_t conn_id, UniqueFd fd) {
  {
    std::lock_guard lock(inbox_mu_);
    inbox_.emplace_back(conn_id, std::move(fd));
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof(one));
}

void WorkerThread::request_stop() {
  stop_.store(true, std::memory_order_relaxed);
  const uint64_t one = 1;
  if (wake_) (void)!write(wake_.get(), &one, sizeof(one));
}

void WorkerThread::join() {
  if (thread_.joinable()) thread_.join();
}

void WorkerThread::run() {
  try {
    if (core_ >= 0) pin_current_thread(core_);
    started_.set_value();
  } catch (...) {
    started_.set_exception(std::current_exception());
    return;
  }
  uint32_t iter = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    if (hot_count_ > 0) {
      // Hot: spin over the hot connections; epoll (warm ones, new connections) now and then.
      for (size_t i = 0; i < conns_.size(); ++i) {
        Conn& c = *conns_[i];
        if (!c.closed && c.policy.hot()) serve(c);
      }
      if (++iter % kHotChecksEvery == 0) {
        poll_events(0);
        check_idle(now_ns());
        sweep_closed();
      }
    } else {
      // Never block while a connection has frames buffered: epoll only reports the socket.
      // RDMA links must arm their completion queue before the thread sleeps.
      for (auto& c : conns_) {
        if (!c->closed && !c->link->prepare_wait()) {
          c->backlog = true;
          backlog_ = true;
        }
      }
      if (backlog_) {
        poll_events(0);
      } else {
        const uint64_t t0 = now_ns();
        poll_events(-1);
        if (slot_ != nullptr) add(slot_->idle_ns, now_ns() - t0);
      }
      sweep_closed();
    }
    if (backlog_) serve_backlog();
  }
  for (auto& c : conns_)
    if (!c->closed) close(*c);
  conns_.clear();
}

void WorkerThread::poll_events(int timeout_ms) {
  epoll_event events[64];
  const int n = epoll_wait(epoll_.get(), events, 64, timeout_ms);
  for (int i = 0; i < n; ++i) {
    if (events[i].data.ptr == nullptr) {
      uint64_t v;
      (void)!read(wake_.get(), &v, sizeof(v));
      take_inbox();
      continue;
    }
    if (events[i].data.ptr == &rdma_listener_tag) {
      accept_rdma();
      continue;
    }
    Conn& c = *static_cast<Conn*>(events[i].data.ptr);
    if (!c.closed) serve(c);
  }
}

void WorkerThread::take_inbox() {
  std::vector<std::pair<uint64_t, UniqueFd>> incoming;
  {
    std::lock_guard lock(inbox_mu_);
    incoming.swap(inbox_);
  }
  for (auto& [id, fd] : incoming) {
    auto c = std::make_unique<Conn>(id, std::move(fd), config_.max_payload);
    c->package = default_package_;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = c.get();
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c->link->wait_fd(), &ev) != 0) {
      c->link->shutdown();
      count_.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    conns_.push_back(std::move(c));
  }
}

void WorkerThread::check_idle(uint64_t now) {
  size_t hot = 0;
  for (auto& c : conns_) {
    if (c->closed) continue;
    if (c->policy.check_idle(now)) c->link->set_busy_poll(false);
    if (c->policy.hot()) ++hot;
  }
  hot_count_ = hot;
}

void WorkerThread::sweep_closed() {
  auto it = std::remove_if(conns_.begin(), conns_.end(), [](const auto& c) { return c->closed; });
  if (it == conns_.end()) return;
  conns_.erase(it, conns_.end());
  check_idle(now_ns());
}

void WorkerThread::close(Conn& c) {
  if (c.closed) return;
  c.closed = true;
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.link->wait_fd(), nullptr);
  // shutdown() (not just close) ends the connection although the daemon holds a duplicate.
  c.link->shutdown();
  count_.fetch_sub(1, std::memory_order_relaxed);
}

void WorkerThread::serve_backlog() {
  backlog_ = false;
  for (auto& c : conns_)
    if (c->backlog && !c->closed) serve(*c);  // may set backlog_ again
}

void WorkerThread::serve(Conn& c) {
  c.backlog = false;
  for (uint32_t budget = 0; budget < kFramesPerServe && !c.closed; ++budget) {
    const auto r = c.link->try_recv();
    switch (r) {
      case transport::RecvStatus::kAgain:
        return;
      case transport::RecvStatus::kFrame: {
        const uint64_t arrival = c.link->frame_arrival_ns();
        const bool was_hot = c.policy.hot();
        const bool keep = handle_frame(c, arrival);
        c.link->consume();
        if (!keep) {
          close(c);
          return;
        }
        c.policy.on_activity(arrival);
        if (!was_hot && c.policy.hot()) {
          ++hot_count_;
          c.link->set_busy_poll(true);
        }
        break;
      }
      case transport::RecvStatus::kTooLarge: {
        const auto& h = c.link->header();
        std::string msg = "payload of " + std::to_string(h.payload_len) +
                          " bytes exceeds this worker's limit of " +
                          std::to_string(config_.max_payload) + " bytes";
        const uint64_t id = h.request_id;
        c.link->discard();
        if (!reply_error(c, id, Status::kPayloadTooLarge, msg)) return;
        break;
      }
      case transport::RecvStatus::kBadFrame: {
        const auto d = c.link->decode_result();
        std::string msg = std::string("malformed frame (") + protocol::to_string(d) +
                          "); closing the connection";
        reply_error(c, 0, protocol::status_for(d), msg);
        close(c);
        return;
      }
      case transport::RecvStatus::kClosed:
      case transport::RecvStatus::kError:
        close(c);
        return;
    }
  }
  // Out of budget. Frames already read from the socket will not raise another epoll event, so
  // remember to come back (a warm connection with a deep pipeline would stall otherwise).
  if (!c.closed && c.link->has_buffered()) {
    c.backlog = true;
    backlog_ = true;
  }
}

bool WorkerThread::handle_frame(Conn& c, uint64_t arrival_ns) {
  const Header& h = c.link->header();
  if (!c.authenticated) {
    if (h.type != MessageType::kHello) {
      reply_error(c, h.request_id, Status::kNotAuthenticated,
                  std::string("the first message on a connection must be a hello, not ") +
                      protocol::to_string(h.type));
      return false;
    }
    return handle_hello(c);
  }
  switch (h.type) {
    case MessageType::kInvoke:
      handle_invoke(c, arrival_ns);
      return !c.closed;
    case MessageType::kPing: {
      Header r;
      r.type = MessageType::kPong;
      r.request_id = h.request_id;
      r.payload_len = h.payload_len;
      return reply(c, r, c.link->payload());
    }
    case MessageType::kLoadPackage:
      handle_load(c);
      return !c.closed;
    default:
      return reply_error(c, h.request_id, Status::kUnexpectedMessage,
                         std::string("a client may not send ") + protocol::to_string(h.type) +
                             " after the hello");
  }
}

bool WorkerThread::handle_hello(Conn& c) {
  protocol::Hello hello;
  try {
    hello = protocol::decode_hello(c.link->payload());
  } catch (const ProtocolError& e) {
    reply_error(c, c.link->header().request_id, Status::kMalformedFrame, e.what());
    return false;
  }
  if (config_.verify_token) {
    std::string why;
    const Status st = config_.verify_token(hello.token, why);
    if (st != Status::kOk) {
      reply_error(c, c.link->header().request_id, st, why);
      return false;
    }
  }
  if (hello.transport == protocol::kTransportRdma && !rdma_listener_) {
    reply_error(c, c.link->header().request_id, Status::kTransportUnavailable,
                "this worker offers no RDMA: its executor runs without --rdma-address (or was "
                "built without RDMA); ask for a lease with transport tcp");
    return false;
  }
  c.authenticated = true;
  c.policy.reset(hello.hot_timeout_ms);
  c.policy.start(now_ns());
  c.link->set_busy_poll(c.policy.hot());
  protocol::HelloAck ack;
  ack.max_payload = config_.max_payload;
  ack.max_inflight = hello.max_inflight == 0
                         ? config_.max_inflight
                         : std::min(hello.max_inflight, config_.max_inflight);
  ack.worker_id = index_;
  ack.hot_timeout_ms = c.policy.timeout_ms();
  ack.node_name = config_.node_name;
  ack.package_name = c.package->name();
  ack.functions = c.package->function_names();
  if (config_.startup) {
    ack.worker_spawn_ns = config_.startup->spawn_ns;
    ack.worker_package_ns = config_.startup->package_ns;
    ack.fresh_worker = config_.startup->hello_served.exchange(true, std::memory_order_relaxed) ? 0 : 1;
  }
#ifdef HPCLESS_HAVE_RDMA
  if (hello.transport == protocol::kTransportRdma) {
    // A one-time ticket binds the RDMA connection the client opens next to this hello.
    if (getrandom(c.ticket.data(), sizeof(c.ticket), 0) != static_cast<ssize_t>(sizeof(c.ticket))) {
      reply_error(c, c.link->header().request_id, Status::kInternal, "getrandom failed");
      return false;
    }
    c.awaiting_rdma = true;
    ack.rdma_endpoint = rdma_listener_->endpoint();
    ack.rdma_ticket = c.ticket;
  }
#endif
  const auto body = protocol::encode(ack);
  Header r;
  r.type = MessageType::kHelloAck;
  r.request_id = c.link->header().request_id;
  r.payload_len = static_cast<uint32_t>(body.size());
  return reply(c, r, body);
}

void WorkerThread::handle_invoke(Conn& c, uint64_t arrival_ns) {
  const Header& h = c.link->header();
  if (config_.lease && !config_.lease->open_at(arrival_ns)) {
    const Status st = config_.lease->end_status();
    if (slot_ != nullptr) add(slot_->errors, 1);
    reply_error(c, h.request_id, st,
                "lease " + config_.lease->id() +
                    (st == Status::kTokenExpired ? " has expired; renew it before it ends"
                                                 : " has ended (released or failed)"));
    return;
  }
  hpcless_entry_fn fn = c.package->function(h.function_id);
  if (fn == nullptr) {
    reply_error(c, h.request_id, Status::kUnknownFunction,
                "function id " + std::to_string(h.function_id) + " is not in package '" +
                    c.package->name() + "', which has " +
                    std::to_string(c.package->function_count()) + " functions");
    return;
  }
  // A group invocation: the payload starts with the group block (docs/protocol.md). A bad block
  // is answered like a bad body; the frame itself was whole, so the connection stays usable.
  std::span<const std::byte> input = c.link->payload();
  const protocol::GroupBlock* group = nullptr;
  if (h.flags & protocol::kFlagGroup) {
    try {
      auto split = protocol::split_group_payload(input);
      group_block_ = std::move(split.block);
      input = split.input;
      group = &group_block_;
    } catch (const ProtocolError& e) {
      if (slot_ != nullptr) add(slot_->errors, 1);
      reply_error(c, h.request_id, Status::kMalformedFrame, e.what());
      return;
    }
  }
  if (slot_ != nullptr) {
    if (slot_->function_id.load(std::memory_order_relaxed) != h.function_id ||
        slot_->function_name[0] == '\0') {
      std::snprintf(slot_->function_name, sizeof(slot_->function_name), "%s",
                    c.package->function_name(h.function_id).c_str());
      slot_->function_id.store(h.function_id, std::memory_order_relaxed);
    }
    slot_->conn_id.store(c.id, std::memory_order_relaxed);
    slot_->request_id.store(h.request_id, std::memory_order_relaxed);
    slot_->state.store(static_cast<uint32_t>(SlotState::kRunning), std::memory_order_release);
  }
  Header r;
  r.flags = protocol::kFlagTimestamps;
  r.request_id = h.request_id;
  r.function_id = h.function_id;
  r.timestamps.recv_ns = arrival_ns;
  r.timestamps.start_ns = now_ns();
  const int rc = host_.run(fn, h.function_id, h.request_id, input, group);
  r.timestamps.end_ns = now_ns();
  if (host_.cold()) r.flags |= protocol::kFlagCold;
  if (host_.phases_used()) {
    r.flags |= protocol::kFlagPhases;
    for (int p = 0; p < HPCLESS_PHASE_COUNT; ++p)
      r.phases.ns[p] = host_.phase_ns(static_cast<hpcless_phase>(p));
  }
  std::span<const std::byte> out;
  std::string fallback;
  if (rc == 0) {
    r.type = MessageType::kResult;
    out = host_.output();
  } else {
    r.type = MessageType::kError;
    r.status = Status::kFunctionFailed;
    if (config_.memory_limit_mb != 0 && host_.error() == "std::bad_alloc") {
      r.status = Status::kMemoryLimit;
      fallback = "function '" + c.package->function_name(h.function_id) +
                 "' exceeded the lease's memory limit of " +
                 std::to_string(config_.memory_limit_mb) + " MiB (std::bad_alloc)";
      out = as_bytes(fallback);
    } else if (host_.error().empty()) {
      fallback = "function '" + c.package->function_name(h.function_id) + "' returned " +
                 std::to_string(rc) + " without a message";
      out = as_bytes(fallback);
    } else {
      out = as_bytes(host_.error());
    }
  }
  r.payload_len = static_cast<uint32_t>(out.size());
  if (slot_ != nullptr) {
    add(slot_->busy_ns, r.timestamps.end_ns - r.timestamps.start_ns);
    add(slot_->invocations, 1);
    if (rc != 0) add(slot_->errors, 1);
    slot_->state.store(static_cast<uint32_t>(SlotState::kSending), std::memory_order_release);
  }
  r.timestamps.send_ns = now_ns();
  c.link->set_busy_poll(c.policy.hot());
  if (c.link->send_frame(r, out, Deadline::after(config_.send_timeout)) != transport::SendStatus::kOk)
    close(c);
  if (slot_ != nullptr)
    slot_->state.store(static_cast<uint32_t>(SlotState::kIdle), std::memory_order_release);
}

void WorkerThread::handle_load(Conn& c) {
  const uint64_t id = c.link->header().request_id;
  std::shared_ptr<const Package> pkg;
  try {
    pkg = Package::load_bytes(c.link->payload());
  } catch (const Error& e) {
    reply_error(c, id, Status::kPackageLoadFailed, e.what());
    return;
  }
  c.package = pkg;
  protocol::PackageInfo info{pkg->name(), pkg->function_names()};
  const auto body = protocol::encode(info);
  Header r;
  r.type = MessageType::kPackageLoaded;
  r.request_id = id;
  r.payload_len = static_cast<uint32_t>(body.size());
  reply(c, r, body);
}

void WorkerThread::accept_rdma() {
#ifdef HPCLESS_HAVE_RDMA
  rdma::Listener::Request req;
  while (rdma_listener_->next_request(req)) {
    Conn* owner = nullptr;
    for (auto& c : conns_)
      if (!c->closed && c->awaiting_rdma && c->ticket == req.peer.ticket) owner = c.get();
    if (owner == nullptr) {
      // Unknown, used or forged ticket: the client learns "rejected".
      rdma_listener_->reject(req);
      continue;
    }
    rdma::LinkOptions opts;
    opts.max_payload = config_.max_payload;
    std::unique_ptr<rdma::RdmaLink> link;
    try {
      link = rdma_listener_->accept(req, opts);
    } catch (const Error& e) {
      std::fprintf(stderr, "hpcless-worker: RDMA connection %llu not accepted: %s\n",
                   static_cast<unsigned long long>(owner->id), e.what());
      close(*owner);
      continue;
    }
    // The connection moves: same lease, package and policy, new link. The worker closes its copy
    // of the hello's TCP socket without shutting it down: the daemon's copy stays open so that
    // it can still report a crash of this worker to the client (Connection::side_).
    Conn& c = *owner;
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.link->wait_fd(), nullptr);
    c.link = std::move(link);
    c.awaiting_rdma = false;
    c.link->set_busy_poll(c.policy.hot());
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &c;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.link->wait_fd(), &ev) != 0) {
      c.closed = true;
      c.link->shutdown();
      count_.fetch_sub(1, std::memory_order_relaxed);
    }
  }
#endif
}

bool WorkerThread::reply(Conn& c, const Header& h, std::span<const std::byte> payload) {
  if (c.link->send_frame(h, payload, Deadline::after(config_.send_timeout)) ==
      transport::SendStatus::kOk)
    return true;
  close(c);
  return false;
}

bool WorkerThread::reply_error(Conn& c, uint64_t request_id, Status status,
                               std::string_view message) {
  Header h;
  h.type = MessageType::kError;
  h.status = status;
  h.request_id = request_id;
  h.payload_len = static_cast<uint32_t>(message.size());
  return reply(c, h, as_bytes(message));
}

}  // namespace hpcless::executor
