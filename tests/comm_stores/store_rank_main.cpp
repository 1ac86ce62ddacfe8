// comm_stores_rank: one rank of a multi-process object-store channel test.
//   comm_stores_rank --kind redis|s3 --endpoint E [--bucket B] --store HOST:PORT --group G
//                    --rank R --size P --scenario S [--timeout-ms N]
// E: "host:port" of redis-server, or the s3rver URL. Ranks meet through the TcpStore at --store
// (the run id is agreed there). Scenarios:
//   battery  every collective checked (tests/comm_stores/support/store_battery.hpp, light)
//   loop     allreduce until an error; publishes "ready/<rank>" after the first one
//   abort    like loop, but rank 1 calls abort() once every rank is ready
// Exit codes: 0 success, 1 wrong result, 2 usage, 3 communication error (prints
// "COMM-ERROR <kind> after <ms> ms: <message>"), 4 any other error.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "comm/communicator/communicator.hpp"
#include "comm/rendezvous/tcp_store.hpp"
#include "comm/transport/tcp/endpoint.hpp"
#include "tests/comm_stores/support/store_battery.hpp"
#include "tests/services/test_services.hpp"

using namespace hpcless;
using namespace hpcless::comm;

namespace {

struct Args {
  std::string kind, endpoint, bucket, store, group, scenario;
  int rank = -1, size = 0, timeout_ms = 20'000;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--kind")
      a.kind = v;
    else if (k == "--endpoint")
      a.endpoint = v;
    else if (k == "--bucket")
      a.bucket = v;
    else if (k == "--store")
      a.store = v;
    else if (k == "--group")
      a.group = v;
    else if (k == "--scenario")
      a.scenario = v;
    else if (k == "--rank")
      a.rank = std::atoi(v);
    else if (k == "--size")
      a.size = std::atoi(v);
    else if (k == "--timeout-ms")
      a.timeout_ms = std::atoi(v);
  }
  return a;
}

CommOptions make_options(const Args& a) {
  CommOptions o;
  o.timeout = std::chrono::milliseconds(a.timeout_ms);
  o.tuning = CollectiveTuning{};
  if (a.kind == "redis") {
    o.channel = ChannelKind::kRedis;
    const auto colon = a.endpoint.rfind(':');
    o.redis.redis.host = a.endpoint.substr(0, colon);
    o.redis.redis.port = std::atoi(a.endpoint.c_str() + colon + 1);
    o.redis.redis.command_timeout = std::chrono::seconds(5);
    o.redis.key_ttl = std::chrono::minutes(5);
  } else {
    o.channel = ChannelKind::kS3;
    o.s3.s3.endpoint = a.endpoint;
    o.s3.s3.access_key = test::S3Server::kAccessKey;
    o.s3.s3.secret_key = test::S3Server::kSecretKey;
    o.s3.s3.bucket = a.bucket;
    o.s3.s3.retry.max_attempts = 3;
    o.s3.s3.retry.initial_backoff = std::chrono::milliseconds(50);
    o.s3.s3.retry.deadline = std::chrono::seconds(10);
    o.s3.poll_initial = std::chrono::milliseconds(1);
    o.s3.poll_max = std::chrono::milliseconds(20);
    o.s3.abort_check_interval = std::chrono::milliseconds(100);
  }
  return o;
}

void loop(Communicator& c, rendezvous::Store& store, bool abort_after_ready) {
  bool announced = false;
  for (int it = 0;; ++it) {
    std::vector<int64_t> v(64, c.rank() + it), s(64);
    c.allreduce(v, s, Op::kSum);
    const int64_t want = static_cast<int64_t>(c.size()) * it + c.size() * (c.size() - 1) / 2;
    if (s[63] != want) {
      std::printf("WRONG allreduce %lld != %lld\n", static_cast<long long>(s[63]),
                  static_cast<long long>(want));
      std::exit(1);
    }
    if (!announced) {
      store.set_string("ready/" + std::to_string(c.rank()), "1");
      announced = true;
      if (abort_after_ready && c.rank() == 1) {
        for (int r = 0; r < c.size(); ++r)
          (void)store.get("ready/" + std::to_string(r), Deadline::after(std::chrono::seconds(20)));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        c.channel().abort("rank 1 aborts on purpose");
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (a.kind.empty() || a.endpoint.empty() || a.store.empty() || a.group.empty() || a.rank < 0 ||
      a.size < 1 || a.scenario.empty()) {
    std::fprintf(stderr,
                 "usage: comm_stores_rank --kind K --endpoint E --store H:P --group G "
                 "--rank R --size P --scenario S\n");
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto since = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t0)
        .count();
  };
  try {
    auto store = std::make_shared<rendezvous::TcpStore>(tcp::parse_endpoint(a.store));
    Communicator c(a.rank, a.size, a.group, store, make_options(a));
    if (a.scenario == "battery") {
      stores_test::BatteryOptions bo;
      bo.thorough = false;
      bo.sizes = {0, 1, 13};
      bo.large = a.kind == "redis" ? 100'001 : 0;
      stores_test::run_battery(c, bo);
    } else if (a.scenario == "loop" || a.scenario == "abort") {
      loop(c, *store, a.scenario == "abort");
    } else {
      std::fprintf(stderr, "unknown scenario %s\n", a.scenario.c_str());
      return 2;
    }
    std::printf("OK rank %d\n", a.rank);
    return 0;
  } catch (const TimeoutError& e) {
    std::printf("COMM-ERROR TimeoutError after %lld ms: %s\n", static_cast<long long>(since()),
                e.what());
    return 3;
  } catch (const IoError& e) {
    std::printf("COMM-ERROR IoError after %lld ms: %s\n", static_cast<long long>(since()),
                e.what());
    return 3;
  } catch (const std::runtime_error& e) {
    std::printf("FAILED after %lld ms: %s\n", static_cast<long long>(since()), e.what());
    return dynamic_cast<const Error*>(&e) ? 4 : 1;
  }
}
