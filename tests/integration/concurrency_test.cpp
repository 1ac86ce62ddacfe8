// Many clients at once, pipelined requests, and requests spread over several worker threads.
// Every input is unique, so a reply delivered to the wrong request (or the wrong client) shows.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <set>
#include <thread>
#include <tuple>

#include "client/lib/pool.hpp"
#include "comm/base/error.hpp"
#include "tests/integration/executor_fixture.hpp"

namespace hpcless::itest {
namespace {

using namespace std::chrono_literals;
using client::InvocationResult;
using protocol::Status;

constexpr int kThreads = 8;
constexpr int kRequestsPerThread = 500;
constexpr size_t kWindow = 32;  // requests in flight per connection

// Unique per (thread, index), of varying length so that frames straddle reads differently.
std::vector<std::byte> unique_input(int thread, int index) {
  std::string s = "thread " + std::to_string(thread) + " request " + std::to_string(index) + ":";
  s.append(static_cast<size_t>((thread * 131 + index * 17) % 300),
           static_cast<char>('a' + (index + thread) % 26));
  return to_bytes(s);
}

// What one client thread saw; checked on the main thread (gtest asserts only fail the thread).
struct ThreadReport {
  int matched = 0;
  std::string first_problem;
  void problem(const std::string& what) {
    if (first_problem.empty()) first_problem = what;
  }
};

// Runs `body(thread index, report)` on kThreads threads and checks every report.
template <class Body>
void run_clients(Body body) {
  std::vector<ThreadReport> reports(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&body, &reports, t] {
      try {
        body(t, reports[t]);
      } catch (const std::exception& e) {
        reports[t].problem(std::string("exception: ") + e.what());
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(reports[t].first_problem, "") << "client thread " << t;
    EXPECT_EQ(reports[t].matched, kRequestsPerThread) << "client thread " << t;
  }
}

// Parameters: transport, and whether the worker busy-polls (hot) or blocks (warm). The clients
// always block: 8 spinning clients would starve the worker on a small machine.
class PipelineTest : public ::testing::TestWithParam<std::tuple<std::string, Mode>> {
 protected:
  void SetUp() override {
    exec_ =
        std::make_unique<ExecutorProcess>(ExecutorOptions{.transport = std::get<0>(GetParam())});
    opts_ = connect_options(Mode::kWarm);
    opts_.hot_timeout_ms =
        std::get<1>(GetParam()) == Mode::kHot ? protocol::kHotAlways : protocol::kWarmAlways;
  }
  std::unique_ptr<ExecutorProcess> exec_;
  client::ConnectOptions opts_;
};

TEST_P(PipelineTest, PipelinedFuturesFromEightClients) {
  ExecutorProcess& exec = *exec_;
  const auto& opts = opts_;
  run_clients([&](int t, ThreadReport& rep) {
    auto conn = exec.connect(opts);
    const uint32_t echo = conn->function_id("echo");
    struct Pending {
      client::Future future;
      std::vector<std::byte> input;
      int index;
    };
    std::deque<Pending> pending;
    int next = 0;
    while (next < kRequestsPerThread || !pending.empty()) {
      if (next < kRequestsPerThread && pending.size() < kWindow) {
        Pending p{client::Future(), unique_input(t, next), next};
        const Status st = conn->invoke_async(echo, p.input, p.future, Deadline::after(5s));
        if (st != Status::kOk) {
          rep.problem("invoke_async of request " + std::to_string(next) + ": " +
                      protocol::to_string(st));
          return;
        }
        pending.push_back(std::move(p));
        ++next;
        continue;
      }
      Pending& p = pending.front();
      InvocationResult& r = p.future.get(Deadline::after(10s));
      if (!r.ok())
        rep.problem("request " + std::to_string(p.index) + ": " + r.error_message());
      else if (r.output != p.input)
        rep.problem("request " + std::to_string(p.index) + " got '" +
                    std::string(r.output_text().substr(0, 40)) + "'");
      else
        ++rep.matched;
      pending.pop_front();
    }
    if (conn->in_flight() != 0) rep.problem("requests left in flight");
  });
}

TEST_P(PipelineTest, PipelinedCallbacksFromEightClients) {
  ExecutorProcess& exec = *exec_;
  const auto& opts = opts_;
  run_clients([&](int t, ThreadReport& rep) {
    auto conn = exec.connect(opts);
    const uint32_t echo = conn->function_id("echo");
    const auto deadline = Deadline::after(60s);
    for (int i = 0; i < kRequestsPerThread; ++i) {
      // Keep at most kWindow in flight; the library has no blocking "wait for any", so poll
      // gently (callbacks run inside progress()).
      while (conn->in_flight() >= kWindow) {
        if (conn->progress() == 0) std::this_thread::sleep_for(50us);
        if (deadline.expired()) throw TimeoutError("callbacks did not arrive");
      }
      const auto input = unique_input(t, i);
      auto cb = [&rep, expected = input, i](InvocationResult& r) {
        if (!r.ok())
          rep.problem("request " + std::to_string(i) + ": " + r.error_message());
        else if (r.output != expected)
          rep.problem("request " + std::to_string(i) + " got '" +
                      std::string(r.output_text().substr(0, 40)) + "'");
        else
          ++rep.matched;
      };
      const Status st = conn->invoke_async(echo, input, std::move(cb), Deadline::after(5s));
      if (st != Status::kOk) {
        rep.problem("invoke_async of request " + std::to_string(i) + ": " +
                    protocol::to_string(st));
        return;
      }
    }
    conn->drain(Deadline::after(10s));
    if (conn->in_flight() != 0) rep.problem("requests left in flight");
  });
}

// Regression: a warm worker used to stall when one read brought more pipelined frames than it
// serves per turn, since the rest sat in its buffer and epoll had nothing new to report.
TEST_P(PipelineTest, DeepPipelineOnOneConnection) {
  auto conn = exec_->connect(opts_);
  const uint32_t echo = conn->function_id("echo");
  const size_t window = std::min<size_t>(conn->info().max_inflight, 200);
  std::deque<std::pair<client::Future, std::vector<std::byte>>> pending;
  for (int i = 0; i < 2000; ++i) {
    if (pending.size() == window) {
      auto& [f, in] = pending.front();
      const auto& r = f.get(Deadline::after(5s));
      ASSERT_TRUE(r.ok()) << r.error_message();
      ASSERT_EQ(r.output, in);
      pending.pop_front();
    }
    pending.emplace_back(client::Future(), unique_input(0, i));
    ASSERT_EQ(
        conn->invoke_async(echo, pending.back().second, pending.back().first, Deadline::after(5s)),
        Status::kOk);
  }
  while (!pending.empty()) {
    auto& [f, in] = pending.front();
    const auto& r = f.get(Deadline::after(5s));
    ASSERT_TRUE(r.ok()) << r.error_message();
    ASSERT_EQ(r.output, in);
    pending.pop_front();
  }
}

TEST_P(PipelineTest, PoolInvokeAllReturnsResultsInInputOrder) {
  ExecutorProcess& exec = *exec_;
  client::Pool pool({exec.address()}, opts_, 4);
  ASSERT_EQ(pool.size(), 4u);
  std::vector<std::vector<std::byte>> inputs;
  for (int i = 0; i < 200; ++i) inputs.push_back(unique_input(99, i));
  std::vector<std::span<const std::byte>> spans(inputs.begin(), inputs.end());
  const auto results = pool.invoke_all("echo", spans, Deadline::after(20s));
  ASSERT_EQ(results.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << "input " << i << ": " << results[i].error_message();
    EXPECT_EQ(results[i].output, inputs[i]) << "input " << i << " got " << results[i].output_text();
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, PipelineTest,
                         ::testing::Combine(::testing::ValuesIn(transports()),
                                            ::testing::Values(Mode::kHot, Mode::kWarm)),
                         [](const ::testing::TestParamInfo<PipelineTest::ParamType>& info) {
                           return std::get<0>(info.param) + "_worker_" +
                                  to_string(std::get<1>(info.param));
                         });

class ConcurrencyTest : public TransportTest {};

TEST_P(ConcurrencyTest, PoolReachesEveryWorkerThread) {
  ExecutorProcess exec({.transport = GetParam(), .package = test_package(), .workers = 2});
  client::Pool pool({exec.address()}, connect_options(Mode::kWarm), 2);
  std::set<uint32_t> acked;
  for (size_t i = 0; i < pool.size(); ++i) acked.insert(pool.at(i).info().worker_id);
  EXPECT_EQ(acked, (std::set<uint32_t>{0, 1}));

  const auto results = pool.invoke_each("worker_id", {}, Deadline::after(5s));
  ASSERT_EQ(results.size(), 2u);
  std::set<std::string> ids;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error_message();
    ids.insert(std::string(r.output_text()));
  }
  EXPECT_EQ(ids, (std::set<std::string>{"0", "1"}));
}

TEST_P(ConcurrencyTest, InFlightLimitIsEnforcedByTheClient) {
  ExecutorProcess exec({.transport = GetParam()});
  auto opts = connect_options(Mode::kWarm);
  opts.max_inflight = 4;
  auto conn = exec.connect(opts);
  ASSERT_EQ(conn->info().max_inflight, 4u);
  const uint32_t sleep = conn->function_id("sleep");
  const auto in = to_bytes("20000");  // 20 ms each, so they are still running below
  std::vector<client::Future> futures(5);
  for (size_t i = 0; i < 4; ++i)
    ASSERT_EQ(conn->invoke_async(sleep, in, futures[i], Deadline::after(5s)), Status::kOk);
  EXPECT_EQ(conn->invoke_async(sleep, in, futures[4], Deadline::after(5s)),
            Status::kTooManyInFlight);
  EXPECT_FALSE(futures[4].valid());
  EXPECT_EQ(conn->in_flight(), 4u);
  // A completed (and released) request frees room for the next.
  EXPECT_TRUE(futures[0].get(Deadline::after(5s)).ok());
  futures[0] = client::Future();
  EXPECT_EQ(conn->invoke_async(sleep, in, futures[4], Deadline::after(5s)), Status::kOk);
  conn->drain(Deadline::after(5s));
  for (size_t i = 1; i < 5; ++i) EXPECT_TRUE(futures[i].get(Deadline::after(5s)).ok()) << i;
}

TEST_P(ConcurrencyTest, AHeldResultDoesNotBlockLaterRequests) {
  ExecutorProcess exec({.transport = GetParam()});
  auto opts = connect_options(Mode::kWarm);
  opts.max_inflight = 4;
  auto conn = exec.connect(opts);
  const uint32_t echo = conn->function_id("echo");
  // Keep one finished result around (its future alive) while making many more calls: only
  // requests in flight count against the limit.
  client::Future held;
  const auto first = to_bytes("held");
  ASSERT_EQ(conn->invoke_async(echo, first, held, Deadline::after(5s)), Status::kOk);
  ASSERT_TRUE(held.get(Deadline::after(5s)).ok());
  InvocationResult r;
  for (int i = 0; i < 20; ++i) {
    const auto in = to_bytes("call " + std::to_string(i));
    ASSERT_EQ(conn->invoke(echo, in, r, Deadline::after(5s)), Status::kOk)
        << "call " << i << " with " << conn->in_flight() << " in flight: " << r.error_message();
    ASSERT_EQ(r.output, in);
  }
  EXPECT_EQ(held.get(Deadline::after(5s)).output_text(), "held");
}

INSTANTIATE_TEST_SUITE_P(Transports, ConcurrencyTest, ::testing::ValuesIn(transports()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hpcless::itest
