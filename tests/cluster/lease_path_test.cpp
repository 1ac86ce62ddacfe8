// The whole client path over real processes: hpcless-manager, two hpcless-executor daemons in
// managed mode (127.0.0.1), and the client library: lease -> connect to both workers ->
// round-robin, asynchronous and scatter/gather invocations -> renew -> accounting -> release ->
// the workers answer `lease ended`; and a short lease's expiry -> `token expired`.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "client/lib/lease_session.hpp"
#include "comm/auth/lease_token.hpp"
#include "comm/base/error.hpp"
#include "tests/lease_client/lease_test_support.hpp"

namespace hpcless {
namespace {

using client::Lease;
using client::LeaseClient;
using client::LeaseRequest;
using protocol::Status;

using ltest::bytes;

Deadline soon() { return Deadline::after(std::chrono::seconds(10)); }

// Manager plus two executors (nodes e1 and e2, one core each), shared by the tests of this file.
class LeasePathTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mgr_ = new ltest::ManagerProcess({{"heartbeat_interval_ms", 200}, {"dead_after_ms", 5000}});
    e1_ = new ltest::ExecutorProcess(*mgr_, "e1", "0", 1500);
    e2_ = new ltest::ExecutorProcess(*mgr_, "e2", "1", 1500);
    LeaseClient c(mgr_->options());
    ltest::wait_for_nodes(c, {"e1", "e2"});
  }
  static void TearDownTestSuite() {
    delete e2_;
    delete e1_;
    delete mgr_;
  }
  void TearDown() override {
    if (HasFailure()) {
      std::fprintf(stderr, "--- manager log ---\n%s\n--- e1 log ---\n%s\n--- e2 log ---\n%s\n",
                   mgr_->log().c_str(), e1_->log().c_str(), e2_->log().c_str());
    }
  }

  static LeaseRequest two_nodes(double seconds) {
    LeaseRequest r;
    r.cores = 2;
    r.seconds = seconds;
    r.policy = "spread";
    return r;
  }

  static inline ltest::ManagerProcess* mgr_ = nullptr;
  static inline ltest::ExecutorProcess* e1_ = nullptr;
  static inline ltest::ExecutorProcess* e2_ = nullptr;
};

TEST_F(LeasePathTest, RoundRobinScatterRenewReleaseOverTwoExecutors) {
  LeaseClient manager(mgr_->options());
  client::SessionOptions so;
  so.connect.busy_poll = false;
  so.connect.connect_timeout = std::chrono::seconds(10);
  auto lease = Lease::acquire(manager, two_nodes(30), so);
  ASSERT_EQ(lease.allocations().size(), 2u);
  ASSERT_EQ(lease.workers(), 2u);
  std::set<std::string> nodes{lease.node_of(0), lease.node_of(1)};
  EXPECT_EQ(nodes, (std::set<std::string>{"e1", "e2"}));
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(lease.worker(i).info().node_name, lease.node_of(i));
  EXPECT_EQ(lease.connect_timing().per_connection_ns.size(), 2u);

  // Round-robin: consecutive invocations alternate between the two workers.
  client::Connection* w0 = &lease.next_worker();
  client::Connection* w1 = &lease.next_worker();
  EXPECT_NE(w0, w1);
  client::InvocationResult r;
  for (int i = 0; i < 6; ++i) {
    const auto in = bytes("rr-" + std::to_string(i));
    ASSERT_EQ(lease.invoke("echo", in, r, soon()), Status::kOk) << r.error_message();
    EXPECT_EQ(r.output_text(), "rr-" + std::to_string(i));
    // The invocation went to worker i % 2; the next one goes to the other.
    EXPECT_EQ(&lease.next_worker(), i % 2 == 0 ? w1 : w0);
    lease.next_worker();  // undo the peek (two workers: a full turn)
  }

  // Asynchronous, round-robin.
  std::vector<client::Future> futures(4);
  for (size_t i = 0; i < futures.size(); ++i)
    ASSERT_EQ(lease.invoke_async("echo", bytes("async-" + std::to_string(i)), futures[i], soon()),
              Status::kOk);
  for (size_t i = 0; i < futures.size(); ++i) {
    auto& res = futures[i].get(soon());
    ASSERT_TRUE(res.ok()) << res.error_message();
    EXPECT_EQ(res.output_text(), "async-" + std::to_string(i));
  }

  // Scatter/gather: one input per worker, results in worker order.
  const auto a = bytes("for worker 0"), b = bytes("for worker 1");
  auto results = lease.scatter("echo", {a, b}, soon());
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].output_text(), "for worker 0");
  EXPECT_EQ(results[1].output_text(), "for worker 1");
  EXPECT_THROW(lease.scatter("echo", {a}, soon()), ConfigError);
  results = lease.broadcast("echo", bytes("everyone"), soon());
  for (const auto& res : results) EXPECT_EQ(res.output_text(), "everyone");
  EXPECT_THROW(lease.invoke("no-such-function", a, r, soon()), ConfigError);

  // Renewal moves the expiry; the open connections keep working.
  const int64_t old_expiry = lease.expires_at_ms();
  lease.renew(60);
  EXPECT_GT(lease.expires_at_ms(), old_expiry + 20000);
  ASSERT_EQ(lease.invoke("echo", a, r, soon()), Status::kOk) << r.error_message();

  // Accounting reaches the manager through the executors' heartbeats.
  const Deadline acct = Deadline::after(std::chrono::seconds(10));
  while (lease.refresh().usage.invocations < 15 && !acct.expired())
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GE(lease.info().usage.invocations, 15u);
  EXPECT_GT(lease.info().usage.allocated_core_s, 0.0);

  // Release: the workers learn it and answer `lease ended` (until they stop after the grace).
  lease.release();
  EXPECT_EQ(lease.info().state, "released");
  bool ended = false;
  std::string last;
  const Deadline wait_end = Deadline::after(std::chrono::seconds(10));
  while (!ended && !wait_end.expired()) {
    const auto st = lease.worker(0).invoke(lease.worker(0).function_id("echo"), a, r, soon());
    last = st == Status::kOk ? "ok" : r.error_message();
    ended = st == Status::kLeaseEnded;
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(ended) << "last answer: " << last;
  EXPECT_EQ(manager.get(lease.id()).state, "released");
}

