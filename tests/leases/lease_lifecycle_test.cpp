// The lease lifecycle end to end: a real manager, real managed executors, real worker processes.
// Grant -> connect with the token -> invoke on the pinned cores -> renew / release / expire ->
// the worker refuses, then stops; usage reaches the manager's ledger.
#include <gtest/gtest.h>

#include <thread>

#include "comm/base/error.hpp"
#include "tests/leases/lease_fixture.hpp"

using namespace std::chrono_literals;
using hpcless::protocol::Status;

namespace hpcless::ltest {
namespace {

// A refused hello raises IoError naming the status; returns that message ("" if it connected).
std::string refusal(const nlohmann::json& allocation) {
  try {
    connect_allocation(allocation);
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

std::string state_of(const ManagerApi& api, const std::string& id) {
  return api.lease(id).value("state", "?");
}

TEST(Lease, GrantedLeaseRunsOnItsOwnPinnedCores) {
  ManagerProcess m;
  NodeProcess n(m, {.name = "n0", .cores = "0,1"});
  auto api = m.api();
  auto a = api.acquire(1, 30);
  auto b = api.acquire(1, 30);
  ASSERT_EQ(a["allocations"].size(), 1u);
  const int core_a = a["allocations"][0]["cores"][0];
  const int core_b = b["allocations"][0]["cores"][0];
  EXPECT_NE(core_a, core_b) << "the same core was granted twice";

  auto ca = connect_allocation(a["allocations"][0]);
  auto cb = connect_allocation(b["allocations"][0]);
  auto r = call(*ca, "echo", "hello lease");
  ASSERT_TRUE(r.ok()) << r.error_message();
  EXPECT_EQ(r.output_text(), "hello lease");
  // Each lease has its own worker process, restricted to the leased core.
  EXPECT_EQ(call(*ca, "affinity", "").output_text(), std::to_string(core_a));
  EXPECT_EQ(call(*cb, "affinity", "").output_text(), std::to_string(core_b));
  EXPECT_EQ(itest::children_of(n.pid()).size(), 2u);
}

TEST(Lease, ForgedAlteredForeignAndMissingTokensAreRefused) {
  ManagerProcess m;
  NodeProcess n(m, {.name = "n0", .cores = "0"});
  auto lease = m.api().acquire(1, 30);
  auto alloc = lease["allocations"][0];

  auto forged = alloc;
  std::string t = alloc["token"];
  t[t.size() / 2] = t[t.size() / 2] == 'A' ? 'B' : 'A';
  forged["token"] = t;
  EXPECT_NE(refusal(forged).find("token invalid"), std::string::npos) << refusal(forged);

  auto junk = alloc;
  junk["token"] = "hpcl1.not-a-token.at-all";
  EXPECT_NE(refusal(junk).find("token invalid"), std::string::npos);

  auto none = alloc;
  none["token"] = "";
  EXPECT_NE(refusal(none).find("token invalid"), std::string::npos);

  // A genuine token of this lease still works after all that.
  auto c = connect_allocation(alloc);
  EXPECT_TRUE(call(*c, "echo", "x").ok());
}

TEST(Lease, TokenForAnotherNodeIsRefused) {
  ManagerProcess m;
  NodeProcess n0(m, {.name = "n0", .cores = "0"});
  NodeProcess n1(m, {.name = "n1", .cores = "0"});
  auto api = m.api();
  auto l0 = api.acquire(1, 30);
  auto l1 = api.acquire(1, 30);
  auto a0 = l0["allocations"][0];
  auto a1 = l1["allocations"][0];
  ASSERT_NE(a0["node"], a1["node"]);
  auto crossed = a0;
  crossed["address"] = a1["address"];  // n0's token presented to n1
  EXPECT_NE(refusal(crossed).find("token invalid"), std::string::npos) << refusal(crossed);
}

TEST(Lease, ExpiryRefusesInvocationsThenStopsTheWorker) {
  ManagerProcess m;
  NodeProcess n(m, {.name = "n0", .cores = "0", .grace_ms = 1000});
  auto api = m.api();
  auto lease = api.acquire(1, 1.0);
  const std::string id = lease["id"];
  auto c = connect_allocation(lease["allocations"][0]);
  ASSERT_TRUE(call(*c, "echo", "before").ok());
  const pid_t worker = itest::children_of(n.pid()).at(0);

  std::this_thread::sleep_for(1100ms);  // past the expiry, inside the grace
  auto r = call(*c, "echo", "after");
  EXPECT_EQ(r.status, Status::kTokenExpired) << r.error_message();
  EXPECT_NE(r.error_message().find(id), std::string::npos);
  EXPECT_NE(refusal(lease["allocations"][0]).find("token expired"), std::string::npos);

  EXPECT_TRUE(eventually([&] { return !itest::process_alive(worker); }, 5s))
      << "the worker outlived its lease's grace";
  EXPECT_TRUE(eventually([&] { return state_of(api, id) == "expired"; }, 3s));
}

TEST(Lease, RenewalMovesTheExpiry) {
  ManagerProcess m;
  NodeProcess n(m, {.name = "n0", .cores = "0", .grace_ms = 200});
  auto api = m.api();
  auto lease = api.acquire(1, 1.5);
  const std::string id = lease["id"];
  auto c = connect_allocation(lease["allocations"][0]);
  auto renewed = api.call("POST", "/v1/leases/" + id + "/renew", R"({"seconds": 30})");
  ASSERT_EQ(renewed.status, 200) << renewed.raw;
  EXPECT_GT(renewed.body["expires_at_ms"].get<int64_t>(), lease["expires_at_ms"].get<int64_t>());

  std::this_thread::sleep_for(2000ms);  // past the original expiry and grace
  auto r = call(*c, "echo", "still here");
  EXPECT_TRUE(r.ok()) << r.error_message();
  // The original token has passed its own expiry, the renewed one connects.
  auto fresh = connect_allocation(renewed.body["allocations"][0]);
  EXPECT_TRUE(call(*fresh, "echo", "x").ok());
  EXPECT_EQ(state_of(api, id), "active");
}

TEST(Lease, ReleaseEndsTheLeaseOnTheNode) {
  ManagerProcess m;
  NodeProcess n(m, {.name = "n0", .cores = "0", .grace_ms = 300});
  auto api = m.api();
  auto lease = api.acquire(1, 60);
  const std::string id = lease["id"];
  auto c = connect_allocation(lease["allocations"][0]);
  ASSERT_TRUE(call(*c, "echo", "x").ok());
  const pid_t worker = itest::children_of(n.pid()).at(0);
  ASSERT_EQ(api.call("DELETE", "/v1/leases/" + id).status, 200);
  EXPECT_EQ(state_of(api, id), "released");

  // The node learns it on its next heartbeat: invocations get "lease ended", then it stops.
  bool ended = eventually(
      [&] {
        auto r = call(*c, "echo", "x");
        return r.status == Status::kLeaseEnded;
      },
      3s);
  EXPECT_TRUE(ended);
  EXPECT_TRUE(eventually([&] { return !itest::process_alive(worker); }, 5s));
  // The core is free again.
  auto again = api.acquire(1, 10);
  EXPECT_EQ(again["allocations"][0]["cores"], lease["allocations"][0]["cores"]);
}

TEST(Lease, UsageIsAccountedInTheLedger) {
  ManagerProcess m;
  NodeProcess n(m, {.name = "n0", .cores = "0"});
  auto api = m.api();
  auto lease = api.acquire(1, 60, 0, /*hot_timeout_ms=*/-1);
  const std::string id = lease["id"];
  auto c = connect_allocation(lease["allocations"][0], itest::Mode::kHot);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(call(*c, "echo", "x").ok());
  ASSERT_TRUE(call(*c, "sleep_ms", "200").ok());
  EXPECT_EQ(call(*c, "fail", "").status, Status::kFunctionFailed);
  nlohmann::json usage;
  ASSERT_TRUE(eventually(
      [&] {
        usage = api.lease(id)["usage"];
        return usage.value("invocations", 0) >= 52;
      },
      3s))
      << usage.dump();
  EXPECT_EQ(usage["invocations"], 52);
  EXPECT_EQ(usage["errors"], 1);
  EXPECT_GE(usage["busy_core_s"].get<double>(), 0.19);
  EXPECT_GT(usage["allocated_core_s"].get<double>(), usage["busy_core_s"].get<double>());
  EXPECT_GE(usage["hot_poll_core_s"].get<double>(), 0.0);
}

TEST(Lease, WorkerThatDiesFailsItsLease) {
  ManagerProcess m;
  NodeProcess n(m, {.name = "n0", .cores = "0"});
  auto api = m.api();
  auto lease = api.acquire(1, 60);
  const std::string id = lease["id"];
  auto c = connect_allocation(lease["allocations"][0]);
  client::InvocationResult r;
  try {
    r = call(*c, "crash", "");
    EXPECT_EQ(r.status, Status::kWorkerCrashed) << r.error_message();
  } catch (const IoError&) {
    // The connection may be shut down before the crash report is read.
  }
  EXPECT_TRUE(eventually([&] { return state_of(api, id) == "failed"; }, 3s));
  EXPECT_NE(api.lease(id).value("reason", "").find("worker process died"), std::string::npos)
      << api.lease(id).dump();
  EXPECT_NE(refusal(lease["allocations"][0]).find("lease ended"), std::string::npos);
}

TEST(Lease, ExecutorKilledFailsWaitingClientAndItsLeases) {
  ManagerProcess m({.heartbeat_interval_ms = 100, .dead_after_ms = 1000});
  auto n = std::make_unique<NodeProcess>(m, NodeOptions{.name = "n0", .cores = "0"});
  auto api = m.api();
  auto lease = api.acquire(1, 60);
  const std::string id = lease["id"];
  auto c = connect_allocation(lease["allocations"][0]);
  std::thread killer([&] {
    std::this_thread::sleep_for(300ms);
    n->kill9();
  });
  const auto t0 = std::chrono::steady_clock::now();
  bool failed = false;
  try {
    auto r = call(*c, "sleep_ms", "4000");
    failed = !r.ok();
  } catch (const Error&) {
    failed = true;
  }
  const auto waited = std::chrono::steady_clock::now() - t0;
  killer.join();
  EXPECT_TRUE(failed);
  EXPECT_LT(waited, 2s) << "the client waited for its deadline instead of failing promptly";
  EXPECT_TRUE(eventually([&] { return state_of(api, id) == "failed"; }, 4s));
}

TEST(Lease, ManagerDownAndRestartedKeepsLeasesUsable) {
  ManagerProcess m;
  NodeProcess n(m, {.name = "n0", .cores = "0,1"});
  auto api = m.api();
  auto lease = api.acquire(1, 60);
  const std::string id = lease["id"];
  auto c = connect_allocation(lease["allocations"][0]);
  ASSERT_TRUE(call(*c, "echo", "x").ok());
  m.kill9();
  // The manager is off the invocation path: the lease keeps serving, new connections included.
  EXPECT_TRUE(call(*c, "echo", "while the manager is down").ok());
  auto c2 = connect_allocation(lease["allocations"][0]);
  EXPECT_TRUE(call(*c2, "echo", "x").ok());
  m.restart();
  auto again = m.api();
  EXPECT_EQ(state_of(again, id), "active");
  // The node comes back through its heartbeats and its free core can be leased.
  EXPECT_TRUE(eventually(
      [&] {
        auto nodes = again.call("GET", "/v1/nodes");
        return nodes.status == 200 && !nodes.body["nodes"].empty() &&
               nodes.body["nodes"][0].value("state", "") == "alive";
      },
      5s));
  auto other = again.acquire(1, 10);
  EXPECT_NE(other["allocations"][0]["cores"], lease["allocations"][0]["cores"]);
  EXPECT_TRUE(call(*c, "echo", "after restart").ok());
}

TEST(Lease, MemoryLimitEndsTheFunctionWithItsOwnStatus) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "RLIMIT_AS cannot be used under AddressSanitizer (covered by the Release run)";
#endif
  ManagerProcess m;
  NodeProcess n(m, {.name = "n0", .cores = "0"});
  auto lease = m.api().acquire(1, 60, /*memory_mb=*/64);
  auto c = connect_allocation(lease["allocations"][0]);
  EXPECT_TRUE(call(*c, "alloc", "16").ok());
  auto r = call(*c, "alloc", "1024");
  // RLIMIT_AS (no writable cgroup v2): the allocation fails inside the function. A cgroup v2
  // limit lets the kernel kill the worker instead.
  EXPECT_TRUE(r.status == Status::kMemoryLimit || r.status == Status::kWorkerCrashed)
      << protocol::to_string(r.status) << ": " << r.error_message();
  std::printf("memory limit answered: %s\n", protocol::to_string(r.status));
  if (r.status == Status::kMemoryLimit) {
    EXPECT_NE(r.error_message().find("64 MiB"), std::string::npos) << r.error_message();
    EXPECT_TRUE(call(*c, "echo", "still alive").ok());
  }
}

}  // namespace
}  // namespace hpcless::ltest
