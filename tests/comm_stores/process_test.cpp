// The object-store channels with ranks as separate processes (comm_stores_rank) meeting through
// a TcpStore: the collective battery on 4 processes, a rank killed with SIGKILL mid-loop (the
// others fail within their deadline), and a rank that aborts (the others fail at once).
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "comm/rendezvous/tcp_store.hpp"
#include "tests/comm_stores/support/stores_support.hpp"
#include "tests/services/child.hpp"

namespace hpcless::comm::stores_test {
namespace {

using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class Ranks {
 public:
  Ranks(Kind kind, int size, const std::string& scenario, int timeout_ms)
      : dir_("comm-stores-procs"), group_(unique_group("procs-" + scenario)) {
    std::string endpoint;
    if (kind == Kind::kRedis)
      endpoint = redis_server().host() + ":" + std::to_string(redis_server().port());
    else
      endpoint = s3_server().endpoint();
    for (int r = 0; r < size; ++r) {
      logs_.push_back(dir_.path() + "/rank" + std::to_string(r) + ".log");
      children_.push_back(test::Child::spawn(
          {COMM_STORES_RANK_PATH, "--kind", kind_name(kind), "--endpoint", endpoint, "--bucket",
           kBucket, "--store", server_.endpoint().to_string(), "--group", group_, "--rank",
           std::to_string(r), "--size", std::to_string(size), "--scenario", scenario,
           "--timeout-ms", std::to_string(timeout_ms)},
          logs_.back(), dir_.path()));
    }
  }
  test::Child& child(int r) { return children_[r]; }
  std::string log(int r) const { return slurp(logs_[r]); }
  rendezvous::MemoryStore& store() { return server_.store(); }
  const std::string& group() const { return group_; }
  // Exit code of rank r (or -1 when it did not exit by the deadline / died by a signal).
  int exit_code(int r, Deadline d) {
    const auto st = children_[r].wait(d);
    if (!st || !WIFEXITED(*st)) return -1;
    return WEXITSTATUS(*st);
  }
  void wait_ready(int size) {
    for (int r = 0; r < size; ++r)
      (void)store().get("ready/" + std::to_string(r), Deadline::after(60s));
  }

 private:
  test::TempDir dir_;
  rendezvous::StoreServer server_;
  std::string group_;
  std::vector<std::string> logs_;
  std::vector<test::Child> children_;
};

class StoreProcesses : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::kRedis)
      redis_server();
    else
      s3_server();
  }
};

TEST_P(StoreProcesses, BatteryOnFourProcesses) {
  Watchdog wd(150s, "battery on 4 processes");
  Ranks ranks(GetParam(), 4, "battery", 30'000);
  for (int r = 0; r < 4; ++r)
    EXPECT_EQ(ranks.exit_code(r, Deadline::after(140s)), 0) << "rank " << r << ":\n"
                                                            << ranks.log(r);
  EXPECT_TRUE(leftovers(GetParam(), ranks.group()).empty());
}

TEST_P(StoreProcesses, KilledRankMakesTheOthersFailWithinTheDeadline) {
  Watchdog wd(90s, "killed rank");
  constexpr int kTimeoutMs = 1500;
  Ranks ranks(GetParam(), 4, "loop", kTimeoutMs);
  ranks.wait_ready(4);
  ranks.child(2).kill();
  const uint64_t t0 = now_ns();
  for (int r : {0, 1, 3}) {
    EXPECT_EQ(ranks.exit_code(r, Deadline::after(30s)), 3) << "rank " << r << ":\n" << ranks.log(r);
    EXPECT_NE(ranks.log(r).find("COMM-ERROR"), std::string::npos) << ranks.log(r);
  }
  // Each waits at most its deadline; whoever times out first aborts the rest.
  EXPECT_LT(static_cast<double>(now_ns() - t0) / 1e6, kTimeoutMs + 6000.0);
}

TEST_P(StoreProcesses, AbortingRankStopsTheOthersAtOnce) {
  Watchdog wd(90s, "aborting rank");
  Ranks ranks(GetParam(), 4, "abort", 30'000);  // deadlines far away: only the abort can end it
  const uint64_t t0 = now_ns();
  for (int r : {0, 1, 2, 3}) {
    EXPECT_EQ(ranks.exit_code(r, Deadline::after(60s)), 3) << "rank " << r << ":\n" << ranks.log(r);
    if (r != 1) {
      EXPECT_NE(ranks.log(r).find("rank 1 aborts on purpose"), std::string::npos) << ranks.log(r);
    }
  }
  EXPECT_LT(static_cast<double>(now_ns() - t0) / 1e6, 25'000.0);
  // Everyone counted out: the run is deleted, abort marker included.
  EXPECT_TRUE(leftovers(GetParam(), ranks.group()).empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreProcesses, ::testing::Values(Kind::kRedis, Kind::kS3),
                         [](const auto& info) { return kind_name(info.param); });

}  // namespace
}  // namespace hpcless::comm::stores_test
