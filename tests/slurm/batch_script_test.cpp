// slurm/hpcless-cluster.sbatch on a real single-node Slurm cluster: it brings hpcless up, runs an
// experiment, collects the results, and leaves no process behind, also when cancelled mid-run.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/slurm/slurm_test_support.hpp"

namespace hpcless::stest {
namespace {

using namespace std::chrono_literals;

// `hpcless slurm submit EXPERIMENT --cpus-per-node 2 --wait -- ARGS` into `results` (free ports);
// the job id ("" when none was submitted) and the command's result.
struct Submitted {
  test::ShellResult result;
  std::string job;
};
Submitted submit_and_wait(const std::string& experiment, const std::string& results,
                          const std::string& args) {
  Submitted s;
  s.result = test::shell("HPCLESS_MANAGER_PORT=0 HPCLESS_EXECUTOR_PORT=0 " + cli() +
                             " slurm submit " + experiment + " --cpus-per-node 2 --results " +
                             results + " --wait --timeout-s 200 -- " + args,
                         240s);
  const auto at = s.result.output.find("submitted job ");
  if (at != std::string::npos)
    s.job = s.result.output.substr(at + 14, s.result.output.find(';', at) - at - 14);
  return s;
}

TEST(BatchScript, RunsAnExperimentAndLeavesNothingBehind) {
  test::SlurmCluster slurm;
  test::TempDir results("hpcless-slurm-results");
  // `hpcless slurm submit` over the batch script: cluster up, a 1-core lease, the experiment.
  const auto [r, job] = submit_and_wait("invocation-overhead", results.path(),
                                        "--repetitions 100 --sizes 64 --systems hpcless,raw-tcp");
  ASSERT_FALSE(job.empty()) << r.output;
  const std::string dir = results.path() + "/slurm-" + job;
  ASSERT_EQ(r.exit_code, 0) << r.output << "\n--- job output:\n"
                            << test::shell("cat " + results.path() + "/slurm-*.out", 5s).output;

  const auto startup = read_json(dir + "/startup.json");
  ASSERT_TRUE(startup.is_object()) << dir;
  EXPECT_EQ(startup["first_invocation_ok"], true);
  EXPECT_EQ(startup["nodes"], 1);
  ASSERT_TRUE(startup["submit_ms"].is_number());
  const int64_t submit = startup["submit_ms"].get<int64_t>();
  EXPECT_LE(submit, startup["job_start_ms"].get<int64_t>());
  EXPECT_LE(startup["manager_ready_ms"].get<int64_t>(), startup["executors_registered_ms"].get<int64_t>());
  EXPECT_LE(startup["executors_registered_ms"].get<int64_t>(), startup["first_invocation_ms"].get<int64_t>());
  std::printf("sbatch -> first invocation: %lld ms\n",
              static_cast<long long>(startup["first_invocation_ms"].get<int64_t>() - submit));

  EXPECT_EQ(read_json(dir + "/command.json")["status"], 0);
  EXPECT_TRUE(exists(dir + "/invocation-overhead/summary.csv"));
  EXPECT_TRUE(exists(dir + "/invocation-overhead/metadata.json"));
  // The teardown recorded the ledger's leases: the check's and the experiment's, all ended.
  const auto leases = read_json(dir + "/leases.json");
  ASSERT_TRUE(leases.is_object()) << dir;
  ASSERT_GE(leases["leases"].size(), 2u);
  for (const auto& l : leases["leases"]) EXPECT_NE(l["state"], "active") << l.dump();

  EXPECT_TRUE(slurm.wait_gone(job, 30s));
  EXPECT_EQ(processes_matching(dir), "");
  EXPECT_EQ(job_processes(slurm.conf()), "");
}

TEST(BatchScript, CancelledMidRunLeavesNothingBehind) {
  test::SlurmCluster slurm;
  test::TempDir results("hpcless-slurm-results");
  const std::string job = slurm.submit(
      "--cpus-per-task=2 --output=" + results.path() + "/out-%j.txt " +
      "--export=ALL,HPCLESS_BUILD=" + build_dir() + ",HPCLESS_RESULTS=" + results.path() +
      ",HPCLESS_MANAGER_PORT=0,HPCLESS_EXECUTOR_PORT=0 " + cluster_script() +
      " 'lease=$(hpcless lease acquire --cores 1 --seconds 600 --quiet) && "
      "echo $lease > $HPCLESS_JOB_DIR/lease && sleep 600'");
  const std::string dir = results.path() + "/slurm-" + job;
  ASSERT_TRUE(wait_file(dir + "/lease", 90s))
      << test::shell("cat " + results.path() + "/out-*.txt", 5s).output;
  EXPECT_NE(processes_matching(dir), "");  // the manager and the executor run

  ASSERT_EQ(test::shell("scancel " + job, 10s).exit_code, 0);
  ASSERT_TRUE(slurm.wait_gone(job, 60s));
  EXPECT_TRUE(wait_file(dir + "/interrupted.json", 5s))
      << test::shell("cat " + results.path() + "/out-*.txt", 5s).output;
  EXPECT_EQ(processes_matching(dir), "");
  EXPECT_EQ(job_processes(slurm.conf()), "");
}

// The MPI offloading experiment inside the allocation: mpirun on the first node, tiles to the
// job's executors, every run's product checked against a local DGEMM (--verify).
TEST(BatchScript, MpiOffloadInsideTheAllocationMatchesALocalDgemm) {
  test::SlurmCluster slurm;
  test::TempDir results("hpcless-slurm-results");
  const auto [r, job] = submit_and_wait("offload", results.path(),
                                        "--n 192 --tile 32 --ranks 1 --lease-cores 1"
                                        " --fractions 0,0.5,1 --repetitions 1 --verify");
  ASSERT_FALSE(job.empty()) << r.output;
  const std::string dir = results.path() + "/slurm-" + job;
  ASSERT_EQ(r.exit_code, 0) << r.output << "\n--- job output:\n"
                            << test::shell("cat " + results.path() + "/slurm-*.out", 5s).output;
  std::ifstream runs(dir + "/offload/runs.jsonl");
  ASSERT_TRUE(runs) << dir;
  size_t n = 0;
  for (std::string line; std::getline(runs, line);) {
    const auto run = nlohmann::json::parse(line);
    ++n;
    EXPECT_EQ(run.value("ok", false), true) << line;
    ASSERT_TRUE(run.contains("app") && run["app"].contains("verify")) << line;
    EXPECT_EQ(run["app"]["verify"]["ok"], true) << line;
    EXPECT_LE(run["app"]["verify"]["max_abs_error"].get<double>(),
              run["app"]["verify"]["tolerance"].get<double>())
        << line;
    if (run["fraction"].get<double>() > 0) {
      EXPECT_GT(run["tiles_offloaded"].get<int>(), 0) << line;
    }
  }
  EXPECT_EQ(n, 3u);
  EXPECT_TRUE(exists(dir + "/offload/summary.csv"));
  EXPECT_TRUE(slurm.wait_gone(job, 30s));
  EXPECT_EQ(job_processes(slurm.conf()), "");
}

TEST(BatchScript, FailsCleanlyWithoutItsBinaries) {
  test::SlurmCluster slurm;
  test::TempDir results("hpcless-slurm-results");
  const std::string job = slurm.submit("--output=" + results.path() + "/out.txt " +
                                       "--export=ALL,HPCLESS_BUILD=/nonexistent,HPCLESS_RESULTS=" +
                                       results.path() + " " + cluster_script());
  ASSERT_TRUE(slurm.wait_gone(job, 60s));
  const auto out = test::shell("cat " + results.path() + "/out.txt", 5s).output;
  EXPECT_NE(out.find("missing /nonexistent"), std::string::npos) << out;
}

}  // namespace
}  // namespace hpcless::stest
