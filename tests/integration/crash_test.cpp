// Misbehaving functions: a crash kills only the worker process (the daemon reports it, drops
// that worker's connections and starts a new worker); failures and exceptions are statuses and
// leave the worker running.
#include <gtest/gtest.h>

#include <algorithm>

#include "comm/base/error.hpp"
#include "tests/integration/executor_fixture.hpp"

namespace hpcless::itest {
namespace {

using namespace std::chrono_literals;
using client::InvocationResult;
using protocol::Status;

class CrashTest : public TransportTest {
 protected:
  void SetUp() override {
    exec_ = std::make_unique<ExecutorProcess>(ExecutorOptions{
        .transport = GetParam(), .package = test_package(), .expect_worker_crashes = true});
  }

  InvocationResult call(client::Connection& conn, std::string_view fn,
                        std::string_view input = {}) {
    InvocationResult r;
    conn.invoke(conn.function_id(fn), to_bytes(input), r, Deadline::after(10s));
    return r;
  }

  // `fn` kills the worker process: the caller learns which function did it, an idle client of the
  // same worker loses its connection, and new clients are served by a new worker.
  void expect_crash_is_contained(std::string_view fn) {
    const pid_t first_worker = exec_->worker_pid();
    auto victim = exec_->connect(Mode::kWarm);
    auto bystander = exec_->connect(Mode::kWarm);
    bystander->ping(Deadline::after(5s));  // connected and idle

    const auto r = call(*victim, fn);
    EXPECT_EQ(r.status, Status::kWorkerCrashed) << r.error_message();
    // Not the signal: under AddressSanitizer the worker exits with code 1 instead.
    EXPECT_NE(r.output_text().find("'" + std::string(fn) + "'"), std::string_view::npos)
        << r.output_text();

    InvocationResult r2;
    const auto in = to_bytes("anyone there?");
    EXPECT_THROW(bystander->invoke(bystander->function_id("echo"), in, r2, Deadline::after(5s)),
                 IoError);
    // A broken connection stays broken.
    EXPECT_THROW(bystander->invoke(bystander->function_id("echo"), in, r2, Deadline::after(5s)),
                 IoError);

    expect_serves_new_client(*exec_);
    const pid_t second_worker = exec_->worker_pid();
    EXPECT_NE(second_worker, first_worker);
    EXPECT_FALSE(process_alive(first_worker));
  }

  // `fn` fails without harming the worker or the connection.
  void expect_same_worker_and_connection_usable(client::Connection& conn, pid_t worker) {
    const auto r = call(conn, "echo", "after the failure");
    EXPECT_TRUE(r.ok()) << r.error_message();
    EXPECT_EQ(r.output_text(), "after the failure");
    EXPECT_EQ(exec_->worker_pid(), worker) << "the worker process was restarted";
  }

  std::unique_ptr<ExecutorProcess> exec_;
};

TEST_P(CrashTest, SegfaultIsReportedAndContained) { expect_crash_is_contained("crash"); }

TEST_P(CrashTest, AbortIsReportedAndContained) { expect_crash_is_contained("abort"); }

TEST_P(CrashTest, RepeatedCrashesEachGetANewWorker) {
  expect_crash_is_contained("crash");
  expect_crash_is_contained("abort");
  expect_crash_is_contained("crash");
}

TEST_P(CrashTest, ExceptionBecomesFunctionFailedWithItsText) {
  const pid_t worker = exec_->worker_pid();
  auto conn = exec_->connect(Mode::kWarm);
  const auto r = call(*conn, "throw");
  EXPECT_EQ(r.status, Status::kFunctionFailed);
  EXPECT_EQ(r.output_text(), "throw: an exception escaped the function");
  expect_same_worker_and_connection_usable(*conn, worker);
}

TEST_P(CrashTest, FailReturnsItsMessage) {
  const pid_t worker = exec_->worker_pid();
  auto conn = exec_->connect(Mode::kHot);
  const auto r = call(*conn, "fail");
  EXPECT_EQ(r.status, Status::kFunctionFailed);
  EXPECT_EQ(r.output_text(), "fail: this function always fails");
  EXPECT_EQ(r.error_message(), "function failed: fail: this function always fails");
  expect_same_worker_and_connection_usable(*conn, worker);
}

TEST_P(CrashTest, SilentFailureNamesTheReturnCode) {
  const pid_t worker = exec_->worker_pid();
  auto conn = exec_->connect(Mode::kWarm);
  const auto r = call(*conn, "fail_silent");
  EXPECT_EQ(r.status, Status::kFunctionFailed);
  EXPECT_NE(r.output_text().find("returned 7"), std::string_view::npos) << r.output_text();
  EXPECT_NE(r.output_text().find("fail_silent"), std::string_view::npos) << r.output_text();
  expect_same_worker_and_connection_usable(*conn, worker);
}

INSTANTIATE_TEST_SUITE_P(Transports, CrashTest, ::testing::ValuesIn(transports()),
                         [](const auto& info) { return info.param; });

// The output limit applies to results as it does to requests.
class OutputLimitTest : public TransportTest {};

TEST_P(OutputLimitTest, OutputAboveTheLimitFailsAndAtTheLimitWorks) {
  constexpr uint32_t kLimit = 1024 * 1024;
  ExecutorProcess exec({.transport = GetParam(), .package = test_package(), .max_payload = kLimit});
  const pid_t worker = exec.worker_pid();
  auto conn = exec.connect(Mode::kWarm);
  const uint32_t big = conn->function_id("big_output");
  InvocationResult r;
  const auto above = to_bytes(std::to_string(kLimit + 1));
  EXPECT_EQ(conn->invoke(big, above, r, Deadline::after(10s)), Status::kFunctionFailed);
  EXPECT_NE(r.output_text().find("output limit"), std::string_view::npos) << r.output_text();

  const auto at = to_bytes(std::to_string(kLimit));
  ASSERT_EQ(conn->invoke(big, at, r, Deadline::after(10s)), Status::kOk) << r.error_message();
  ASSERT_EQ(r.output.size(), kLimit);
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), std::byte{'x'}),
            static_cast<ptrdiff_t>(kLimit));
  EXPECT_EQ(exec.worker_pid(), worker);
}

INSTANTIATE_TEST_SUITE_P(Transports, OutputLimitTest, ::testing::ValuesIn(transports()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hpcless::itest
