// The rank launcher's verdict (experiments/comm/launcher.hpp): which process it names as the
// cause when several fail, with real child processes.
#include "experiments/comm/launcher.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace hpcless::experiments::comm_bench {
namespace {

using namespace std::chrono_literals;

LaunchOptions quick() {
  LaunchOptions o;
  o.watchdog = 20s;
  o.grace = 3s;
  o.term_timeout = 1s;
  return o;
}

// A rank killed by a signal is the cause even when a peer that saw it fail (status 3) is reaped
// first: a killed rank's sockets close before it can be reaped, so its peers may exit earlier.
TEST(Launcher, ASignalDeathReapedLaterIsStillTheCause) {
  const LaunchResult r = run_processes(
      {{"/bin/sh", "-c", "exit 3"}, {"/bin/sh", "-c", "sleep 0.3; kill -9 $$"}}, quick());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("rank 1 was killed by signal 9", 0), 0u) << r.error;
  EXPECT_NE(r.error.find("then ranks 0 failed too"), std::string::npos) << r.error;
  ASSERT_EQ(r.exit_codes.size(), 2u);
  EXPECT_EQ(r.exit_codes[0], 3);
  EXPECT_EQ(r.exit_codes[1], -9);
}

// Among error exits, the earliest is the cause; a rank still running after the grace period is
// stopped and reported as such, never as the cause.
TEST(Launcher, EarliestErrorIsTheCauseAndStragglersAreStopped) {
  const LaunchResult r = run_processes({{"/bin/sh", "-c", "exec sleep 10"},
                                        {"/bin/sh", "-c", "exit 2"},
                                        {"/bin/sh", "-c", "sleep 0.3; exit 5"}},
                                       quick());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("rank 1 exited with status 2", 0), 0u) << r.error;
  EXPECT_NE(r.error.find("then ranks 2 failed too"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("ranks 0 still running after 3000 ms were stopped"), std::string::npos)
      << r.error;
  EXPECT_LT(r.seconds, 8.0);
}

TEST(Launcher, AllSucceeding) {
  const LaunchResult r = run_processes({{"/bin/true"}, {"/bin/sh", "-c", "exit 0"}}, quick());
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.error.empty());
}

}  // namespace
}  // namespace hpcless::experiments::comm_bench
