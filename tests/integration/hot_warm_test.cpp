// Hot, warm and the transition between them, observed from outside the worker process: the CPU
// time it accumulates (/proc/<pid>/stat utime + stime) while its only client is idle.
//
// The only timing assertions of the suite live here, with wide margins: a busy-polling worker
// uses most of a core (asserted: > 40%), a blocked one almost nothing (asserted: < 10%). A
// loaded machine can starve a spinning thread of CPU, so "spinning" also accepts a worker that
// was runnable (on a core or waiting for one, per schedstat) throughout the window, and busy
// windows are retried a few times. Load cannot make a blocked thread use CPU or become runnable,
// so idle windows are measured once.
#include <gtest/gtest.h>

#include <thread>

#include "comm/base/error.hpp"
#include "tests/integration/executor_fixture.hpp"

namespace hpcless::itest {
namespace {

using namespace std::chrono_literals;
using client::InvocationResult;
using protocol::Status;

constexpr int kAttempts = 4;

class HotWarmTest : public TransportTest {
 protected:
  void SetUp() override {
    exec_ = std::make_unique<ExecutorProcess>(ExecutorOptions{.transport = GetParam()});
    worker_ = exec_->worker_pid();
  }

  // The client never spins here, so that only the worker's own policy is measured.
  std::unique_ptr<client::Connection> connect(int32_t hot_timeout_ms) {
    auto opts = connect_options(Mode::kWarm);
    opts.hot_timeout_ms = hot_timeout_ms;
    auto conn = exec_->connect(opts);
    EXPECT_EQ(conn->info().hot_timeout_ms, hot_timeout_ms) << "HelloAck must echo the timeout";
    return conn;
  }

  void noop(client::Connection& conn) {
    InvocationResult r;
    ASSERT_EQ(conn.invoke(conn.function_id("noop"), {}, r, Deadline::after(5s)), Status::kOk)
        << r.error_message();
  }

  // Measures `window`s (after `before()`, each time) until one shows the worker spinning.
  template <class Before>
  CpuUse until_spinning(std::chrono::milliseconds window, Before before) {
    CpuUse u;
    for (int i = 0; i < kAttempts; ++i) {
      before();
      u = measure_cpu(worker_, window);
      if (u.spinning()) break;
    }
    return u;
  }

  std::unique_ptr<ExecutorProcess> exec_;
  pid_t worker_ = 0;
};

TEST_P(HotWarmTest, AlwaysHotWorkerSpinsWhileIdle) {
  auto conn = connect(protocol::kHotAlways);
  noop(*conn);
  const auto u = until_spinning(500ms, [] {});
  EXPECT_TRUE(u.spinning()) << "a hot worker should busy-poll an idle connection: " << u;
}

TEST_P(HotWarmTest, AlwaysWarmWorkerBlocksWhileIdle) {
  auto conn = connect(protocol::kWarmAlways);
  noop(*conn);
  const auto u = measure_cpu(worker_, 500ms);
  EXPECT_TRUE(u.idle()) << "a warm worker should block on an idle connection: " << u;
  // It still answers after blocking.
  noop(*conn);
}

TEST_P(HotWarmTest, HotTimeoutTurnsWarmWhenIdleAndHotAgainOnActivity) {
  constexpr int32_t kTimeoutMs = 150;
  auto conn = connect(kTimeoutMs);

  // Right after an invocation the worker spins (measured within the 150 ms).
  auto u = until_spinning(100ms, [&] { noop(*conn); });
  EXPECT_TRUE(u.spinning()) << "the worker should spin right after an invocation: " << u;

  // After more than twice the timeout without traffic it blocks.
  std::this_thread::sleep_for(350ms);
  u = measure_cpu(worker_, 500ms);
  EXPECT_TRUE(u.idle()) << "the worker should block after the idle timeout: " << u;

  // The next invocation makes it spin again.
  u = until_spinning(100ms, [&] { noop(*conn); });
  EXPECT_TRUE(u.spinning()) << "the worker should spin again after new activity: " << u;
}

TEST_P(HotWarmTest, ClosingTheHotConnectionStopsTheSpinning) {
  auto conn = connect(protocol::kHotAlways);
  noop(*conn);
  conn.reset();
  std::this_thread::sleep_for(100ms);  // the worker notices the close
  const auto u = measure_cpu(worker_, 500ms);
  EXPECT_TRUE(u.idle()) << "no connection is left to poll: " << u;
}

INSTANTIATE_TEST_SUITE_P(Transports, HotWarmTest, ::testing::ValuesIn(transports()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hpcless::itest
