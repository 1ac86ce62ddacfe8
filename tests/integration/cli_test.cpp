// The `hpcless invoke` command, run as a child process with stdout and stderr captured.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/integration/executor_fixture.hpp"

namespace hpcless::itest {
namespace {

using namespace std::chrono_literals;

constexpr auto kCliTimeout = 20s;

RunResult run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), cli_binary());
  return run_to_exit(args, kCliTimeout);
}

class CliTest : public TransportTest {
 protected:
  void SetUp() override {
    exec_ = std::make_unique<ExecutorProcess>(ExecutorOptions{.transport = GetParam()});
  }
  std::unique_ptr<ExecutorProcess> exec_;
};

TEST_P(CliTest, InvokePrintsTheOutputExactly) {
  const auto r =
      run_cli({"invoke", "--address", exec_->address(), "--function", "echo", "--input", "hi"});
  EXPECT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_EQ(r.out, "hi");  // no newline added when stdout is not a terminal
  EXPECT_EQ(r.err, "");
}

TEST_P(CliTest, UnknownFunctionFailsWithOneLineNamingIt) {
  const auto r =
      run_cli({"invoke", "--address", exec_->address(), "--function", "nope", "--input", "hi"});
  ASSERT_TRUE(r.exited()) << r.describe();
  EXPECT_NE(r.exit_code(), 0) << r.describe();
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(!r.err.empty() && r.err.back() == '\n') << r.err;
  EXPECT_NE(r.err.find("'nope'"), std::string::npos) << r.err;
}

TEST_P(CliTest, RepeatPrintsTheLastOutputAndLatencyPercentiles) {
  for (const char* mode : {"--hot", "--warm"}) {
    const auto r = run_cli({"invoke", "--address", exec_->address(), "--function", "echo",
                            "--input", "hi", "--repeat", "200", mode});
    EXPECT_EQ(r.exit_code(), 0) << r.describe();
    EXPECT_EQ(r.out, "hi");
    EXPECT_EQ(r.err.rfind("200 invocations: p50 ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  const auto zero = run_cli({"invoke", "--address", exec_->address(), "--function", "echo",
                             "--repeat", "0"});
  EXPECT_EQ(zero.exit_code(), 2) << zero.describe();
  const auto both = run_cli({"invoke", "--address", exec_->address(), "--function", "echo",
                             "--hot", "--warm"});
  EXPECT_EQ(both.exit_code(), 2) << both.describe();
}

TEST_P(CliTest, FailingFunctionExitsNonZeroWithItsMessage) {
  const auto r = run_cli(
      {"invoke", "--address", exec_->address(), "--function", "sleep", "--input", "not a number"});
  ASSERT_TRUE(r.exited()) << r.describe();
  EXPECT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_NE(r.err.find("function failed"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_P(CliTest, InputAndOutputFiles) {
  TempDir dir;
  const auto input = pattern_bytes(100'000, 11);
  write_file(dir.file("in.bin"), input);

  auto r = run_cli({"invoke", "--address", exec_->address(), "--function", "echo", "--input-file",
                    dir.file("in.bin"), "--output-file", dir.file("out.bin")});
  EXPECT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_EQ(r.out, "") << "with --output-file nothing goes to stdout";
  EXPECT_TRUE(same_bytes(input, to_bytes(read_file(dir.file("out.bin")))));

  r = run_cli({"invoke", "--address", exec_->address(), "--function", "checksum", "--input-file",
               dir.file("in.bin")});
  EXPECT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_EQ(r.out, crc32_hex(input));
}

TEST_P(CliTest, EmptyInputs) {
  TempDir dir;
  write_file(dir.file("empty"), {});
  auto r = run_cli({"invoke", "--address", exec_->address(), "--function", "echo", "--input", ""});
  EXPECT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_EQ(r.out, "");
  r = run_cli({"invoke", "--address", exec_->address(), "--function", "checksum", "--input-file",
               dir.file("empty")});
  EXPECT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_EQ(r.out, "00000000");
  r = run_cli({"invoke", "--address", exec_->address(), "--function", "noop"});  // no input at all
  EXPECT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_EQ(r.out, "");
}

TEST_P(CliTest, ShipsAPackageFile) {
  const auto r = run_cli({"invoke", "--address", exec_->address(), "--package-file", test_package(),
                          "--function", "worker_id"});
  EXPECT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_EQ(r.out, "0");
}

TEST_P(CliTest, MissingInputFileIsAConfigError) {
  TempDir dir;
  const auto r = run_cli({"invoke", "--address", exec_->address(), "--function", "echo",
                          "--input-file", dir.file("missing")});
  EXPECT_EQ(r.exit_code(), 2) << r.describe();
  EXPECT_NE(r.err.find(dir.file("missing")), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Transports, CliTest, ::testing::ValuesIn(transports()),
                         [](const auto& info) { return info.param; });

// Argument handling needs no executor.
TEST(CliArgumentsTest, HelpExitsZero) {
  const auto r = run_cli({"invoke", "--help"});
  EXPECT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_NE(r.out.find("--address"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--function"), std::string::npos) << r.out;
}

TEST(CliArgumentsTest, MissingAddressExitsTwo) {
  const auto r = run_cli({"invoke", "--function", "echo", "--input", "hi"});
  EXPECT_EQ(r.exit_code(), 2) << r.describe();
  EXPECT_NE(r.err.find("--address"), std::string::npos) << r.err;
}

TEST(CliArgumentsTest, UnknownOptionExitsTwo) {
  const auto r = run_cli({"invoke", "--adress", "127.0.0.1:1", "--function", "echo"});
  EXPECT_EQ(r.exit_code(), 2) << r.describe();
  EXPECT_FALSE(r.err.empty());
}

TEST(CliArgumentsTest, UnreachableAddressFailsNonZero) {
  const ClosedPort closed;
  const auto r = run_cli(
      {"invoke", "--address", closed.address(), "--function", "echo", "--timeout-ms", "2000"});
  ASSERT_TRUE(r.exited()) << r.describe();
  EXPECT_NE(r.exit_code(), 0) << r.describe();
  EXPECT_NE(r.err.find(closed.address()), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hpcless::itest
