// Support for the Slurm tests (label `slurm`): a private single-node Slurm cluster
// (slurm/local-cluster.sh) per test process, and a real hpcless-manager with on-demand executors
// enabled and no executors of its own.
//
// The cluster comes up in SetUpTestSuite and goes down (jobs cancelled first) in
// TearDownTestSuite; every Slurm command of the test and of the manager reaches it through
// SLURM_CONF (tests/services/slurm_cluster.hpp). Without slurmctld/munged, or without root
// (slurmd runs jobs as their users), every test fails with the reason.
//
// Thread safety: the test's main thread only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "comm/base/json.hpp"
#include "executor/spawn/child_process.hpp"
#include "tests/integration/executor_fixture.hpp"
#include "tests/services/slurm_cluster.hpp"

namespace hpcless::stest {

inline constexpr const char* kApiToken = "slurm-tests-api-token";
inline constexpr const char* kTokenSecret = "slurm-tests-token-secret-0123456789";

// The absolute path of a program found in PATH (and /usr/sbin), or "".
std::string find_program(const std::string& name);

// Runs a Slurm or hpcless command (argv[0] a name looked up in PATH, or a path).
itest::RunResult run(std::vector<std::string> argv,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30));

class SlurmTest : public ::testing::Test {
 public:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

 protected:
  void SetUp() override;

  // squeue's "%T %r" line for a job ("" once Slurm no longer lists it).
  static std::string job_state(const std::string& job_id);
  // Ids of the jobs named `name` that Slurm lists (pending, running, completing).
  static std::vector<std::string> queued_jobs(const std::string& name = "hpcless-executor");
  static const std::string& cluster_dir();

 private:
  // A failure in SetUpTestSuite is reported by every test (gtest would mark them skipped).
  static std::string setup_error_;
  static std::unique_ptr<test::SlurmCluster> cluster_;
};

struct OnDemandOptions {
  double start_deadline_s = 30;
  double exit_when_idle_s = 2;
  std::string partition = "local";
};

// hpcless-manager on 127.0.0.1:0 with on_demand enabled (the script of this source tree, the
// executor and core package of this build) and no executors; stopped by the destructor.
class OnDemandManager {
 public:
  explicit OnDemandManager(const std::string& dir, OnDemandOptions opts = {});
  ~OnDemandManager();
  const std::string& url() const noexcept { return url_; }
  std::string log() const;
  // GET with the API token; the parsed JSON (null when not JSON) and the status.
  nlohmann::json get(const std::string& path, int* status = nullptr) const;
  std::string metrics() const;
  // hpcless <args...> against this manager (HPCLESS_MANAGER, HPCLESS_API_TOKEN set).
  itest::RunResult cli(std::vector<std::string> args,
                       std::chrono::milliseconds timeout = std::chrono::seconds(90)) const;
  std::string job_output(const std::string& job_id) const;

 private:
  std::string dir_, url_, address_;
  executor::ChildProcess process_;
};

// The command line ("pid: args") of a live process whose arguments include each of `args`
// exactly, or "". (Other users of the machine may run executors with the same node name.)
std::string process_with_args(const std::vector<std::string>& args);

// Polls `pred` every 100 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

}  // namespace hpcless::stest
