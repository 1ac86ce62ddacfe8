// Lease::invoke_group: one invocation per leased core, as the ranks of one communicator.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <random>
#include <set>
#include <thread>

#include "client/lib/lease_session.hpp"
#include "comm/base/error.hpp"
#include "comm/protocol/messages.hpp"

namespace hpcless::client {

namespace {

std::string fresh_group_id() {
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "g-%08x%08x%08x", rd(), rd(), rd());
  return buf;
}

std::string host_of(const std::string& address) {
  const auto colon = address.rfind(':');
  std::string h = colon == std::string::npos ? address : address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return h;
}

}  // namespace

std::string GroupRankResult::message() const {
  if (!error.empty()) return error;
  if (result.ok()) return std::string(result.output_text());
  return result.error_message();
}

size_t Lease::group_size() const noexcept {
  size_t n = 0;
  for (const auto& a : info_.allocations) n += std::max<size_t>(1, a.cores.size());
  return n;
}

void Lease::connect_group(Deadline deadline) {
  if (!group_.empty()) return;
  group_spare_.clear();
  ConnectOptions base = opts_.connect;
  // Group functions run long and collective: the client blocks instead of spinning (its cores
  // are the ranks' cores on a small node), and the worker threads go back to epoll after the
  // group instead of busy-polling these connections.
  base.busy_poll = false;
  base.hot_timeout_ms = protocol::kWarmAlways;
  base.transport = info_.transport;
  const auto left = std::chrono::milliseconds(std::max(1, deadline.remaining_ms()));
  if (!deadline.is_never()) base.connect_timeout = std::min(base.connect_timeout, left);

  std::vector<GroupRank> ranks;
  for (size_t ai = 0; ai < info_.allocations.size(); ++ai) {
    const auto& a = info_.allocations[ai];
    const size_t want = std::max<size_t>(1, a.cores.size());
    ConnectOptions o = base;
    o.token = a.token;
    // The worker gives each new connection to its least-loaded thread, which spreads our
    // connections when we are its only client; other clients' connections can skew that, so
    // keep opening until `want` distinct threads are covered (bounded).
    std::vector<GroupRank> mine;
    std::set<uint32_t> threads;
    for (size_t attempt = 0; threads.size() < want; ++attempt) {
      if (attempt >= 4 * want)
        throw IoError("lease " + id() + ": node " + a.node + " gave " +
                      std::to_string(want) + "-rank group connections only " +
                      std::to_string(threads.size()) +
                      " distinct worker threads; ranks on one thread would deadlock (other "
                      "clients' connections skew the worker's assignment)");
      if (deadline.expired())
        throw TimeoutError("lease " + id() + ": connecting the group to node " + a.node);
      std::unique_ptr<Connection> c;
      try {
        c = Connection::connect(a.address, o);
      } catch (const Error& e) {
        throw IoError("lease " + id() + ": cannot connect a group rank to node " + a.node +
                      " at " + a.address + ": " + e.what());
      }
      const uint32_t t = c->info().worker_id;
      if (threads.insert(t).second)
        mine.push_back(GroupRank{std::move(c), ai, t});
      else
        group_spare_.push_back(std::move(c));
    }
    std::sort(mine.begin(), mine.end(),
              [](const GroupRank& x, const GroupRank& y) { return x.thread < y.thread; });
    for (auto& r : mine) ranks.push_back(std::move(r));
  }
  group_ = std::move(ranks);
}

GroupResult Lease::invoke_group(std::string_view function, std::span<const std::byte> input,
                                Deadline deadline, const GroupOptions& options) {
  std::vector<std::span<const std::byte>> inputs(group_size(), input);
  return invoke_group(function, inputs, deadline, options);
}

