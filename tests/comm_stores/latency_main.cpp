// comm_stores_latency: a quick latency check of the Redis and S3 channels (not a test).
//   comm_stores_latency [--ranks 4] [--sizes 8,65536] [--iters-redis 200] [--iters-s3 30]
//                       [--split-bytes N]   (reduce_scatter route from N bytes; default: channel's)
// Starts a throwaway redis-server and s3rver (tests/services), runs the ranks as threads of this
// process, and times allreduce (float sum) and bcast per size with a barrier before every call.
// Prints the median and minimum over iterations of the slowest rank's time.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "comm/rendezvous/memory_store.hpp"
#include "tests/comm_stores/support/stores_support.hpp"

using namespace hpcless;
using namespace hpcless::comm;
using namespace hpcless::comm::stores_test;

namespace {

struct Result {
  double median_us, min_us;
};

Result summarize(const std::vector<std::vector<double>>& per_rank) {
  std::vector<double> slowest(per_rank[0].size(), 0);
  for (const auto& r : per_rank)
    for (size_t i = 0; i < r.size(); ++i) slowest[i] = std::max(slowest[i], r[i]);
  std::sort(slowest.begin(), slowest.end());
  return {slowest[slowest.size() / 2], slowest.front()};
}

size_t g_split_bytes = 0;  // 0: the channel's default

void measure(Kind kind, int ranks, const std::vector<size_t>& sizes, int iters) {
  auto store = std::make_shared<rendezvous::MemoryStore>();
  const std::string group = unique_group("latency-" + kind_name(kind));
  // [op][size][rank][iteration]
  std::vector<std::vector<std::vector<std::vector<double>>>> t(
      2, std::vector<std::vector<std::vector<double>>>(
             sizes.size(), std::vector<std::vector<double>>(static_cast<size_t>(ranks))));
  const auto errors = run_threads(
      ranks,
      [&](int rank, int size) {
        CommOptions o = options(kind, std::chrono::seconds(60));
        if (g_split_bytes != 0)
          o.redis.tuning.split_bytes = o.s3.tuning.split_bytes = g_split_bytes;
        Communicator c(rank, size, group, store, o);
        for (size_t s = 0; s < sizes.size(); ++s) {
          const size_t n = std::max<size_t>(1, sizes[s] / sizeof(float));
          std::vector<float> in(n, 1.0f), out(n);
          std::vector<std::byte> buf(sizes[s]);
          const int warm = std::max(2, iters / 10);
          for (int it = -warm; it < iters; ++it) {
            c.barrier();
            uint64_t t0 = now_ns();
            c.allreduce(in, out, Op::kSum);
            const double a = static_cast<double>(now_ns() - t0) / 1e3;
            c.barrier();
            t0 = now_ns();
            c.bcast(buf, 0);
            const double b = static_cast<double>(now_ns() - t0) / 1e3;
            if (it >= 0) {
              t[0][s][rank].push_back(a);
              t[1][s][rank].push_back(b);
            }
          }
        }
      },
      std::chrono::seconds(900), "latency");
  const std::string err = join_errors(errors);
  if (!err.empty()) {
    std::fprintf(stderr, "%s", err.c_str());
    std::exit(1);
  }
  for (int op = 0; op < 2; ++op)
    for (size_t s = 0; s < sizes.size(); ++s) {
      const Result r = summarize(t[op][s]);
      std::printf("%-6s %-9s %4d ranks %9zu B  median %10.1f us  min %10.1f us  (%d iterations)\n",
                  kind_name(kind).c_str(), op == 0 ? "allreduce" : "bcast", ranks, sizes[s],
                  r.median_us, r.min_us, iters);
    }
}

}  // namespace

int main(int argc, char** argv) {
  int ranks = 4, iters_redis = 200, iters_s3 = 30;
  std::vector<size_t> sizes = {8, 65536};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--ranks") {
      ranks = std::atoi(v.c_str());
    } else if (k == "--iters-redis") {
      iters_redis = std::atoi(v.c_str());
    } else if (k == "--iters-s3") {
      iters_s3 = std::atoi(v.c_str());
    } else if (k == "--split-bytes") {
      g_split_bytes = std::stoull(v);
    } else if (k == "--sizes") {
      sizes.clear();
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) sizes.push_back(std::stoull(item));
    }
  }
  try {
    redis_server();
    s3_server();
    if (iters_redis > 0) measure(Kind::kRedis, ranks, sizes, iters_redis);
    if (iters_s3 > 0) measure(Kind::kS3, ranks, sizes, iters_s3);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "comm_stores_latency: %s\n", e.what());
    return 1;
  }
  return 0;
}
