// What the manager says to Slurm and how it reads the answers (manager/slurm/slurm_text.*), and
// the "on_demand" config section. No Slurm needed: the real commands run in tests/slurm.
#include "manager/slurm/slurm_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/base/json.hpp"
#include "manager/config/manager_config.hpp"
#include "manager/slurm/command_runner.hpp"

namespace hpcless::manager {
namespace {

using nlohmann::json;
using slurm::JobStatus;

TEST(SlurmText, SbatchArgvAsksForOneNodeTheCoresAndTheTime) {
  slurm::SubmitSpec s;
  s.sbatch = "/usr/bin/sbatch";
  s.script = "/shared/hpcless-executor.sbatch";
  s.script_args = {"--manager", "http://10.0.0.1:7000", "--package", "/shared/f.so"};
  s.cores = 4;
  s.time_limit_minutes = 3;
  s.memory_mb = 2048;
  s.partition = "batch";
  s.output = "/tmp/od-%j.out";
  s.extra_args = {"--account=hpc"};
  const std::vector<std::string> want = {"/usr/bin/sbatch",
                                         "--parsable",
                                         "--job-name=hpcless-executor",
                                         "--nodes=1",
                                         "--ntasks=1",
                                         "--cpus-per-task=4",
                                         "--time=3",
                                         "--mem=2048M",
                                         "--partition=batch",
                                         "--output=/tmp/od-%j.out",
                                         "--account=hpc",
                                         "/shared/hpcless-executor.sbatch",
                                         "--manager",
                                         "http://10.0.0.1:7000",
                                         "--package",
                                         "/shared/f.so"};
  EXPECT_EQ(slurm::sbatch_argv(s), want);

  slurm::SubmitSpec plain;
  plain.script = "job.sh";
  const auto a = slurm::sbatch_argv(plain);
  for (const auto& arg : a) {
    EXPECT_EQ(arg.rfind("--mem", 0), std::string::npos) << "no memory asked: no --mem";
    EXPECT_EQ(arg.rfind("--partition", 0), std::string::npos) << "default partition";
    EXPECT_EQ(arg.rfind("--output", 0), std::string::npos);
  }
  EXPECT_EQ(a.back(), "job.sh");
}

TEST(SlurmText, SqueueAndScancelArgv) {
  EXPECT_EQ(slurm::squeue_argv("squeue", "17"),
            (std::vector<std::string>{"squeue", "--noheader", "--jobs=17", "--format=%T %r"}));
  EXPECT_EQ(slurm::scancel_argv("scancel", "17"), (std::vector<std::string>{"scancel", "17"}));
}

TEST(SlurmText, TimeLimitIsWholeMinutesRoundedUp) {
  EXPECT_EQ(slurm::time_limit_minutes(30, 30), 1);
  EXPECT_EQ(slurm::time_limit_minutes(30, 31), 2);
  EXPECT_EQ(slurm::time_limit_minutes(0.5, 0), 1);  // at least one minute
  EXPECT_EQ(slurm::time_limit_minutes(120, 0), 2);
  EXPECT_EQ(slurm::time_limit_minutes(3600, 60), 61);
  EXPECT_EQ(slurm::time_limit_minutes(-5, -5), 1);
}

TEST(SlurmText, ParsesSbatchParsable) {
  EXPECT_EQ(slurm::parse_sbatch_job_id("17\n"), "17");
  EXPECT_EQ(slurm::parse_sbatch_job_id("123456;cluster-a\n"), "123456");
  EXPECT_EQ(slurm::parse_sbatch_job_id("note from a submit plugin\n42\n"), "42");
  for (const char* bad : {"", "\n", "Submitted batch job 17", "abc;x", "17x", "-1"}) {
    EXPECT_THROW(slurm::parse_sbatch_job_id(bad), Error) << bad;
  }
}

TEST(SlurmText, ParsesSqueueStatus) {
  JobStatus s = slurm::parse_squeue_status("PENDING Resources\n");
  EXPECT_TRUE(s.listed);
  EXPECT_TRUE(s.pending());
  EXPECT_FALSE(s.running());
  EXPECT_FALSE(s.finished());
  EXPECT_EQ(s.reason, "Resources");
  EXPECT_EQ(s.describe(), "PENDING: Resources");

  s = slurm::parse_squeue_status("RUNNING None\n");
  EXPECT_TRUE(s.running());
  EXPECT_FALSE(s.finished());
  EXPECT_EQ(s.describe(), "RUNNING");

  s = slurm::parse_squeue_status("PENDING (ReqNodeNotAvail, UnavailableNodes:n1)\n");
  EXPECT_EQ(s.reason, "ReqNodeNotAvail, UnavailableNodes:n1");

  for (const char* ended : {"COMPLETED None", "COMPLETING None", "CANCELLED None",
                            "FAILED NonZeroExitCode", "TIMEOUT None", "NODE_FAIL None"}) {
    EXPECT_TRUE(slurm::parse_squeue_status(ended).finished()) << ended;
  }

  s = slurm::parse_squeue_status("  \n");
  EXPECT_FALSE(s.listed);
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.describe(), "not in the queue any more");

