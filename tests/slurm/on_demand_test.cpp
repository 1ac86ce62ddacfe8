// On-demand executors against a real Slurm cluster (label `slurm`): a manager with no executors
// grows its pool through sbatch, and refuses cleanly when the job cannot start or be submitted.
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <thread>

#include "comm/base/json.hpp"
#include "tests/slurm/slurm_fixture.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

namespace hpcless::stest {
namespace {

// "Submitted" job ids mentioned in a refusal ("... job 17 ...").
std::string job_in(const std::string& text) {
  std::smatch m;
  static const std::regex re("job ([0-9]+)");
  return std::regex_search(text, m, re) ? m[1].str() : "";
}

// Cancels a job of the test's own on every exit path.
struct ScancelGuard {
  std::string job;
  ~ScancelGuard() {
    if (!job.empty()) run({"scancel", job});
  }
};

class OnDemandSlurm : public SlurmTest {};

TEST_F(OnDemandSlurm, JobIsSubmittedRegistersServesALeaseAndLeavesWhenIdle) {
  itest::TempDir dir;
  OnDemandManager m(dir.path());
  ASSERT_EQ(m.get("/v1/nodes")["nodes"].size(), 0u) << "the pool starts empty";

  const auto acquired = m.cli({"lease", "acquire", "--cores", "1", "--seconds", "30", "--json"});
  ASSERT_EQ(acquired.exit_code(), 0) << acquired.describe() << "\n" << m.log();
  const json lease = json::parse(acquired.out);
  ASSERT_TRUE(lease.contains("on_demand")) << lease.dump(2);
  const json od = lease["on_demand"];
  const std::string job = od["job_id"];
  ScancelGuard guard{job};
  ASSERT_FALSE(job.empty());
  ASSERT_EQ(lease["allocations"].size(), 1u);
  EXPECT_EQ(lease["allocations"][0]["node"], "slurm-" + job);
  EXPECT_EQ(lease["allocations"][0]["cores"].size(), 1u);
  // Every step in order, on the manager's clock.
  EXPECT_GT(od["requested_ms"].get<int64_t>(), 0);
  EXPECT_LE(od["requested_ms"].get<int64_t>(), od["submitted_ms"].get<int64_t>());
  EXPECT_LE(od["submitted_ms"].get<int64_t>(), od["running_ms"].get<int64_t>());
  EXPECT_LE(od["running_ms"].get<int64_t>(), od["registered_ms"].get<int64_t>());
  // The job's own start (same host, same clock here) lies between submission and registration.
  EXPECT_LE(od["submitted_ms"].get<int64_t>(), od["job_started_ms"].get<int64_t>());
  EXPECT_LE(od["job_started_ms"].get<int64_t>(), od["registered_ms"].get<int64_t>());
  EXPECT_LE(od["registered_ms"].get<int64_t>(), od["granted_ms"].get<int64_t>());
  EXPECT_EQ(od["granted_ms"], lease["created_ms"]);
  const std::string id = lease["id"];

  // The lease works: a function runs on the new executor.
  const auto inv =
      m.cli({"invoke", "--lease", id, "--function", "echo", "--input", "hello-slurm"}, 30s);
  EXPECT_EQ(inv.exit_code(), 0) << inv.describe();
  EXPECT_NE(inv.out.find("hello-slurm"), std::string::npos) << inv.out;

  // GET shows the same on_demand record; the metrics count it.
  int status = 0;
  const json got = m.get("/v1/leases/" + id, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(got["on_demand"], od);
  const std::string metrics = m.metrics();
  EXPECT_NE(metrics.find("hpcless_on_demand_submits_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("hpcless_on_demand_grants_total 1"), std::string::npos) << metrics;

  const auto rel = m.cli({"lease", "release", id}, 30s);
  EXPECT_EQ(rel.exit_code(), 0) << rel.describe();

  // Idle for 2 s (after the 300 ms grace): the executor deregisters and exits, the job ends.
  EXPECT_TRUE(eventually([&] { return job_state(job).empty(); }, 40s))
      << "job " << job << " still listed: " << job_state(job) << "\njob output:\n"
      << m.job_output(job);
  const json nodes = m.get("/v1/nodes")["nodes"];
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0]["name"], "slurm-" + job);
  EXPECT_EQ(nodes[0]["state"], "dead") << "an idle on-demand executor leaves the pool";
  const std::vector<std::string> mine = {"slurm-" + job, m.url()};
  EXPECT_TRUE(eventually([&] { return process_with_args(mine).empty(); }, 10s))
      << "a process of job " << job << " is left behind: " << process_with_args(mine);
  EXPECT_NE(m.job_output(job).find("deregistered from the manager"), std::string::npos)
      << m.job_output(job);
}

TEST_F(OnDemandSlurm, JobThatCannotStartIsCancelledAndTheLeaseRefused) {
  itest::TempDir dir;
  // Another job takes both CPUs of the node, so the executor job stays PENDING.
  const auto blocker = run({"sbatch", "--parsable", "--job-name=blocker", "--cpus-per-task=2",
                            "--time=5", "--output=/dev/null", "--wrap", "sleep 300"});
  ASSERT_EQ(blocker.exit_code(), 0) << blocker.describe();
  ScancelGuard blocker_guard{blocker.out.substr(0, blocker.out.find_first_of(";\n"))};
  ASSERT_TRUE(
      eventually([&] { return job_state(blocker_guard.job).rfind("RUNNING", 0) == 0; }, 30s))
      << job_state(blocker_guard.job);

  OnDemandOptions o;
  o.start_deadline_s = 5;
  OnDemandManager m(dir.path(), o);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = m.cli({"lease", "acquire", "--cores", "1", "--seconds", "30"});
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_NE(r.err.find("did not start within 5 s (PENDING"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cancelled it"), std::string::npos) << r.err;
  EXPECT_LT(took, 25s) << "the refusal comes at the deadline, not much later";
  const std::string job = job_in(r.err);
  ASSERT_FALSE(job.empty()) << r.err;
  ScancelGuard guard{job};
  EXPECT_TRUE(eventually([&] { return job_state(job).empty(); }, 15s))
      << "the executor job is left in the queue: " << job_state(job);
  const std::string metrics = m.metrics();
  EXPECT_NE(metrics.find("hpcless_on_demand_failures_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("hpcless_lease_refusals_total 1"), std::string::npos) << metrics;
  int status = 0;
  const json leases = m.get("/v1/leases", &status);
  EXPECT_EQ(leases["leases"].size(), 0u);
}

TEST_F(OnDemandSlurm, WaitingRequestTakesCoresThatFreeUpAndCancelsItsJob) {
  itest::TempDir dir;
  // One of the node's two CPUs is taken: there is room for one executor job only.
  const auto blocker = run({"sbatch", "--parsable", "--job-name=blocker", "--cpus-per-task=1",
                            "--time=5", "--output=/dev/null", "--wrap", "sleep 300"});
  ASSERT_EQ(blocker.exit_code(), 0) << blocker.describe();
  ScancelGuard blocker_guard{blocker.out.substr(0, blocker.out.find_first_of(";\n"))};
  OnDemandOptions o;
  o.exit_when_idle_s = 5;
  OnDemandManager m(dir.path(), o);

  const auto first = m.cli({"lease", "acquire", "--cores", "1", "--seconds", "60", "--json"});
  ASSERT_EQ(first.exit_code(), 0) << first.describe();
  const json a = json::parse(first.out);
  const std::string job_a = a["on_demand"]["job_id"];
  ScancelGuard guard_a{job_a};

  // A second request: its job cannot start (the node is full) ...
  itest::RunResult second;
  std::thread t([&] {
    second = m.cli({"lease", "acquire", "--cores", "1", "--seconds", "30", "--json"});
  });
  ASSERT_TRUE(eventually(
      [&] { return m.metrics().find("hpcless_on_demand_waiting 1") != std::string::npos; }, 20s));
  ASSERT_TRUE(eventually([&] { return queued_jobs().size() == 2; }, 10s));
  // ... until the first lease ends: its executor's core is free, the waiting request takes it.
  EXPECT_EQ(m.cli({"lease", "release", a["id"]}, 30s).exit_code(), 0);
  t.join();
  ASSERT_EQ(second.exit_code(), 0) << second.describe();
  const json b = json::parse(second.out);
  EXPECT_EQ(b["allocations"][0]["node"], "slurm-" + job_a);
  EXPECT_FALSE(b.contains("on_demand")) << "granted on the pool, not on a new executor";
  EXPECT_TRUE(eventually([&] { return queued_jobs() == std::vector<std::string>{job_a}; }, 15s))
      << "the second executor job must be cancelled";
  EXPECT_EQ(m.cli({"lease", "release", b["id"]}, 30s).exit_code(), 0);
}

TEST_F(OnDemandSlurm, SbatchFailureIsTheRefusalAndLeavesNothingQueued) {
  itest::TempDir dir;
  OnDemandManager m(dir.path());
  ASSERT_EQ(queued_jobs(), std::vector<std::string>{}) << "no executor job before";
  // 64 cores on a 2-CPU node: the cluster enforces partition limits at submission.
  const auto r = m.cli({"lease", "acquire", "--cores", "64", "--seconds", "30"});
  EXPECT_EQ(r.exit_code(), 1) << r.describe();
  EXPECT_NE(r.err.find("need 64 cores"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sbatch exited with code 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("More processors requested than permitted"), std::string::npos) << r.err;
  EXPECT_EQ(queued_jobs(), std::vector<std::string>{}) << "nothing queued";

  // A partition that does not exist: sbatch's own message again.
  OnDemandOptions o;
  o.partition = "no-such-partition";
  itest::TempDir dir2;
  OnDemandManager bad(dir2.path(), o);
  const auto r2 = bad.cli({"lease", "acquire", "--cores", "1", "--seconds", "30"});
  EXPECT_EQ(r2.exit_code(), 1) << r2.describe();
  EXPECT_NE(r2.err.find("invalid partition"), std::string::npos) << r2.err;
  EXPECT_EQ(queued_jobs(), std::vector<std::string>{}) << "nothing queued";
  const std::string metrics = m.metrics();
  EXPECT_NE(metrics.find("hpcless_on_demand_submits_total 0"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("hpcless_on_demand_failures_total 1"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace hpcless::stest
