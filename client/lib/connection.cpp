#include "client/lib/connection.hpp"

#include <algorithm>

#include "comm/base/error.hpp"
#include "comm/transport/tcp/endpoint.hpp"
#include "comm/transport/tcp/tcp_link.hpp"
#ifdef HPCLESS_HAVE_RDMA
#include "comm/transport/rdma/rdma_link.hpp"
#endif

namespace hpcless::client {

using protocol::Header;
using protocol::MessageType;
using protocol::Status;

namespace {
// Request id 0 is reserved for control messages (hello, package load, ping).
constexpr uint64_t kControlId = 0;
constexpr uint32_t kMaxSlots = 1u << 16;
// Replies to the hello may be large (function lists); allow a generous control payload.
constexpr uint32_t kHandshakeMaxPayload = 1u << 20;
}  // namespace

struct Connection::Slot {
  enum class State : uint8_t { kFree, kPending, kDone, kAbandoned };
  State state = State::kFree;
  InvocationResult result;
  Callback callback;
};

std::string InvocationResult::error_message() const {
  std::string msg = protocol::to_string(status);
  if (!output.empty() && status != Status::kOk) {
    msg += ": ";
    msg.append(reinterpret_cast<const char*>(output.data()), output.size());
  }
  return msg;
}

// ---- Future -------------------------------------------------------------------------------

Future::Future(Future&& o) noexcept : conn_(std::exchange(o.conn_, nullptr)), id_(o.id_) {}
Future& Future::operator=(Future&& o) noexcept {
  if (this != &o) {
    reset();
    conn_ = std::exchange(o.conn_, nullptr);
    id_ = o.id_;
  }
  return *this;
}
Future::~Future() { reset(); }

void Future::reset() noexcept {
  if (conn_ != nullptr) conn_->release(id_);
  conn_ = nullptr;
}

bool Future::ready() {
  HPCLESS_CHECK(conn_ != nullptr, "ready() on an empty future");
  if (conn_->is_done(id_)) return true;
  if (!conn_->broken_) conn_->read_replies();
  return conn_->is_done(id_);
}

InvocationResult& Future::get(Deadline deadline) {
  HPCLESS_CHECK(conn_ != nullptr, "get() on an empty future");
  Connection* c = conn_;
  const uint64_t id = id_;
  c->progress_until([c, id] { return c->is_done(id); }, deadline, "asynchronous invocation");
  return c->result_of(id);
}

// ---- Connection ---------------------------------------------------------------------------

Connection::Connection(std::string address, const ConnectOptions& opts)
    : address_(std::move(address)), busy_poll_(opts.busy_poll) {}

Connection::~Connection() = default;

std::unique_ptr<Connection> Connection::connect(const std::string& address,
                                                const ConnectOptions& opts) {
  const auto endpoint = tcp::parse_endpoint(address);
  const bool rdma = opts.transport == "rdma";
  if (!rdma && opts.transport != "tcp")
    throw ConfigError("transport '" + opts.transport + "' is not one of: tcp, rdma");
#ifndef HPCLESS_HAVE_RDMA
  if (rdma)
    throw ConfigError("transport rdma: this build of hpcless has no RDMA (install libibverbs-dev "
                      "and librdmacm-dev, then reconfigure)");
#endif
  const auto deadline = Deadline::after(opts.connect_timeout);
  std::unique_ptr<Connection> c(new Connection(address, opts));
  const uint64_t t0 = now_ns();
  c->stream_ = std::make_unique<tcp::TcpLink>(tcp::connect_tcp(endpoint, deadline),
                                              kHandshakeMaxPayload);
  const uint64_t t1 = now_ns();
  c->handshake(opts, deadline);
  c->times_.tcp_connect_ns = t1 - t0;
  c->times_.hello_ns = now_ns() - t1;
#ifdef HPCLESS_HAVE_RDMA
  if (rdma) {
    if (c->info_.rdma_endpoint.empty())
      throw ProtocolError("executor at " + address + " answered a hello asking for RDMA "
                          "without an RDMA endpoint");
    rdma::LinkOptions lo;
    lo.max_payload = std::max(c->info_.max_payload, kHandshakeMaxPayload);
    rdma::SetupTimes st;
    auto link = rdma::RdmaLink::connect(c->info_.rdma_endpoint, c->info_.rdma_ticket, lo,
                                         deadline, &st);
    c->side_ = std::move(c->stream_);  // kept for crash reports (collect_side_reports)
    c->stream_ = std::move(link);
    c->times_.rdma_resolve_ns = st.resolve_ns;
    c->times_.rdma_register_ns = st.register_ns;
    c->times_.rdma_connect_ns = st.connect_ns;
  }
#endif
  c->stream_->set_busy_poll(opts.busy_poll);
  return c;
}

std::string_view Connection::transport() const noexcept { return stream_->kind(); }

void Connection::handshake(const ConnectOptions& opts, Deadline deadline) {
  protocol::Hello hello;
  hello.hot_timeout_ms = opts.hot_timeout_ms;
  hello.max_inflight = opts.max_inflight;
  hello.token = opts.token;
  hello.client_name = opts.client_name;
  hello.transport = opts.transport == "rdma" ? protocol::kTransportRdma : protocol::kTransportTcp;
  std::vector<std::byte> reply;
  control_round_trip(MessageType::kHello, protocol::encode(hello), MessageType::kHelloAck, reply,
                     deadline);
  info_ = protocol::decode_hello_ack(reply);
  const uint32_t cap = std::clamp<uint32_t>(info_.max_inflight, 1, kMaxSlots);
  slots_.resize(cap);
  stream_->set_max_payload(std::max(info_.max_payload, kHandshakeMaxPayload));
}

uint32_t Connection::function_id(std::string_view name) const {
  const auto& f = info_.functions;
  auto it = std::find(f.begin(), f.end(), name);
  if (it != f.end()) return static_cast<uint32_t>(it - f.begin());
  std::string offered;
  for (const auto& n : f) offered += (offered.empty() ? "" : ", ") + n;
  throw ConfigError("unknown function '" + std::string(name) + "'; package '" +
                    info_.package_name + "' offers: " + (offered.empty() ? "(none)" : offered));
}

Connection::Slot& Connection::slot_of(uint64_t id) { return slots_[id % slots_.size()]; }

bool Connection::is_done(uint64_t id) { return slot_of(id).state == Slot::State::kDone; }

InvocationResult& Connection::result_of(uint64_t id) { return slot_of(id).result; }

void Connection::release(uint64_t id) noexcept {
  Slot& s = slot_of(id);
  if (s.result.request_id != id) return;
  if (s.state == Slot::State::kPending) s.state = Slot::State::kAbandoned;
  else if (s.state == Slot::State::kDone) s.state = Slot::State::kFree;
}

Connection::Slot* Connection::start(uint32_t function_id, std::span<const std::byte> input,
                                    Deadline deadline, Status& status, uint16_t flags) {
  if (broken_) throw IoError(broken_reason_);
  if (input.size() > info_.max_payload) {
    status = Status::kPayloadTooLarge;
    return nullptr;
  }
  if (in_flight_ >= slots_.size()) {
    status = Status::kTooManyInFlight;
    return nullptr;
  }
  // Request ids need only be unique: skip ids whose slot still holds a result the caller has not
  // released (or awaits a late reply), so that a kept future does not block later requests.
  for (size_t probes = 0; slot_of(next_id_).state != Slot::State::kFree; ++next_id_) {
    if (++probes > slots_.size()) {
      status = Status::kTooManyInFlight;  // every slot is held
      return nullptr;
    }
  }
  Slot& s = slot_of(next_id_);
  const uint64_t id = next_id_++;
  s.state = Slot::State::kPending;
  s.callback = nullptr;
  s.result.request_id = id;
  s.result.function_id = function_id;
  s.result.input_bytes = input.size();
  s.result.status = Status::kOk;
  s.result.output.clear();
  ++in_flight_;

  Header h;
  h.type = MessageType::kInvoke;
  h.flags = flags;
  h.request_id = id;
  h.function_id = function_id;
  h.payload_len = static_cast<uint32_t>(input.size());
  s.result.client_send_ns = now_ns();
  auto drain = [this](Deadline) {
    read_replies();  // keep replies flowing so that the worker never blocks on us
    return !broken_;
  };
  const auto st = stream_->send_frame(h, input, deadline, drain);
  if (st == transport::SendStatus::kOk) {
    status = Status::kOk;
    return &s;
  }
  // A partly written frame leaves the stream unusable.
  const std::string why = st == transport::SendStatus::kTimeout
                              ? "timed out sending a request to " + address_
                              : "connection to " + address_ + " closed while sending";
  broken_ = true;
  broken_reason_ = why;
  if (st == transport::SendStatus::kTimeout) throw TimeoutError(why);
  throw IoError(why);
}

Status Connection::invoke(uint32_t function_id, std::span<const std::byte> input,
                          InvocationResult& result, Deadline deadline) {
  Status st;
  Slot* s = start(function_id, input, deadline, st);
  if (s == nullptr) {
    result = InvocationResult{};  // no stale timings from an earlier call
    result.status = st;
    result.function_id = function_id;
    result.input_bytes = input.size();
    return st;
  }
  const uint64_t id = s->result.request_id;
  try {
    progress_until([s] { return s->state == Slot::State::kDone; }, deadline, "invocation");
  } catch (...) {
    release(id);
    throw;
  }
  std::swap(result, s->result);  // hands over the output buffer without copying
  s->result.output.clear();
  s->result.request_id = id;
  release(id);
  return result.status;
}

Status Connection::invoke_async(uint32_t function_id, std::span<const std::byte> input,
                                Future& future, Deadline deadline) {
  Status st;
  Slot* s = start(function_id, input, deadline, st);
  if (s != nullptr) future = Future(this, s->result.request_id);
  return st;
}

Status Connection::invoke_group_async(uint32_t function_id, std::span<const std::byte> framed,
                                      Future& future, Deadline deadline) {
  Status st;
  Slot* s = start(function_id, framed, deadline, st, protocol::kFlagGroup);
  if (s != nullptr) future = Future(this, s->result.request_id);
  return st;
}

Status Connection::invoke_async(uint32_t function_id, std::span<const std::byte> input,
                                Callback cb, Deadline deadline) {
  Status st;
  Slot* s = start(function_id, input, deadline, st);
  if (s != nullptr) s->callback = std::move(cb);
  return st;
}

size_t Connection::progress() {
  if (broken_) throw IoError(broken_reason_);
  return read_replies();
}

size_t Connection::wait_some(Deadline deadline) {
  const uint64_t before = completed_total_;
  progress_until([this, before] { return completed_total_ > before || in_flight_ == 0; },
                 deadline, "waiting for a reply");
  return static_cast<size_t>(completed_total_ - before);
}

void Connection::drain(Deadline deadline) {
  progress_until([this] { return in_flight_ == 0; }, deadline, "draining invocations");
}

template <class Done>
void Connection::progress_until(Done&& done, Deadline deadline, const char* what) {
  uint32_t spins = 0;
  while (true) {
    if (done()) return;
    if (broken_) throw IoError(broken_reason_);
    if (read_replies() > 0) continue;
    if (done()) return;
    if (broken_) continue;
    if (busy_poll_) {
      if ((++spins & 63u) == 0 && deadline.expired())
        throw TimeoutError(std::string(what) + " on " + address_ + " timed out");
    } else if (!stream_->wait_readable(deadline)) {
      throw TimeoutError(std::string(what) + " on " + address_ + " timed out");
    }
  }
}

void Connection::fail_connection(const std::string& why) {
  broken_ = true;
  broken_reason_ = why;
  // Requests still pending can no longer complete; their waiters throw IoError.
}

size_t Connection::read_replies() {
  size_t completed = 0;
  while (!broken_) {
    const auto r = stream_->try_recv();
    if (r == transport::RecvStatus::kAgain) break;
    if (r == transport::RecvStatus::kClosed || r == transport::RecvStatus::kError) {
      const size_t lost = in_flight_;
      if (side_ && in_flight_ > 0) completed += collect_side_reports();
      std::string why = "connection to " + address_ + " closed by the executor";
      if (lost > 0) why += " with " + std::to_string(lost) + " invocation(s) in flight";
      if (stream_->kind() == "rdma") why += " (RDMA: the worker closed or died)";
      fail_connection(why);
      break;
    }
    if (r == transport::RecvStatus::kBadFrame || r == transport::RecvStatus::kTooLarge) {
      fail_connection(std::string("executor at ") + address_ + " sent an invalid frame: " +
                      protocol::to_string(stream_->decode_result()));
      break;
    }
    const bool ok = deliver(stream_->header(), stream_->payload(), completed);
    stream_->consume();
    if (!ok) break;
  }
  return completed;
}

size_t Connection::collect_side_reports() {
  // Over RDMA a worker that dies cannot answer; its executor reports the crash on the TCP
  // connection that carried the hello, which stays open for this. Wait briefly for it.
  std::unique_ptr<transport::FrameLink> side = std::move(side_);
  const auto deadline = Deadline::after(std::chrono::seconds(2));
  size_t completed = 0;
  while (in_flight_ > 0) {
    const auto r = side->try_recv();
    if (r == transport::RecvStatus::kFrame) {
      const Header& h = side->header();
      // Only error reports for requests in flight count; anything else ends the wait.
      const bool report = h.type == MessageType::kError && h.request_id != kControlId &&
                          slot_of(h.request_id).result.request_id == h.request_id;
      if (report) deliver(h, side->payload(), completed);
      side->consume();
      if (!report) break;
      continue;
    }
    if (r != transport::RecvStatus::kAgain || !side->wait_readable(deadline)) break;
  }
  return completed;
}

bool Connection::deliver(const Header& h, std::span<const std::byte> payload, size_t& completed) {
  if (h.request_id == kControlId) {
    if (!control_waiting_) {
      fail_connection("executor at " + address_ + " sent an unsolicited " +
                      protocol::to_string(h.type) + " message");
      return false;
    }
    control_header_ = h;
    control_reply_.assign(payload.begin(), payload.end());
    control_waiting_ = false;
    ++completed;
    return true;
  }
  Slot& s = slot_of(h.request_id);
  const bool matches = s.result.request_id == h.request_id &&
                       (s.state == Slot::State::kPending || s.state == Slot::State::kAbandoned) &&
                       (h.type == MessageType::kResult || h.type == MessageType::kError);
  if (!matches) {
    fail_connection("executor at " + address_ + " replied to unknown request " +
                    std::to_string(h.request_id));
    return false;
  }
  --in_flight_;
  if (s.state == Slot::State::kAbandoned) {
    s.state = Slot::State::kFree;
    ++completed_total_;
    return true;
  }
  InvocationResult& res = s.result;
  res.client_recv_ns = now_ns();
  res.status = h.type == MessageType::kResult ? Status::kOk : h.status;
  if (h.type == MessageType::kError && h.status == Status::kOk) res.status = Status::kInternal;
  res.output.assign(payload.begin(), payload.end());
  res.server = h.timestamps;
  res.phases = h.phases;
  res.cold = h.cold();
  s.state = Slot::State::kDone;
  ++completed;
  ++completed_total_;
  if (s.callback) {
    Callback cb = std::move(s.callback);
    s.callback = nullptr;
    cb(res);
    s.state = Slot::State::kFree;
  }
  return true;
}

void Connection::control_round_trip(MessageType type, std::span<const std::byte> payload,
                                    MessageType expect, std::vector<std::byte>& reply,
                                    Deadline deadline) {
  if (broken_) throw IoError(broken_reason_);
  Header h;
  h.type = type;
  h.request_id = kControlId;
  h.payload_len = static_cast<uint32_t>(payload.size());
  control_waiting_ = true;
  auto drain = [this](Deadline) {
    read_replies();
    return !broken_;
  };
  const auto st = stream_->send_frame(h, payload, deadline, drain);
  if (st != transport::SendStatus::kOk) {
    broken_ = true;
    broken_reason_ = "cannot send " + std::string(protocol::to_string(type)) + " to " + address_;
    if (st == transport::SendStatus::kTimeout) throw TimeoutError(broken_reason_ + ": timed out");
    throw IoError(broken_reason_);
  }
  const bool saved = busy_poll_;
  busy_poll_ = false;  // set-up messages wait without spinning
  try {
    progress_until([this] { return !control_waiting_; }, deadline,
                   protocol::to_string(type));
  } catch (...) {
    busy_poll_ = saved;
    control_waiting_ = false;
    throw;
  }
  busy_poll_ = saved;
  if (control_header_.type == MessageType::kError) {
    std::string msg(reinterpret_cast<const char*>(control_reply_.data()), control_reply_.size());
    std::string text = "executor at " + address_ + " refused " + protocol::to_string(type) +
                       ": " + protocol::to_string(control_header_.status) +
                       (msg.empty() ? "" : ": " + msg);
    // A refused package leaves the connection usable; other refusals close it.
    if (control_header_.status == Status::kPackageLoadFailed) throw ConfigError(text);
    throw IoError(text);
  }
  if (control_header_.type != expect) {
    broken_ = true;
    broken_reason_ = "executor at " + address_ + " answered " + protocol::to_string(type) +
                     " with " + protocol::to_string(control_header_.type);
    throw ProtocolError(broken_reason_);
  }
  reply.swap(control_reply_);
}

protocol::PackageInfo Connection::load_package(std::span<const std::byte> package,
                                               Deadline deadline) {
  if (package.size() > info_.max_payload)
    throw ConfigError("package of " + std::to_string(package.size()) +
                      " bytes exceeds the worker's payload limit of " +
                      std::to_string(info_.max_payload));
  std::vector<std::byte> reply;
  control_round_trip(MessageType::kLoadPackage, package, MessageType::kPackageLoaded, reply,
                     deadline);
  auto pkg = protocol::decode_package_info(reply);
  info_.package_name = pkg.package_name;
  info_.functions = pkg.functions;
  return pkg;
}

void Connection::ping(Deadline deadline) {
  std::vector<std::byte> reply;
  control_round_trip(MessageType::kPing, {}, MessageType::kPong, reply, deadline);
}

}  // namespace hpcless::client
