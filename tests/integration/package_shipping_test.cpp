// Shipping a function package over a connection: the connection then invokes the shipped
// package's functions; a library that is not a package is refused with a clear message and the
// connection keeps its package.
#include <gtest/gtest.h>

#include <algorithm>

#include "comm/base/error.hpp"
#include "tests/integration/executor_fixture.hpp"

namespace hpcless::itest {
namespace {

using namespace std::chrono_literals;
using client::InvocationResult;
using protocol::Status;

bool lists(const std::vector<std::string>& functions, std::string_view name) {
  return std::find(functions.begin(), functions.end(), name) != functions.end();
}

class PackageShippingTest : public TransportTest {};

TEST_P(PackageShippingTest, ShippedPackageServesItsFunctionsOnThatConnection) {
  ExecutorProcess exec({.transport = GetParam()});
  auto conn = exec.connect(Mode::kWarm);
  auto other = exec.connect(Mode::kWarm);
  ASSERT_EQ(conn->info().package_name, "hpcless-core");

  const auto bytes = to_bytes(read_file(test_package()));
  ASSERT_FALSE(bytes.empty());
  const auto pkg = conn->load_package(bytes, Deadline::after(10s));
  EXPECT_EQ(pkg.package_name, "hpcless-test");
  EXPECT_EQ(conn->info().package_name, "hpcless-test");
  for (const char* f :
       {"fail", "fail_silent", "crash", "abort", "throw", "big_output", "echo", "worker_id"})
    EXPECT_TRUE(lists(conn->info().functions, f)) << f;
  EXPECT_FALSE(lists(conn->info().functions, "checksum"));

  InvocationResult r;
  const auto in = pattern_bytes(5000, 5);
  ASSERT_EQ(conn->invoke(conn->function_id("echo"), in, r, Deadline::after(5s)), Status::kOk)
      << r.error_message();
  EXPECT_TRUE(same_bytes(in, r.output));
  ASSERT_EQ(conn->invoke(conn->function_id("worker_id"), {}, r, Deadline::after(5s)), Status::kOk);
  EXPECT_EQ(r.output_text(), "0");
  ASSERT_EQ(conn->invoke(conn->function_id("fail"), {}, r, Deadline::after(5s)),
            Status::kFunctionFailed);
  EXPECT_EQ(r.output_text(), "fail: this function always fails");

  // Another connection of the same worker keeps the executor's package.
  EXPECT_EQ(other->info().package_name, "hpcless-core");
  const auto text = to_bytes("123456789");
  ASSERT_EQ(other->invoke(other->function_id("checksum"), text, r, Deadline::after(5s)),
            Status::kOk);
  EXPECT_EQ(r.output_text(), "cbf43926");

  // Shipping the same bytes again (cached by the worker) works too.
  auto third = exec.connect(Mode::kWarm);
  EXPECT_EQ(third->load_package(bytes, Deadline::after(10s)).package_name, "hpcless-test");
  ASSERT_EQ(third->invoke(third->function_id("worker_id"), {}, r, Deadline::after(5s)),
            Status::kOk);
}

TEST_P(PackageShippingTest, ALibraryWithoutManifestIsRefusedAndTheConnectionStaysUsable) {
  ExecutorProcess exec({.transport = GetParam()});
  auto conn = exec.connect(Mode::kWarm);
  const auto bytes = to_bytes(read_file(not_a_package()));
  ASSERT_FALSE(bytes.empty());
  try {
    conn->load_package(bytes, Deadline::after(10s));
    FAIL() << "loading a library without a manifest succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hpcless_manifest_v1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(conn->info().package_name, "hpcless-core");
  InvocationResult r;
  const auto in = to_bytes("still the core package");
  ASSERT_EQ(conn->invoke(conn->function_id("echo"), in, r, Deadline::after(5s)), Status::kOk)
      << r.error_message();
  EXPECT_EQ(r.output_text(), "still the core package");
  const auto text = to_bytes("123456789");
  ASSERT_EQ(conn->invoke(conn->function_id("checksum"), text, r, Deadline::after(5s)), Status::kOk);
  EXPECT_EQ(r.output_text(), "cbf43926");
}

TEST_P(PackageShippingTest, GarbageBytesAreRefusedAndTheConnectionStaysUsable) {
  ExecutorProcess exec({.transport = GetParam()});
  auto conn = exec.connect(Mode::kWarm);
  EXPECT_THROW(conn->load_package(to_bytes("definitely not an ELF file"), Deadline::after(10s)),
               Error);
  conn->ping(Deadline::after(5s));
  InvocationResult r;
  const auto in = to_bytes("ok");
  ASSERT_EQ(conn->invoke(conn->function_id("echo"), in, r, Deadline::after(5s)), Status::kOk);
  EXPECT_EQ(r.output_text(), "ok");
}

INSTANTIATE_TEST_SUITE_P(Transports, PackageShippingTest, ::testing::ValuesIn(transports()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hpcless::itest
