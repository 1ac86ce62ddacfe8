// Shared pieces of the object-store channel tests: one real redis-server / s3rver per test
// process (started on first use, on the test's main thread), options for channels on them,
// thread ranks with a watchdog, and key/object inspection.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator/communicator.hpp"
#include "comm/rendezvous/store.hpp"
#include "tests/services/test_services.hpp"

namespace hpcless::comm::stores_test {

enum class Kind { kRedis, kS3 };
std::string kind_name(Kind k);

// Started on first call (call it first from the test's main thread: servers die with the
// thread that started them).
test::RedisServer& redis_server();
test::S3Server& s3_server();
inline constexpr const char* kBucket = "comm";

// Communicator options for a channel of `kind` on the test servers: short deadlines, fast
// polling, small multipart parts.
CommOptions options(Kind kind, std::chrono::milliseconds timeout = std::chrono::seconds(20));
RedisChannelOptions redis_options();
S3ChannelOptions s3_options();

std::string unique_group(const std::string& base);

// Every key (Redis) or object (S3) whose name starts with the channel namespace of `group`
// (any run).
std::vector<std::string> leftovers(Kind kind, const std::string& group);

// If the guarded scope does not finish in time, print what was running and end the process.
class Watchdog {
 public:
  Watchdog(std::chrono::seconds limit, std::string what);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

using RankBody = std::function<void(int rank, int size)>;
// Runs body(rank, size) on `size` threads; returns each rank's exception text ("" = success).
std::vector<std::string> run_threads(int size, const RankBody& body, std::chrono::seconds limit,
                                     const std::string& what);
std::string join_errors(const std::vector<std::string>& errors);

}  // namespace hpcless::comm::stores_test
