// Support for the compute benchmark tests: run a registered benchmark's function through a real
// standalone executor (tests/integration/executor_fixture.hpp) and validate its output, and a real
// s3rver (tests/services) that the executor's functions and the validators share.
//
// Thread safety: Storage changes the process environment (HPCLESS_STORAGE_CONFIG) and belongs to
// the test's main thread; run() may be called from several threads on different executors or
// connections.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "client/lib/connection.hpp"
#include "comm/base/json.hpp"
#include "comm/storage/s3_client.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "tests/integration/executor_fixture.hpp"
#include "tests/services/test_services.hpp"

namespace hpcless::benchtest {

// Absolute path of a benchmark's package in the build tree.
std::string package_path(const bench::BenchmarkSpec& spec);

// The registered benchmark `name`.
const bench::BenchmarkSpec& spec(const char* name);

// A standalone executor serving the benchmark's package with `workers` workers.
itest::ExecutorOptions options_for(const bench::BenchmarkSpec& s, uint32_t workers = 1);

// An s3rver holding bucket "bench", a client for the test side, and HPCLESS_STORAGE_CONFIG set to
// a config file for that server, so that executors started while it lives give their functions
// this storage (the previous value is restored on destruction).
class Storage {
 public:
  Storage();
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  const bench::StorageAccess& access() const noexcept { return access_; }
  storage::S3Client& s3() { return *client_; }
  const std::string& bucket() const noexcept { return access_.bucket; }

 private:
  test::S3Server server_;
  test::TempDir dir_;
  std::unique_ptr<storage::S3Client> client_;
  bench::StorageAccess access_;
  std::optional<std::string> previous_env_;
};

struct Outcome {
  bench::PreparedInput input;
  client::InvocationResult result;
  nlohmann::json output;  // the parsed output; discarded when it is not JSON
  bench::Validation validation;
};

// Prepares `spec` at `size`, invokes its function once on a new connection to `exec` and, with
// `check`, validates the output (only when the invocation succeeded). Without `check` the
// output's objects stay in storage (a successful validation deletes them), e.g. to damage them.
Outcome run(const itest::ExecutorProcess& exec, const bench::BenchmarkSpec& spec,
            bench::SizeClass size, const bench::StorageAccess& storage,
            std::chrono::milliseconds timeout = std::chrono::seconds(90), bool check = true);

// Invokes the function of `spec` with a raw payload (for malformed-input tests).
client::InvocationResult invoke_raw(const itest::ExecutorProcess& exec,
                                    const bench::BenchmarkSpec& spec, std::string_view payload,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Validates `output` (e.g. a corrupted copy of a real output) against a prepared input.
bench::Validation validate(const bench::BenchmarkSpec& spec, bench::SizeClass size,
                           const bench::PreparedInput& in, std::string_view output,
                           const bench::StorageAccess& storage);

// Every compute benchmark's output carries the same measurement keys.
::testing::AssertionResult has_measurement_schema(const nlohmann::json& output);

}  // namespace hpcless::benchtest
