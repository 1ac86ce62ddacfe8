// Every collective on the Redis and S3 channels, ranks as threads of this process, against real
// servers: Redis for 1..8 ranks (sizes 0, 1, 13, 1000 and 280 KB, every op and type), S3 for
// 1, 2, 3, 4, 8 ranks (small sizes), and the reduce_scatter route of reduce/allreduce forced by
// a tiny split threshold. Each run must leave no key/object behind.
#include <gtest/gtest.h>

#include "comm/rendezvous/memory_store.hpp"
#include "tests/comm_stores/support/store_battery.hpp"
#include "tests/comm_stores/support/stores_support.hpp"

namespace hpcless::comm::stores_test {
namespace {

using namespace std::chrono_literals;

struct Case {
  Kind kind;
  int ranks;
  bool split;  // force reduce_scatter + allgather/gather for every reduction
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return kind_name(info.param.kind) + "_" + std::to_string(info.param.ranks) +
         (info.param.split ? "_split" : "");
}

class StoreCollectives : public ::testing::TestWithParam<Case> {};

TEST_P(StoreCollectives, EveryCollectiveMatchesLocalResults) {
  const Case c = GetParam();
  if (c.kind == Kind::kRedis)
    redis_server();
  else
    s3_server();
  BatteryOptions bo;
  if (c.kind == Kind::kRedis) {
    // Every op on every type for 1-4 and 8 ranks; 5-7 ranks run every collective with fewer
    // op/type combinations. 70'001 int32 (280 KB) take the reduce_scatter route from 4 ranks.
    bo.thorough = c.ranks <= 4 || c.ranks == 8;
    bo.large = c.split ? 20'001 : (bo.thorough ? 70'001 : 30'001);
  } else {
    bo.sizes = {0, 1, 13};
    bo.thorough = false;
    bo.large = c.split ? 5'001 : 0;
  }
  // The split route only changes reduce and allreduce.
  bo.reductions_only = c.split;
  auto store = std::make_shared<rendezvous::MemoryStore>();
  const std::string group = unique_group("battery");
  const auto errors = run_threads(
      c.ranks,
      [&](int rank, int size) {
        CommOptions o = options(c.kind);
        if (c.split) o.redis.tuning.split_bytes = o.s3.tuning.split_bytes = 64;
        Communicator comm(rank, size, group, store, o);
        EXPECT_EQ(comm.channel_kind(), kind_name(c.kind));
        run_battery(comm, bo);
      },
      150s, "battery on " + kind_name(c.kind));
  EXPECT_EQ(join_errors(errors), "");
  EXPECT_EQ(store->size(), 0u) << "the run id stayed in the rendezvous store";
  const auto left = leftovers(c.kind, group);
  EXPECT_TRUE(left.empty()) << left.size() << " left, e.g. " << left.front();
}

INSTANTIATE_TEST_SUITE_P(
    Redis, StoreCollectives,
    ::testing::Values(Case{Kind::kRedis, 1, false}, Case{Kind::kRedis, 2, false},
                      Case{Kind::kRedis, 3, false}, Case{Kind::kRedis, 4, false},
                      Case{Kind::kRedis, 5, false}, Case{Kind::kRedis, 6, false},
                      Case{Kind::kRedis, 7, false}, Case{Kind::kRedis, 8, false},
                      Case{Kind::kRedis, 5, true}, Case{Kind::kRedis, 8, true}),
    case_name);

INSTANTIATE_TEST_SUITE_P(S3, StoreCollectives,
                         ::testing::Values(Case{Kind::kS3, 1, false}, Case{Kind::kS3, 2, false},
                                           Case{Kind::kS3, 3, false}, Case{Kind::kS3, 4, false},
                                           Case{Kind::kS3, 8, false}, Case{Kind::kS3, 4, true}),
                         case_name);

}  // namespace
}  // namespace hpcless::comm::stores_test
