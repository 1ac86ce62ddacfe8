#include "client/lib/pool.hpp"

#include "comm/base/error.hpp"

namespace hpcless::client {

Pool::Pool(const std::vector<std::string>& addresses, const ConnectOptions& opts,
           size_t per_address) {
  if (addresses.empty()) throw ConfigError("a pool needs at least one worker address");
  for (const auto& a : addresses)
    for (size_t i = 0; i < per_address; ++i) conns_.push_back(Connection::connect(a, opts));
}

void Pool::wait_briefly(size_t start) {
  // Warm connections: block for a moment on one that has work instead of spinning over all of
  // them; hot ones keep spinning (their owner asked for it).
  for (size_t k = 0; k < conns_.size(); ++k) {
    Connection& c = *conns_[(start + k) % conns_.size()];
    if (c.in_flight() == 0) continue;
    if (c.busy_poll()) return;
    try {
      c.wait_some(Deadline::after(std::chrono::milliseconds(1)));
    } catch (const TimeoutError&) {
      // nothing arrived on this one within 1 ms: the caller polls all connections again
    }
    return;
  }
}

std::vector<InvocationResult> Pool::invoke_all(std::string_view function,
                                               const std::vector<std::span<const std::byte>>& inputs,
                                               Deadline deadline) {
  std::vector<InvocationResult> results(inputs.size());
  std::vector<uint32_t> ids;
  for (auto& c : conns_) ids.push_back(c->function_id(function));

  size_t next = 0;
  size_t done = 0;
  size_t rr = 0;
  while (done < inputs.size()) {
    // Submit as much as the connections accept.
    bool submitted = false;
    for (size_t tries = 0; next < inputs.size() && tries < conns_.size(); ++tries) {
      const size_t ci = rr++ % conns_.size();
      const size_t index = next;
      auto st = conns_[ci]->invoke_async(
          ids[ci], inputs[index],
          [&results, &done, index](InvocationResult& r) {
            std::swap(results[index], r);
            ++done;
          },
          deadline);
      if (st == protocol::Status::kOk) {
        ++next;
        submitted = true;
        tries = 0;
      } else if (st != protocol::Status::kTooManyInFlight) {
        results[index].status = st;
        ++next;
        ++done;
      }
    }
    if (!submitted || next == inputs.size()) {
      size_t got = 0;
      for (auto& c : conns_) got += c->progress();
      if (got == 0 && deadline.expired()) throw TimeoutError("pool invocation timed out");
      if (got == 0) wait_briefly(rr);
    }
  }
  return results;
}

std::vector<InvocationResult> Pool::invoke_each(std::string_view function,
                                                std::span<const std::byte> input,
                                                Deadline deadline) {
  std::vector<Future> futures(conns_.size());
  std::vector<InvocationResult> results(conns_.size());
  for (size_t i = 0; i < conns_.size(); ++i) {
    auto st = conns_[i]->invoke_async(conns_[i]->function_id(function), input, futures[i], deadline);
    if (st != protocol::Status::kOk) results[i].status = st;
  }
  for (size_t i = 0; i < conns_.size(); ++i)
    if (futures[i].valid()) std::swap(results[i], futures[i].get(deadline));
  return results;
}

}  // namespace hpcless::client
