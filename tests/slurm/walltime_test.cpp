// Executors inside Slurm jobs (--slurm-job): a lease never outlives the job, a job whose end
// moves closer cuts its leases and drains, and a job cancelled mid-lease fails the lease with
// the reason. The manager runs outside Slurm (as on a site's service node); each executor is a
// batch job of a real single-node Slurm cluster.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "comm/auth/lease_token.hpp"
#include "comm/base/error.hpp"
#include "tests/leases/lease_fixture.hpp"
#include "tests/slurm/slurm_test_support.hpp"

namespace hpcless::stest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Submits an executor job for `manager` and returns its id once the node is alive.
std::string submit_executor(const test::SlurmCluster& slurm, const ltest::ManagerProcess& manager,
                            const std::string& log_dir, int minutes, int drain_s) {
  const std::string wrap =
      "exec " + itest::executor_binary() + " --manager " + manager.url() +
      " --name slurm-$SLURM_JOB_ID --listen 127.0.0.1:0 --cores 0,1 --package " +
      itest::test_package() + " --slurm-job auto --drain-s " + std::to_string(drain_s) +
      " --slurm-poll-ms 300 --grace-ms 300";
  const std::string job = slurm.submit(
      "--cpus-per-task=2 --time=" + std::to_string(minutes) + " --output=" + log_dir +
      "/executor-%j.log --export=ALL,HPCLESS_API_TOKEN=" + ltest::kApiToken +
      ",HPCLESS_TOKEN_SECRET=" + ltest::kTokenSecret + " --wrap '" + wrap + "'");
  const auto api = manager.api();
  const bool alive = ltest::eventually(
      [&] {
        const auto r = api.call("GET", "/v1/nodes");
        if (r.status != 200) return false;
        for (const auto& n : r.body["nodes"])
          if (n["name"] == "slurm-" + job && n["state"] == "alive") return true;
        return false;
      },
      60s);
  EXPECT_TRUE(alive) << test::shell("cat " + log_dir + "/executor-" + job + ".log", 5s).output
                     << "\nmanager:\n" << manager.log();
  return job;
}

// An invocation on a lease that cannot be served any more: an error status or a closed
// connection, never a result.
bool invocation_fails(client::Connection& conn) {
  try {
    return !ltest::call(conn, "echo", "after").ok();
  } catch (const hpcless::Error&) {
    return true;
  }
}

json node_named(const ltest::ManagerApi& api, const std::string& name) {
  const auto r = api.call("GET", "/v1/nodes");  // kept alive: the loop refers into it
  for (const auto& n : r.body["nodes"])
    if (n["name"] == name) return n;
  return nullptr;
}

