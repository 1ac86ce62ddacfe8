#include "tests/comm_stores/support/stores_support.hpp"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "comm/storage/redis_client.hpp"
#include "comm/storage/s3_client.hpp"

namespace hpcless::comm::stores_test {

std::string kind_name(Kind k) { return k == Kind::kRedis ? "redis" : "s3"; }

test::RedisServer& redis_server() {
  static test::RedisServer server;
  return server;
}

test::S3Server& s3_server() {
  static test::S3Server server({kBucket});
  return server;
}

RedisChannelOptions redis_options() {
  RedisChannelOptions o;
  o.redis = redis_server().config();
  o.key_ttl = std::chrono::minutes(10);
  o.connect_timeout = std::chrono::seconds(20);
  return o;
}

S3ChannelOptions s3_options() {
  S3ChannelOptions o;
  o.s3 = s3_server().config(kBucket);
  o.s3.multipart_threshold = 5u << 20;  // the smallest part S3 allows
  o.s3.part_size = 5u << 20;
  o.s3.request_timeout = std::chrono::seconds(20);
  o.s3.retry.deadline = std::chrono::seconds(20);
  o.poll_initial = std::chrono::milliseconds(1);
  o.poll_max = std::chrono::milliseconds(20);
  o.abort_check_interval = std::chrono::milliseconds(100);
  o.connect_timeout = std::chrono::seconds(30);
  return o;
}

CommOptions options(Kind kind, std::chrono::milliseconds timeout) {
  CommOptions o;
  o.timeout = timeout;
  o.tuning = CollectiveTuning{};
  if (kind == Kind::kRedis) {
    o.channel = ChannelKind::kRedis;
    o.redis = redis_options();
  } else {
    o.channel = ChannelKind::kS3;
    o.s3 = s3_options();
  }
  return o;
}

std::string unique_group(const std::string& base) {
  static std::atomic<int> n{0};
  return base + "-" + std::to_string(::getpid()) + "-" + std::to_string(n.fetch_add(1));
}

std::vector<std::string> leftovers(Kind kind, const std::string& group) {
  if (kind == Kind::kRedis) {
    storage::RedisClient c(redis_server().config());
    return c.scan_keys("hpcless:" + group + ":");
  }
  storage::S3Client c(s3_server().config(kBucket));
  return c.list_keys(kBucket, group + "/");
}

struct Watchdog::State {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread thread;
};

Watchdog::Watchdog(std::chrono::seconds limit, std::string what)
    : state_(std::make_shared<State>()) {
  state_->thread = std::thread([s = state_, limit, what = std::move(what)] {
    std::unique_lock lock(s->mu);
    if (!s->cv.wait_for(lock, limit, [&] { return s->done; })) {
      std::fprintf(stderr, "WATCHDOG: '%s' did not finish within %lld s\n", what.c_str(),
                   static_cast<long long>(limit.count()));
      std::fflush(stderr);
      std::_Exit(98);
    }
  });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(state_->mu);
    state_->done = true;
  }
  state_->cv.notify_all();
  state_->thread.join();
}

std::vector<std::string> run_threads(int size, const RankBody& body, std::chrono::seconds limit,
                                     const std::string& what) {
  std::vector<std::string> errors(static_cast<size_t>(size));
  Watchdog wd(limit, what + " with " + std::to_string(size) + " thread ranks");
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r)
    threads.emplace_back([&, r] {
      try {
        body(r, size);
      } catch (const std::exception& e) {
        errors[r] = e.what();
        if (errors[r].empty()) errors[r] = "exception without message";
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

std::string join_errors(const std::vector<std::string>& errors) {
  std::string all;
  for (size_t r = 0; r < errors.size(); ++r)
    if (!errors[r].empty()) all += "rank " + std::to_string(r) + ": " + errors[r] + "\n";
  return all;
}

}  // namespace hpcless::comm::stores_test
