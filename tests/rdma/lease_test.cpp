// Leases over RDMA: a node with an RDMA device announces it, a lease asking for transport rdma
// lands there, the client library connects over what the lease grants, tokens are checked
// before any RDMA resource is spent, and a lease's end and a killed executor reach RDMA clients.
#include <gtest/gtest.h>

#include "client/lib/lease_client.hpp"
#include "client/lib/lease_session.hpp"
#include "comm/base/error.hpp"
#include "comm/base/json.hpp"
#include "tests/integration/executor_fixture.hpp"
#include "tests/leases/lease_fixture.hpp"

namespace hpcless {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using protocol::Status;

class RdmaLeaseTest : public ::testing::Test {
 protected:
  RdmaLeaseTest()
      : rdma_node_(mgr_, ltest::NodeOptions{.name = "rdma0",
                                            .cores = "0",
                                            .extra_args = {"--rdma-address",
                                                           itest::rdma_address()}}),
        tcp_node_(mgr_, ltest::NodeOptions{.name = "tcp0", .cores = "1"}),
        client_(client::ManagerOptions{.url = mgr_.url(), .api_token = ltest::kApiToken}) {}

  static client::LeaseRequest rdma_request() {
    client::LeaseRequest r;
    r.cores = 1;
    r.seconds = 30;
    r.transport = "rdma";
    return r;
  }

  ltest::ManagerProcess mgr_;
  ltest::NodeProcess rdma_node_;
  ltest::NodeProcess tcp_node_;
  client::LeaseClient client_;
};

TEST_F(RdmaLeaseTest, RdmaLeaseLandsOnTheRdmaNodeAndInvokesOverRdma) {
  for (const auto& n : client_.nodes()) {
    const bool has_rdma =
        std::find(n.transports.begin(), n.transports.end(), "rdma") != n.transports.end();
    EXPECT_EQ(has_rdma, n.name == "rdma0") << n.name;
  }
  client::SessionOptions so;
  so.connect.busy_poll = true;
  auto lease = client::Lease::acquire(client_, rdma_request(), so);
  ASSERT_EQ(lease.info().allocations.size(), 1u);
  EXPECT_EQ(lease.info().allocations[0].node, "rdma0");
  EXPECT_EQ(lease.info().transport, "rdma");
  client::InvocationResult r;
  const auto in = itest::pattern_bytes(100000, 3);  // two fragments each way
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(lease.invoke("echo", in, r, Deadline::after(10s)), Status::kOk) << r.error_message();
    EXPECT_TRUE(itest::same_bytes(in, r.output));
  }
  // A second rdma lease finds no free RDMA core: the TCP node does not count.
  try {
    client_.acquire(rdma_request());
    FAIL() << "granted a second rdma lease";
  } catch (const client::ManagerError& e) {
    EXPECT_NE(std::string(e.what()).find("transport 'rdma'"), std::string::npos) << e.what();
  }
  lease.release();
}

TEST_F(RdmaLeaseTest, ForgedTokenIsRefusedBeforeAnyRdmaConnection) {
  const auto info = client_.acquire(rdma_request());
  auto opts = itest::connect_options(itest::Mode::kWarm);
  opts.transport = "rdma";
  opts.connect_timeout = 20s;  // the worker may still be starting (slow under emulation)
  opts.token = info.allocations[0].token;
  opts.token[opts.token.size() / 2] ^= 1;  // one bit of the claims or signature
  try {
    client::Connection::connect(info.allocations[0].address, opts);
    FAIL() << "a forged token was accepted";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("token"), std::string::npos) << e.what();
  }
  // The genuine token still works over RDMA.
  opts.token = info.allocations[0].token;
  auto conn = client::Connection::connect(info.allocations[0].address, opts);
  EXPECT_EQ(conn->transport(), "rdma");
  conn->ping(Deadline::after(5s));
}

TEST_F(RdmaLeaseTest, ReleasedLeaseEndsItsRdmaInvocations) {
  const auto info = client_.acquire(rdma_request());
  auto opts = itest::connect_options(itest::Mode::kHot);
  opts.transport = "rdma";
  opts.connect_timeout = 20s;  // the worker may still be starting (slow under emulation)
  opts.token = info.allocations[0].token;
  auto conn = client::Connection::connect(info.allocations[0].address, opts);
  client::InvocationResult r;
  const auto in = itest::to_bytes("x");
  ASSERT_EQ(conn->invoke(conn->function_id("echo"), in, r, Deadline::after(5s)), Status::kOk);
  client_.release(info.id);
  // The executor hears of the release on its next heartbeat and tells the worker.
  EXPECT_TRUE(ltest::eventually(
      [&] {
        try {
          conn->invoke(conn->function_id("echo"), in, r, Deadline::after(5s));
          return r.status == Status::kLeaseEnded;
        } catch (const IoError&) {
          return true;  // the worker stopped after its grace period: the connection closed
        }
      },
      10s));
}

TEST_F(RdmaLeaseTest, KilledExecutorFailsTheRdmaClientPromptly) {
  const auto info = client_.acquire(rdma_request());
  auto opts = itest::connect_options(itest::Mode::kHot);
  opts.transport = "rdma";
  opts.connect_timeout = 20s;  // the worker may still be starting (slow under emulation)
  opts.token = info.allocations[0].token;
  auto conn = client::Connection::connect(info.allocations[0].address, opts);
  const pid_t executor = rdma_node_.pid();
  std::vector<pid_t> workers = itest::children_of(executor);
  ASSERT_FALSE(workers.empty());
  client::InvocationResult r;
  client::Future f;
  ASSERT_EQ(conn->invoke_async(conn->function_id("sleep_ms"), itest::to_bytes("3000"), f,
                               Deadline::after(10s)),
            Status::kOk);
  rdma_node_.kill9();
  for (pid_t w : workers) ::kill(w, SIGKILL);  // the worker dies with its node
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(f.get(Deadline::after(10s)), IoError);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s);
}

}  // namespace
}  // namespace hpcless