TEST_F(LeasePathTest, ExpiryGivesTokenExpiredThenTheWorkerStops) {
  LeaseClient manager(mgr_->options());
  LeaseRequest req;
  req.cores = 1;
  req.seconds = 1.5;
  client::SessionOptions so;
  so.connect.busy_poll = false;
  auto lease = Lease::acquire(manager, req, so);
  client::InvocationResult r;
  const auto in = bytes("before expiry");
  ASSERT_EQ(lease.invoke("echo", in, r, soon()), Status::kOk) << r.error_message();
  // Past the expiry, inside the grace (1.5 s): `token expired`.
  while (lease.remaining_ms() > -100) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto st = lease.invoke("echo", in, r, soon());
  EXPECT_EQ(st, Status::kTokenExpired) << (st == Status::kOk ? "ok" : r.error_message());
  // After expiry + grace the worker stops and the connection closes (an error, not a hang).
  bool closed = false;
  const Deadline d = Deadline::after(std::chrono::seconds(10));
  while (!closed && !d.expired()) {
    try {
      lease.invoke("echo", in, r, soon());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } catch (const IoError&) {
      closed = true;
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_EQ(manager.get(lease.id()).state, "expired");
}

TEST_F(LeasePathTest, CliInvokesOnALease) {
  LeaseClient manager(mgr_->options());
  const std::vector<std::string> env = {"HPCLESS_MANAGER=" + mgr_->url(),
                                        std::string("HPCLESS_API_TOKEN=") + ltest::kApiToken};
  auto r = ltest::run_cli(
      {"lease", "acquire", "--cores", "2", "--seconds", "30", "--policy", "spread", "--quiet"},
      env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string id = r.out.substr(0, r.out.find('\n'));
  r = ltest::run_cli({"invoke", "--lease", id, "--function", "echo", "--input", "hi there"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hi there");
  r = ltest::run_cli(
      {"invoke", "--lease", id, "--function", "echo", "--input", "x", "--repeat", "20"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("20 invocations"), std::string::npos) << r.err;
  EXPECT_EQ(manager.get(id).state, "active");  // invoke does not release
  r = ltest::run_cli({"lease", "release", id}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = ltest::run_cli({"invoke", "--lease", id, "--function", "echo", "--input", "x"}, env);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("released"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hpcless
