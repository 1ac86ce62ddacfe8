// Support for the benchmark integration tests: real redis-server and s3rver (tests/services),
// the storage config file pointing at them, and a standalone hpcless-executor (RAII) started
// with or without that storage.
//
// Thread safety: owned by the test's main thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "client/lib/connection.hpp"
#include "executor/spawn/child_process.hpp"
#include "functions/bench/benchmark.hpp"
#include "tests/services/test_services.hpp"

namespace hpcless::benchtest {

std::string executor_binary();
std::string cli_binary();
std::string core_package();
std::string packages_dir();  // where libhpcless_bench_<id>.so are
std::string read_file(const std::string& path);
std::vector<std::byte> read_bytes(const std::string& path);

// Redis and S3 (bucket "bench") on free loopback ports, and `storage.json` describing them.
class Services {
 public:
  Services();
  const std::string& storage_file() const noexcept { return storage_file_; }
  const std::string& dir() const noexcept { return dir_.path(); }
  test::RedisServer& redis() noexcept { return redis_; }
  test::S3Server& s3() noexcept { return s3_; }

 private:
  test::TempDir dir_;
  test::RedisServer redis_;
  test::S3Server s3_;
  std::string storage_file_;
};

// hpcless-executor --standalone on 127.0.0.1:0 serving the core package; with a storage file it
// is started with --config FILE (a standalone config whose "storage" section is that file's).
class Executor {
 public:
  explicit Executor(const std::string& storage_file = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  const std::string& address() const noexcept { return address_; }
  std::string log() const;
  std::unique_ptr<client::Connection> connect() const;

 private:
  test::TempDir dir_;
  std::string log_file_;
  std::string address_;
  executor::ChildProcess process_;
};

// A connection with a benchmark's package shipped, and the function's id.
struct Loaded {
  std::unique_ptr<client::Connection> conn;
  uint32_t function_id = 0;
};
Loaded load_benchmark(const Executor& exec, const bench::BenchmarkSpec& spec);

struct RunResult {
  std::optional<int> wait_status;
  std::string out, err;
  int exit_code() const;
};
RunResult run_to_exit(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

}  // namespace hpcless::benchtest