GroupResult Lease::invoke_group(std::string_view function,
                                const std::vector<std::span<const std::byte>>& inputs,
                                Deadline deadline, const GroupOptions& options) {
  const size_t size = group_size();
  if (size == 0) throw ConfigError("lease " + id() + " has no allocations");
  if (inputs.size() != size)
    throw ConfigError("a group invocation on lease " + id() + " has " + std::to_string(size) +
                      " ranks (one per leased core), but " + std::to_string(inputs.size()) +
                      " inputs were given");
  if (size > protocol::kMaxGroupSize) throw ConfigError("group too large");
  if (deadline.is_never()) throw ConfigError("a group invocation needs a deadline");
  if (options.channel != "direct" && options.channel != "direct-rdma" &&
      options.channel != "redis" && options.channel != "s3" && options.channel != "auto")
    throw ConfigError("unknown group channel '" + options.channel +
                      "' (direct, direct-rdma, redis, s3 or auto)");
  std::string rendezvous = options.rendezvous;
  if (rendezvous.empty()) {
    if (manager_ == nullptr) throw ConfigError("no rendezvous store: the lease has no manager");
    rendezvous = manager_->url();
  }
  if (rendezvous.rfind("http://", 0) != 0 && rendezvous.rfind("tcp://", 0) != 0)
    throw ConfigError("group rendezvous '" + rendezvous +
                      "' must be http://HOST:PORT or tcp://HOST:PORT");

  connect_group(deadline);
  GroupResult out;
  out.group = options.group_id.empty() ? fresh_group_id() : options.group_id;
  out.ranks.resize(size);

  // The ranks' deadline ends before ours, so that ranks blocked on a failed peer still get
  // their error back to us.
  const int64_t left_ms = deadline.remaining_ms();
  if (left_ms <= 0) throw TimeoutError("group invocation: deadline passed before sending");
  const int64_t margin = std::min<int64_t>(left_ms / 5, 2000);
  const auto rank_timeout = static_cast<uint32_t>(std::max<int64_t>(1, left_ms - margin));

  std::vector<uint32_t> fids(size);
  for (size_t r = 0; r < size; ++r) fids[r] = group_[r].conn->function_id(function);  // throws

  std::vector<Future> futures(size);
  std::vector<std::byte> framed;
  bool broken = false;
  for (size_t r = 0; r < size; ++r) {
    auto& gr = group_[r];
    auto& res = out.ranks[r];
    res.rank = static_cast<int>(r);
    res.node = info_.allocations[gr.allocation].node;
    res.worker_thread = gr.thread;
    protocol::GroupBlock b;
    b.group = out.group;
    b.rank = static_cast<uint32_t>(r);
    b.size = static_cast<uint32_t>(size);
    b.rendezvous = rendezvous;
    b.channel = options.channel;
    b.listen_host = host_of(info_.allocations[gr.allocation].address);
    b.timeout_ms = rank_timeout;
    b.message_bytes = options.message_bytes;
    framed = protocol::encode_group_prefix(b);
    framed.insert(framed.end(), inputs[r].begin(), inputs[r].end());
    try {
      const auto st = gr.conn->invoke_group_async(fids[r], framed, futures[r], deadline);
      if (st != protocol::Status::kOk) {
        res.result.status = st;  // payload too large / too many in flight: never sent
        const std::string why = st == protocol::Status::kPayloadTooLarge
                                    ? "input too large for the worker"
                                    : "not sent (too many in flight)";
        res.result.output.assign(reinterpret_cast<const std::byte*>(why.data()),
                                 reinterpret_cast<const std::byte*>(why.data() + why.size()));
      }
    } catch (const Error& e) {
      res.result.status = protocol::Status::kInternal;
      res.error = "rank " + std::to_string(r) + " on node " + res.node + ": " + e.what();
      broken = true;
    }
  }
  for (size_t r = 0; r < size; ++r) {
    if (!futures[r].valid()) continue;
    auto& res = out.ranks[r];
    try {
      std::swap(res.result, futures[r].get(deadline));
    } catch (const Error& e) {
      res.result.status = protocol::Status::kInternal;
      res.error = "rank " + std::to_string(r) + " on node " + res.node + ": " + e.what();
      broken = true;
    }
  }
  futures.clear();
  // A connection that broke or still owes a reply cannot serve the next group cleanly.
  if (broken) disconnect_group();
  return out;
}

}  // namespace hpcless::client