  EXPECT_THROW(slurm::parse_squeue_status("slurm_load_jobs error: whatever"), Error);
  EXPECT_TRUE(slurm::squeue_says_unknown_job("slurm_load_jobs error: Invalid job id specified"));
  EXPECT_FALSE(slurm::squeue_says_unknown_job("Unable to contact slurm controller"));
}

TEST(SlurmText, HopelessPendingReasons) {
  for (const char* r : {"PartitionConfig", "BadConstraints", "PartitionTimeLimit", "JobHeldAdmin"})
    EXPECT_TRUE(slurm::hopeless_pending_reason(r)) << r;
  for (const char* r : {"Resources", "Priority", "ReqNodeNotAvail", "PartitionDown", "None", ""})
    EXPECT_FALSE(slurm::hopeless_pending_reason(r)) << r;
}

TEST(CommandRunner, CapturesOutputExitCodeAndEnforcesTheDeadline) {
  const auto env = slurm::current_environment();
  auto r = slurm::run_command({"sh", "-c", "echo out; echo err >&2; exit 3"}, env,
                              Deadline::after(std::chrono::seconds(10)));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.describe(), "exited with code 3: err");

  r = slurm::run_command({"sh", "-c", "echo \"$ONLY_HERE\""},
                         {"ONLY_HERE=yes", "PATH=/usr/bin:/bin"},
                         Deadline::after(std::chrono::seconds(10)));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out, "yes\n");

  const auto t0 = std::chrono::steady_clock::now();
  r = slurm::run_command({"sleep", "30"}, env, Deadline::after(std::chrono::milliseconds(200)));
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));

  EXPECT_THROW(slurm::run_command({"no-such-program-hpcless"}, env,
                                  Deadline::after(std::chrono::seconds(1))),
               ConfigError);
  const auto without = slurm::current_environment({"PATH"});
  for (const auto& e : without) EXPECT_NE(e.rfind("PATH=", 0), 0u) << e;
}

TEST(OnDemandConfig, ParsesTheSectionAndNamesBadKeys) {
  const json j = {{"listen", "127.0.0.1:0"},
                  {"on_demand",
                   {{"enabled", true},
                    {"script", "/bin/sh"},
                    {"partition", "local"},
                    {"extra_args", {"--account=x"}},
                    {"executor_args", {"--package", "/p.so"}},
                    {"start_deadline_s", 5},
                    {"time_margin_s", 10.5},
                    {"poll_interval_ms", 100}}}};
  const ManagerConfig c = manager_config_from_json(j, "test");
  EXPECT_TRUE(c.on_demand.enabled);
  EXPECT_EQ(c.on_demand.script, "/bin/sh");
  EXPECT_EQ(c.on_demand.partition, "local");
  EXPECT_EQ(c.on_demand.extra_args, std::vector<std::string>{"--account=x"});
  EXPECT_EQ(c.on_demand.executor_args, (std::vector<std::string>{"--package", "/p.so"}));
  EXPECT_EQ(c.on_demand.start_deadline_s, 5);
  EXPECT_EQ(c.on_demand.time_margin_s, 10.5);
  EXPECT_EQ(c.on_demand.poll_interval_ms, 100);
  EXPECT_NO_THROW(check_on_demand_config(c.on_demand));

  const auto error_of = [](const json& section) {
    try {
      ManagerConfig m = manager_config_from_json({{"on_demand", section}}, "cfg.json");
      check_on_demand_config(m.on_demand);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of({{"enabeld", true}}).find("on_demand.enabeld"), std::string::npos);
  EXPECT_NE(error_of({{"enabled", "yes"}}).find("on_demand.enabled"), std::string::npos);
  EXPECT_NE(error_of({{"extra_args", "--x"}}).find("list of strings"), std::string::npos);
  EXPECT_NE(error_of({{"start_deadline_s", -1}}).find("on_demand.start_deadline_s"),
            std::string::npos);
  EXPECT_NE(error_of({{"enabled", true}}).find("on_demand.script is required"), std::string::npos);
  EXPECT_NE(error_of({{"enabled", true}, {"script", "/no/such/script"}}).find("cannot be read"),
            std::string::npos);
  EXPECT_NE(error_of({{"enabled", true}, {"script", "/bin/sh"}, {"start_deadline_s", 0}})
                .find("start_deadline_s must be"),
            std::string::npos);
  EXPECT_NE(error_of({{"enabled", true}, {"script", "/bin/sh"}, {"api_token_file", "/bin/sh"}})
                .find("go together"),
            std::string::npos);
  EXPECT_NE(error_of({{"enabled", true}, {"script", "/bin/sh"}, {"manager_url", "10.0.0.1:7"}})
                .find("http://"),
            std::string::npos);
  // Disabled: the values are not checked (the section may be kept for later).
  EXPECT_EQ(error_of({{"enabled", false}, {"start_deadline_s", 0}}), "");
  EXPECT_NE(error_of(json::array()).find("must hold a JSON object"), std::string::npos);
}

}  // namespace
}  // namespace hpcless::manager
