// The lease client (LeaseClient, Lease) and `hpcless lease` against a real hpcless-manager.
// Nodes here are bare records (no executor behind them): what is tested is the REST client,
// its error messages and the Lease object's release rules. The full path over executors is in
// tests/cluster.
#include "client/lib/lease_client.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>

#include "client/lib/lease_session.hpp"
#include "comm/auth/lease_token.hpp"
#include "comm/base/fd.hpp"
#include "tests/lease_client/lease_test_support.hpp"

namespace hpcless {
namespace {

using client::LeaseClient;
using client::LeaseRequest;
using client::ManagerError;
using ltest::ManagerProcess;

// Fake nodes never heartbeat: keep them alive for the length of a test.
const std::map<std::string, long long> kQuietNodes = {{"dead_after_ms", 600000}};

// A port on 127.0.0.1 where nothing listens (bound, then closed).
uint16_t closed_port() {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

LeaseRequest request(int cores, double seconds) {
  LeaseRequest r;
  r.cores = cores;
  r.seconds = seconds;
  return r;
}

class LeaseClientTest : public ::testing::Test {
 protected:
  LeaseClientTest() : mgr_(kQuietNodes), client_(mgr_.options()) {}
  ManagerProcess mgr_;
  LeaseClient client_;
};

TEST_F(LeaseClientTest, HealthNeedsNoToken) {
  LeaseClient anonymous(mgr_.options(""));
  const auto h = anonymous.health();
  EXPECT_EQ(h.status, "ok");
  EXPECT_EQ(h.nodes_alive, 0);
}

TEST_F(LeaseClientTest, MissingOrWrongTokenGives401WithHint) {
  for (const std::string token : {"", "not-the-token"}) {
    LeaseClient c(mgr_.options(token));
    try {
      c.nodes();
      FAIL() << "no 401 for token '" << token << "'";
    } catch (const ManagerError& e) {
      EXPECT_EQ(e.status(), 401);
      EXPECT_NE(std::string(e.what()).find("HPCLESS_API_TOKEN"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(mgr_.url()), std::string::npos) << e.what();
    }
  }
}

TEST_F(LeaseClientTest, AcquireGetRenewReleaseList) {
  ltest::register_fake_node(client_, "f1", "127.0.0.1:9", 4);
  const int64_t before = auth::unix_now_ms();
  const auto l = client_.acquire(request(2, 30));
  EXPECT_EQ(l.state, "active");
  EXPECT_EQ(l.cores, 2);
  ASSERT_EQ(l.allocations.size(), 1u);
  EXPECT_EQ(l.allocations[0].node, "f1");
  EXPECT_EQ(l.allocations[0].address, "127.0.0.1:9");
  EXPECT_EQ(l.allocations[0].cores.size(), 2u);
  EXPECT_EQ(l.allocations[0].token.rfind("hpcl1.", 0), 0u);
  EXPECT_GE(l.expires_at_ms, before + 29000);
  EXPECT_LE(l.expires_at_ms, auth::unix_now_ms() + 31000);
  EXPECT_EQ(l.redacted()["allocations"][0]["token"], "(redacted)");

  const auto g = client_.get(l.id);
  EXPECT_EQ(g.id, l.id);
  EXPECT_EQ(g.expires_at_ms, l.expires_at_ms);

  const auto r = client_.renew(l.id, 120.5);
  EXPECT_EQ(r.state, "active");
  EXPECT_GT(r.expires_at_ms, l.expires_at_ms + 60000);

  auto active = client_.list("active");
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].id, l.id);

  const auto rel = client_.release(l.id);
  EXPECT_EQ(rel.state, "released");
  EXPECT_EQ(client_.release(l.id).state, "released");  // a no-op the second time
  EXPECT_TRUE(client_.list("active").empty());
  ASSERT_EQ(client_.list("released").size(), 1u);
  EXPECT_EQ(client_.list().size(), 1u);
  EXPECT_EQ(client_.get(l.id).state, "released");

  // Renewing an ended lease is refused with the manager's reason.
  try {
    client_.renew(l.id, 10);
    FAIL() << "renewed a released lease";
  } catch (const ManagerError& e) {
    EXPECT_EQ(e.status(), 409);
    EXPECT_FALSE(std::string(e.what()).empty());
  }
}

TEST_F(LeaseClientTest, OverCapacityGives409WithTheManagersReason) {
  ltest::register_fake_node(client_, "f1", "127.0.0.1:9", 2);
  try {
    client_.acquire(request(8, 10));
    FAIL() << "granted 8 cores out of 2";
  } catch (const ManagerError& e) {
    EXPECT_EQ(e.status(), 409);
    const std::string what = e.what();
    // The refusal as the manager words it ("need 8 cores, 2 free on 1 alive node"), unwrapped.
    EXPECT_NE(what.find("8"), std::string::npos) << what;
    EXPECT_EQ(what.find("409"), std::string::npos) << what;
  }
  EXPECT_TRUE(client_.list("active").empty());  // never a partial grant
}

TEST_F(LeaseClientTest, BadRequestsNameTheField) {
  ltest::register_fake_node(client_, "f1", "127.0.0.1:9", 2);
  const nlohmann::json bad = {{"cores", 1}, {"seconds", -5}};
  try {
    client_.request("POST", "/v1/leases", &bad);
    FAIL() << "accepted seconds -5";
  } catch (const ManagerError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("seconds"), std::string::npos) << e.what();
  }
  try {
    client_.get("L999999");
    FAIL() << "found an unknown lease";
  } catch (const ManagerError& e) {
    EXPECT_EQ(e.status(), 404);
  }
  // Checked before sending.
  EXPECT_THROW(client_.acquire(request(0, 10)), ConfigError);
  EXPECT_THROW(client_.acquire(request(1, 0)), ConfigError);
  EXPECT_THROW(client_.get("../nodes"), ConfigError);
  EXPECT_THROW(client_.list("sleeping"), ConfigError);
}

TEST_F(LeaseClientTest, SpreadGivesOneAllocationPerNode) {
  ltest::register_fake_node(client_, "f1", "127.0.0.1:9", 2);
  ltest::register_fake_node(client_, "f2", "127.0.0.1:10", 2);
  LeaseRequest r = request(2, 10);
  r.policy = "spread";
  const auto l = client_.acquire(r);
  ASSERT_EQ(l.allocations.size(), 2u);
  EXPECT_NE(l.allocations[0].node, l.allocations[1].node);
  EXPECT_NE(l.allocations[0].token, l.allocations[1].token);
  const auto nodes = client_.nodes();
  ASSERT_EQ(nodes.size(), 2u);
  for (const auto& n : nodes) EXPECT_EQ(n.free_cores, 1) << n.name;
}

TEST_F(LeaseClientTest, LeaseIsReleasedWhenItsWorkersCannotBeReached) {
  ltest::register_fake_node(client_, "f1", "127.0.0.1:" + std::to_string(closed_port()), 2);
  client::SessionOptions so;
  so.connect.connect_timeout = std::chrono::milliseconds(2000);
  so.release_on_destroy = false;  // a lease nobody could use is released all the same
  try {
    client::Lease::acquire(client_, request(1, 30), so);
    FAIL() << "connected to a closed port";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("node f1"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(client_.list("active").empty());
  EXPECT_EQ(client_.list("released").size(), 1u);
}

TEST_F(LeaseClientTest, LeaseReleasesOnDestructionUnlessDetached) {
  ltest::register_fake_node(client_, "f1", "127.0.0.1:9", 4);
  client::SessionOptions so;
  so.connect_now = false;
  std::string released_id, kept_id;
  {
    auto a = client::Lease::acquire(client_, request(1, 30), so);
    auto b = client::Lease::acquire(client_, request(1, 30), so);
    released_id = a.id();
    kept_id = b.id();
    b.detach();
    EXPECT_GT(a.remaining_ms(), 25000);
    EXPECT_FALSE(a.connected());
    client::InvocationResult result;
    EXPECT_THROW(a.invoke("echo", {}, result, Deadline::after(std::chrono::seconds(1))),
                 ConfigError);
    // Moving keeps exactly one owner of the release.
    client::Lease moved = std::move(a);
    EXPECT_EQ(moved.id(), released_id);
  }
  EXPECT_EQ(client_.get(released_id).state, "released");
  EXPECT_EQ(client_.get(kept_id).state, "active");
  // attach() of an active lease does not release it; of an ended one it refuses.
  so.connect_now = false;
  {
    client::SessionOptions ao = client::Lease::attach_defaults();
    ao.connect_now = false;
    auto attached = client::Lease::attach(client_, kept_id, ao);
    EXPECT_EQ(attached.allocations().size(), 1u);
  }
  EXPECT_EQ(client_.get(kept_id).state, "active");
  EXPECT_THROW(client::Lease::attach(client_, released_id, client::Lease::attach_defaults()),
               ConfigError);
}

TEST(LeaseClientErrors, UnreachableManagerNamesItsAddress) {
  client::ManagerOptions o;
  o.url = "127.0.0.1:" + std::to_string(closed_port());
  LeaseClient c(o);
  EXPECT_EQ(c.url(), "http://" + o.url);
  try {
    c.nodes();
    FAIL() << "reached a closed port";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(c.url()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("hpcless-manager"), std::string::npos) << e.what();
  }
}

TEST(LeaseClientErrors, BadUrlsAreConfigErrors) {
  for (const char* url :
       {"", "https://127.0.0.1:1", "127.0.0.1", "http://127.0.0.1:x", "http://127.0.0.1:80/v1"}) {
    client::ManagerOptions o;
    o.url = url;
    EXPECT_THROW(LeaseClient{o}, ConfigError) << url;
  }
}

TEST(LeaseClientErrors, OptionsFromEnvironmentAndTokenFile) {
  ltest::ScratchDir dir;
  const auto token_file = dir.path() / "token";
  std::ofstream(token_file) << "  from-file \n";
  ::setenv("HPCLESS_MANAGER", "http://127.0.0.1:1234", 1);
  ::setenv("HPCLESS_API_TOKEN", "from-env", 1);
  auto o = client::ManagerOptions::resolve(std::nullopt, std::nullopt);
  EXPECT_EQ(o.url, "http://127.0.0.1:1234");
  EXPECT_EQ(o.api_token, "from-env");
  o = client::ManagerOptions::resolve(std::string("127.0.0.1:99"), token_file.string());
  EXPECT_EQ(o.url, "127.0.0.1:99");
  EXPECT_EQ(o.api_token, "from-file");
  EXPECT_THROW(client::ManagerOptions::resolve(std::nullopt, (dir.path() / "missing").string()),
               ConfigError);
  ::unsetenv("HPCLESS_MANAGER");
  EXPECT_THROW(client::ManagerOptions::resolve(std::nullopt, std::nullopt), ConfigError);
  ::unsetenv("HPCLESS_API_TOKEN");
}

TEST(LeaseClientErrors, MalformedAnswersAreProtocolErrors) {
  EXPECT_THROW(client::lease_from_json(nlohmann::json::array()), ProtocolError);
  EXPECT_THROW(client::lease_from_json({{"id", "L1"}}), ProtocolError);
  EXPECT_THROW(client::lease_from_json(
                   {{"id", "L1"}, {"state", "active"}, {"cores", "two"}, {"expires_at_ms", 1}}),
               ProtocolError);
  const auto l = client::lease_from_json({{"id", "L1"},
                                          {"state", "active"},
                                          {"cores", 1},
                                          {"expires_at_ms", 5},
                                          {"ended_ms", nullptr},
                                          {"allocations", nlohmann::json::array()}});
  EXPECT_EQ(l.id, "L1");
  EXPECT_FALSE(l.ended_ms);
}

// ---- the CLI -----------------------------------------------------------------------------

class LeaseCliTest : public LeaseClientTest {
 protected:
  std::vector<std::string> env(const std::string& token = ltest::kApiToken) const {
    return {"HPCLESS_MANAGER=" + mgr_.url(), "HPCLESS_API_TOKEN=" + token};
  }
};

TEST_F(LeaseCliTest, AcquireShowRenewListRelease) {
  ltest::register_fake_node(client_, "f1", "127.0.0.1:9", 4);
  auto r =
      ltest::run_cli({"lease", "acquire", "--cores", "2", "--seconds", "30", "--quiet"}, env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string id = r.out;
  while (!id.empty() && id.back() == '\n') id.pop_back();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(client_.get(id).state, "active");

  r = ltest::run_cli({"lease", "show", id}, env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("lease " + id + " active"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("f1"), std::string::npos) << r.out;
  for (const char* key : {"allocated", "busy", "hot-polling", "idle", "invocations"})
    EXPECT_NE(r.out.find(key), std::string::npos) << key << " missing in\n" << r.out;
  EXPECT_EQ(r.out.find("hpcl1."), std::string::npos) << "token printed:\n" << r.out;

  r = ltest::run_cli({"lease", "show", id, "--json"}, env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["id"], id);

  r = ltest::run_cli({"lease", "renew", id, "--seconds", "90"}, env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(client_.get(id).expires_at_ms, auth::unix_now_ms() + 80000);

  r = ltest::run_cli({"lease", "list", "--state", "active"}, env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(id), std::string::npos) << r.out;

  r = ltest::run_cli({"lease", "release", id}, env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("released"), std::string::npos) << r.out;
  EXPECT_EQ(client_.get(id).state, "released");
}

TEST_F(LeaseCliTest, ErrorsAreOneClearLine) {
  ltest::register_fake_node(client_, "f1", "127.0.0.1:9", 2);
  auto r = ltest::run_cli({"lease", "list"}, env("wrong"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("HPCLESS_API_TOKEN"), std::string::npos) << r.err;

  r = ltest::run_cli({"lease", "acquire", "--cores", "64", "--seconds", "5"}, env());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("64"), std::string::npos) << r.err;

  r = ltest::run_cli({"lease", "acquire", "--seconds", "5"}, env());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--cores"), std::string::npos) << r.err;

  r = ltest::run_cli({"lease", "show"}, env());
  EXPECT_EQ(r.exit_code, 2);

  r = ltest::run_cli({"lease", "list"}, {"HPCLESS_MANAGER=", "HPCLESS_API_TOKEN=x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("HPCLESS_MANAGER"), std::string::npos) << r.err;

  // --token-file wins over the environment.
  ltest::ScratchDir dir;
  std::ofstream(dir.path() / "t") << ltest::kApiToken << "\n";
  r = ltest::run_cli({"lease", "list", "--token-file", (dir.path() / "t").string()}, env("wrong"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace hpcless
