// The executor daemon's life: refusing to start with a bad package (with a message that says
// why), and stopping cleanly on SIGTERM, worker process included.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <thread>

#include "comm/base/error.hpp"
#include "tests/integration/executor_fixture.hpp"

namespace hpcless::itest {
namespace {

using namespace std::chrono_literals;
using client::InvocationResult;
using protocol::Status;

RunResult run_executor(const std::string& package) {
  return run_to_exit({executor_binary(), "--standalone", "--listen", "127.0.0.1:0", "--package",
                      package, "--workers", "1"},
                     20s);
}

TEST(ExecutorLifecycleTest, MissingPackageExitsTwoNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("no-such-package.so");
  const auto r = run_executor(path);
  EXPECT_EQ(r.exit_code(), 2) << r.describe();
  EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
}

TEST(ExecutorLifecycleTest, LibraryWithoutManifestExitsNonZeroNamingTheSymbol) {
  const auto r = run_executor(not_a_package());
  ASSERT_TRUE(r.exited()) << r.describe();
  EXPECT_NE(r.exit_code(), 0) << r.describe();
  EXPECT_NE(r.err.find("hpcless_manifest_v1"), std::string::npos) << r.err;
}

TEST(ExecutorLifecycleTest, BadFlagsExitTwo) {
  auto r = run_to_exit({executor_binary(), "--standalone"}, 20s);  // no --package
  EXPECT_EQ(r.exit_code(), 2) << r.describe();
  EXPECT_NE(r.err.find("--package"), std::string::npos) << r.err;
  r = run_to_exit(
      {executor_binary(), "--standalone", "--package", core_package(), "--listen", "nonsense"},
      20s);
  EXPECT_EQ(r.exit_code(), 2) << r.describe();
  r = run_to_exit(
      {executor_binary(), "--standalone", "--package", core_package(), "--workers", "0"}, 20s);
  EXPECT_EQ(r.exit_code(), 2) << r.describe();
}

class ExecutorShutdownTest : public TransportTest {};

TEST_P(ExecutorShutdownTest, SigtermStopsTheDaemonAndItsWorker) {
  ExecutorProcess exec({.transport = GetParam(), .expect_clean_exit = false});
  const pid_t worker = exec.worker_pid();
  ASSERT_TRUE(process_alive(worker));
  // A hot connection keeps the worker busy-polling while it is asked to stop.
  auto conn = exec.connect(Mode::kHot);
  InvocationResult r;
  ASSERT_EQ(conn->invoke(conn->function_id("noop"), {}, r, Deadline::after(5s)), Status::kOk);

  const uint64_t t0 = now_ns();
  const auto status = exec.terminate(5s);
  ASSERT_TRUE(status.has_value()) << "the executor was still running 5 s after SIGTERM";
  EXPECT_LT(static_cast<double>(now_ns() - t0) / 1e9, 5.0);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << executor::describe_wait_status(*status) << "\n"
      << exec.log();
  EXPECT_FALSE(process_alive(worker)) << "worker process " << worker << " outlived the daemon";
  EXPECT_FALSE(std::filesystem::exists(exec.ready_file())) << "the ready file was left behind";

  // The client notices on its next call.
  EXPECT_THROW(conn->invoke(conn->function_id("noop"), {}, r, Deadline::after(5s)), Error);
}

TEST_P(ExecutorShutdownTest, SigtermWithManyIdleClients) {
  ExecutorProcess exec({.transport = GetParam(), .workers = 2, .expect_clean_exit = false});
  std::vector<std::unique_ptr<client::Connection>> conns;
  for (int i = 0; i < 10; ++i) conns.push_back(exec.connect(i % 2 ? Mode::kHot : Mode::kWarm));
  const pid_t worker = exec.worker_pid();
  const auto status = exec.terminate(5s);
  ASSERT_TRUE(status.has_value()) << "the executor was still running 5 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << executor::describe_wait_status(*status);
  EXPECT_FALSE(process_alive(worker));
}

INSTANTIATE_TEST_SUITE_P(Transports, ExecutorShutdownTest, ::testing::ValuesIn(transports()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hpcless::itest