TEST(Walltime, LeaseNeverOutlivesTheJobAndACancelledJobFailsIt) {
  test::SlurmCluster slurm;
  test::TempDir logs("hpcless-slurm-logs");
  ltest::ManagerProcess manager;
  const auto api = manager.api();
  const std::string job = submit_executor(slurm, manager, logs.path(), 2, 20);
  const std::string node = "slurm-" + job;

  // The node's walltime is the job's end less the drain time: at most 2 min - 20 s from now.
  const json n = node_named(api, node);
  ASSERT_TRUE(n.is_object()) << api.call("GET", "/v1/nodes").raw;
  const int64_t now = auth::unix_now_ms();
  const int64_t walltime = n["walltime_end_ms"].get<int64_t>();
  EXPECT_GT(walltime, now + 60'000);
  EXPECT_LE(walltime, now + 100'000 + 2000);

  // A lease past the job's end is refused whole, with the reason.
  const auto refused = api.call("POST", "/v1/leases", R"({"cores": 1, "seconds": 3600})");
  EXPECT_EQ(refused.status, 409) << refused.raw;
  EXPECT_NE(refused.raw.find("walltime"), std::string::npos) << refused.raw;

  const json lease = api.acquire(2, 30);
  EXPECT_LE(lease["expires_at_ms"].get<int64_t>(), walltime);
  // The job ends within the warning window (2 min): the holder is told.
  ASSERT_TRUE(lease.contains("warnings")) << lease.dump();
  EXPECT_NE(lease["warnings"][0].get<std::string>().find("batch job ends in"), std::string::npos);
  auto conn = ltest::connect_allocation(lease["allocations"][0]);
  const auto ok = ltest::call(*conn, "echo", "before");
  ASSERT_TRUE(ok.ok()) << ok.output_text();

  // Renewing past the job's end is refused too.
  const auto renew = api.call("POST", "/v1/leases/" + lease["id"].get<std::string>() + "/renew",
                              R"({"seconds": 3600})");
  EXPECT_EQ(renew.status, 409) << renew.raw;

  // The job is cancelled mid-lease: the lease fails with the job's fate, the node leaves.
  ASSERT_EQ(test::shell("scancel " + job, 10s).exit_code, 0);
  const std::string id = lease["id"];
  json after;
  EXPECT_TRUE(ltest::eventually(
      [&] {
        after = api.lease(id);
        return after["state"] == "failed";
      },
      20s))
      << after.dump() << "\n" << test::shell("cat " + logs.path() + "/executor-*.log", 5s).output;
  const std::string reason = after["reason"].is_string() ? after["reason"].get<std::string>() : "";
  EXPECT_NE(reason.find("Slurm job " + job + " was cancelled"), std::string::npos) << reason;
  EXPECT_EQ(node_named(api, node)["state"], "dead");
  EXPECT_TRUE(invocation_fails(*conn));
  EXPECT_TRUE(slurm.wait_gone(job, 30s));
  EXPECT_EQ(job_processes(slurm.conf()), "");
}

TEST(Walltime, AJobEndingSoonerCutsTheLeaseAndDrainsTheNode) {
  test::SlurmCluster slurm;
  test::TempDir logs("hpcless-slurm-logs");
  ltest::ManagerProcess manager;
  const auto api = manager.api();
  // 10 minutes, 45 s of drain: far from the end at first.
  const std::string job = submit_executor(slurm, manager, logs.path(), 10, 45);
  const json lease = api.acquire(1, 300);
  EXPECT_FALSE(lease.contains("warnings")) << lease.dump();
  const std::string id = lease["id"];

  // The site shortens the job to 1 minute: the node's walltime becomes start + 15 s, and the
  // lease is cut to it, with a warning.
  ASSERT_EQ(test::shell("scontrol update JobId=" + job + " TimeLimit=1", 10s).exit_code, 0);
  json cut;
  EXPECT_TRUE(ltest::eventually(
      [&] {
        cut = api.lease(id);
        return cut["expires_at_ms"].get<int64_t>() < lease["expires_at_ms"].get<int64_t>();
      },
      10s))
      << cut.dump();
  EXPECT_LE(cut["expires_at_ms"].get<int64_t>(), auth::unix_now_ms() + 16'000);
  ASSERT_TRUE(cut.contains("warnings")) << cut.dump();
  EXPECT_NE(cut.dump().find("cut short"), std::string::npos) << cut.dump();

  // After the walltime the node drains: a new connection is refused with the reason.
  const int64_t wait_ms = cut["expires_at_ms"].get<int64_t>() - auth::unix_now_ms() + 1500;
  std::this_thread::sleep_for(std::chrono::milliseconds(std::max<int64_t>(0, wait_ms)));
  try {
    auto late = ltest::connect_allocation(cut["allocations"][0]);
    ADD_FAILURE() << "a draining node accepted a connection";
    EXPECT_TRUE(invocation_fails(*late));
  } catch (const hpcless::Error& e) {
    EXPECT_NE(std::string(e.what()).find("draining"), std::string::npos) << e.what();
  }
  const auto refused = api.call("POST", "/v1/leases", R"({"cores": 1, "seconds": 5})");
  EXPECT_EQ(refused.status, 409) << refused.raw;
  ASSERT_EQ(test::shell("scancel " + job, 10s).exit_code, 0);
  EXPECT_TRUE(slurm.wait_gone(job, 30s));
  EXPECT_EQ(job_processes(slurm.conf()), "");
}

}  // namespace
}  // namespace hpcless::stest
