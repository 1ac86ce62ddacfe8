// The rendezvous store: put/get of raw bytes, long-polling reads (late writer, timeout, many
// waiters at once), prefix deletes, the size bound, and shutdown waking readers.
#include <gtest/gtest.h>

#include <thread>

#include "tests/manager/manager_fixture.hpp"

namespace hpcless::mtest {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(Rendezvous, PutGetOverwriteAndPrefixDelete) {
  TempDir dir;
  InProcessManager m(test_config(dir));
  Api api = m.api();
  const std::string bytes("a\0b\xff\n", 5);
  EXPECT_EQ(api.put("/v1/kv/run1/rank0", bytes).status, 204);
  auto r = api.get("/v1/kv/run1/rank0");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.raw, bytes);
  EXPECT_EQ(api.put("/v1/kv/run1/rank0", "new").status, 204);
  EXPECT_EQ(api.get("/v1/kv/run1/rank0").raw, "new");
  EXPECT_EQ(api.put("/v1/kv/run1/rank1", "x").status, 204);
  EXPECT_EQ(api.put("/v1/kv/run2/rank0", "y").status, 204);
  EXPECT_EQ(api.put("/v1/kv/empty", "").status, 204);
  EXPECT_EQ(api.get("/v1/kv/empty").status, 200);

  auto d = api.del("/v1/kv/run1/?prefix=1");
  ASSERT_EQ(d.status, 200) << d.raw;
  EXPECT_EQ(d.body["deleted"], 2);
  EXPECT_EQ(api.get("/v1/kv/run1/rank0").status, 404);
  EXPECT_EQ(api.get("/v1/kv/run2/rank0").raw, "y");
  EXPECT_EQ(api.del("/v1/kv/run2/rank0").body["deleted"], 1);
  EXPECT_EQ(api.del("/v1/kv/run2/rank0").body["deleted"], 0);
  auto missing = api.get("/v1/kv/run2/rank0");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.error_message().find("not found"), std::string::npos);
}

TEST(Rendezvous, WaitingReadGetsALateWriteOrTimesOut) {
  TempDir dir;
  InProcessManager m(test_config(dir));
  Api api = m.api();
  std::thread writer([&] {
    std::this_thread::sleep_for(300ms);
    Api w = m.api();
    EXPECT_EQ(w.put("/v1/kv/late", "here").status, 204);
  });
  auto t0 = Clock::now();
  auto r = api.get("/v1/kv/late?wait_ms=10000");
  auto took = Clock::now() - t0;
  writer.join();
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.raw, "here");
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 5s);

  t0 = Clock::now();
  auto timeout = api.get("/v1/kv/never?wait_ms=200");
  took = Clock::now() - t0;
  EXPECT_EQ(timeout.status, 404);
  EXPECT_NE(timeout.error_message().find("within 200 ms"), std::string::npos) << timeout.raw;
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 3s);
}

TEST(Rendezvous, ManyWaitersDoNotStarveOtherRequests) {
  constexpr int kWaiters = 40;
  TempDir dir;
  auto cfg = test_config(dir);
  cfg.http_threads = 2;  // the pool must grow past the waiters
  InProcessManager m(cfg);
  std::vector<std::thread> readers;
  std::atomic<int> got{0};
  for (int i = 0; i < kWaiters; ++i)
    readers.emplace_back([&] {
      Api a = m.api();
      auto r = a.get("/v1/kv/go?wait_ms=20000");
      if (r.status == 200 && r.raw == "now") ++got;
    });
  Api api = m.api();
  ASSERT_TRUE(eventually(
      [&] {
        auto metrics = api.get("/metrics").raw;
        return metrics.find("hpcless_kv_waiters " + std::to_string(kWaiters) + "\n") !=
               std::string::npos;
      },
      10s));
  // Other requests are served while 40 readers wait.
  const auto t0 = Clock::now();
  EXPECT_EQ(api.get("/v1/nodes").status, 200);
  EXPECT_LT(Clock::now() - t0, 2s);
  EXPECT_EQ(api.put("/v1/kv/go", "now").status, 204);
  for (auto& t : readers) t.join();
  EXPECT_EQ(got.load(), kWaiters);
}

TEST(Rendezvous, StoreIsBounded) {
  TempDir dir;
  auto cfg = test_config(dir);
  cfg.kv_max_bytes = 1 << 20;
  InProcessManager m(cfg);
  Api api = m.api();
  const std::string big(600 << 10, 'v');
  EXPECT_EQ(api.put("/v1/kv/a", big).status, 204);
  auto full = api.put("/v1/kv/b", big);
  EXPECT_EQ(full.status, 507) << full.raw;
  EXPECT_NE(full.error_message().find("rendezvous store full"), std::string::npos) << full.raw;
  EXPECT_EQ(api.get("/v1/kv/b").status, 404);
  // Replacing a value counts only the difference.
  EXPECT_EQ(api.put("/v1/kv/a", big).status, 204);
  EXPECT_EQ(api.del("/v1/kv/a").body["deleted"], 1);
  EXPECT_EQ(api.put("/v1/kv/b", big).status, 204);
}

TEST(Rendezvous, StopWakesWaitingReaders) {
  TempDir dir;
  InProcessManager m(test_config(dir));
  std::atomic<int> status{-1};
  std::thread reader([&] {
    Api a = m.api();
    status = a.get("/v1/kv/never?wait_ms=60000").status;
  });
  Api api = m.api();
  ASSERT_TRUE(eventually(
      [&] { return api.get("/metrics").raw.find("hpcless_kv_waiters 1\n") != std::string::npos; },
      10s));
  const auto t0 = Clock::now();
  m.stop();
  EXPECT_LT(Clock::now() - t0, 10s) << "stop() must not wait for the 60 s read";
  reader.join();
  EXPECT_NE(status.load(), 200);
}

}  // namespace
}  // namespace hpcless::mtest
