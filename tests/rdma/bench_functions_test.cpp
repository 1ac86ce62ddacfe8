// Every benchmark function over RDMA: one executor serving over rxe, each benchmark's package
// shipped over its own RDMA connection (a multi-fragment message), invoked at size `test` and
// validated, with the storage benchmarks against real redis-server and s3rver in the guest.
#include <gtest/gtest.h>

#include <cstdlib>

#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/storage_session.hpp"
#include "tests/bench/bench_fixture.hpp"
#include "tests/integration/executor_fixture.hpp"

namespace hpcless {
namespace {

using namespace std::chrono_literals;

TEST(RdmaBenchmarks, EveryFunctionRunsOverRdmaAndItsOutputValidates) {
  benchtest::Services services;
  // Executors started from here on give their functions this storage.
  ASSERT_EQ(setenv("HPCLESS_STORAGE_CONFIG", services.storage_file().c_str(), 1), 0);
  auto session = bench::StorageSession::from_file(services.storage_file());
  itest::ExecutorOptions o;
  o.transport = "rdma";
  itest::ExecutorProcess exec(o);

  size_t ran = 0;
  for (const auto& spec : bench::all_benchmarks().all()) {
    SCOPED_TRACE(spec.name);
    auto conn = exec.connect(itest::Mode::kHot);
    ASSERT_EQ(conn->transport(), "rdma");
    conn->load_package(benchtest::read_bytes(benchtest::packages_dir() + "/" + spec.package),
                       Deadline::after(60s));
    const auto input = spec.prepare(bench::SizeClass::kTest, session.access());
    client::InvocationResult r;
    const std::span<const std::byte> payload{
        reinterpret_cast<const std::byte*>(input.payload.data()), input.payload.size()};
    conn->invoke(conn->function_id(spec.function), payload, r, Deadline::after(120s));
    ASSERT_TRUE(r.ok()) << r.error_message();
    const auto v = spec.validate(bench::SizeClass::kTest, input, r.output, session.access());
    EXPECT_TRUE(v.ok) << v.message;
    ++ran;
  }
  EXPECT_EQ(ran, 13u);
  unsetenv("HPCLESS_STORAGE_CONFIG");
}

}  // namespace
}  // namespace hpcless
