// `hpcless cluster up|down|status` end to end: real managers and executors started by the CLI in
// the background, a lease over their nodes, invocations on every worker, and a `down` that
// leaves no process, namespace, veth or bridge behind. The --netns case needs root; without it
// the test is skipped with a loud message.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "client/lib/lease_session.hpp"
#include "comm/base/error.hpp"
#include "comm/base/json.hpp"
#include "tests/lease_client/lease_test_support.hpp"

namespace hpcless {
namespace {

namespace fs = std::filesystem;
using ltest::bytes;
using nlohmann::json;

bool pid_alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return false;
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

bool path_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// KEY=value lines of the env file (`export KEY=value`) as environment entries.
std::vector<std::string> env_of(const fs::path& env_file) {
  std::ifstream in(env_file);
  std::vector<std::string> env;
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("export ", 0) == 0) env.push_back(line.substr(7));
  return env;
}

std::string env_value(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& e : env)
    if (e.rfind(key + "=", 0) == 0) return e.substr(key.size() + 1);
  return {};
}

// Brings a cluster up in `dir` and takes it down at the end whatever happened.
class ClusterGuard {
 public:
  explicit ClusterGuard(fs::path dir) : dir_(std::move(dir)) {}
  ~ClusterGuard() {
    if (!down_) ltest::run_cli({"cluster", "down", "--dir", dir_.string()});
  }
  void mark_down() { down_ = true; }

 private:
  fs::path dir_;
  bool down_ = false;
};

std::vector<std::string> cluster_args(const fs::path& dir, int nodes) {
  return {"cluster",        "up",
          "--nodes",        std::to_string(nodes),
          "--dir",          dir.string(),
          "--executor-bin", ltest::executor_binary(),
          "--manager-bin",  ltest::manager_binary(),
          "--package",      ltest::core_package(),
          "--timeout-ms",   "60000"};
}

void expect_cluster_gone(const json& state) {
  for (const auto& p : state["processes"])
    EXPECT_FALSE(pid_alive(p["pid"].get<pid_t>()))
        << p["role"] << " " << p["name"] << " (pid " << p["pid"] << ") still runs";
  for (const auto& ns : state["namespaces"])
    EXPECT_FALSE(path_exists("/var/run/netns/" + ns.get<std::string>())) << ns << " remains";
}

TEST(ClusterCommand, UpLeaseInvokeDownOnLoopback) {
  ltest::ScratchDir dir;
  const fs::path cdir = dir.path() / "cluster";
  ClusterGuard guard(cdir);
  auto r = ltest::run_cli(cluster_args(cdir, 2));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("source " + (cdir / "env").string()), std::string::npos) << r.out;
  const json state = json::parse(ltest::read_text(cdir / "cluster.json"));
  ASSERT_EQ(state["processes"].size(), 3u);
  for (const auto& p : state["processes"]) EXPECT_TRUE(pid_alive(p["pid"].get<pid_t>())) << p;
  // Secrets are private to the user.
  struct stat st {};
  ASSERT_EQ(::stat(state["api_token_file"].get<std::string>().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);

  const auto env = env_of(cdir / "env");
  ASSERT_EQ(env_value(env, "HPCLESS_MANAGER"), state["manager_url"]);
  r = ltest::run_cli({"cluster", "status", "--dir", cdir.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("n2"), std::string::npos) << r.out;

  // A second `up` in the same folder is refused while the first runs.
  r = ltest::run_cli(cluster_args(cdir, 1));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("already up"), std::string::npos) << r.err;

  r = ltest::run_cli(
      {"lease", "acquire", "--cores", "2", "--seconds", "30", "--policy", "spread", "--quiet"},
      env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string id = r.out.substr(0, r.out.find('\n'));
  r = ltest::run_cli({"invoke", "--lease", id, "--function", "echo", "--input", "up"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "up");

  r = ltest::run_cli({"cluster", "down", "--dir", cdir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  guard.mark_down();
  expect_cluster_gone(state);
  EXPECT_FALSE(fs::exists(cdir / "cluster.json"));
  // Idempotent.
  r = ltest::run_cli({"cluster", "down", "--dir", cdir.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("nothing to stop"), std::string::npos) << r.out;
}

// `cluster up --storage`: redis-server and s3rver come up with the cluster, executors hand their
// config to lease workers, and `hpcless bench` prepares and runs storage benchmarks on a lease
// with nothing but the cluster's env file. `down` stops the storage servers too.
TEST(ClusterCommand, StorageServesBenchmarksOnALease) {
  ltest::ScratchDir dir;
  const fs::path cdir = dir.path() / "cluster";
  ClusterGuard guard(cdir);
  auto args = cluster_args(cdir, 1);
  args.push_back("--storage");
  auto r = ltest::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json state = json::parse(ltest::read_text(cdir / "cluster.json"));
  std::set<std::string> roles;
  for (const auto& p : state["processes"]) {
    roles.insert(p["role"].get<std::string>());
    EXPECT_TRUE(pid_alive(p["pid"].get<pid_t>())) << p;
  }
  EXPECT_EQ(roles, (std::set<std::string>{"manager", "executor", "redis", "s3"}));
  const auto env = env_of(cdir / "env");
  const std::string storage = env_value(env, "HPCLESS_STORAGE_CONFIG");
  ASSERT_EQ(storage, (cdir / "storage.json").string());
  const json config = json::parse(ltest::read_text(storage));
  EXPECT_EQ(config["storage"]["s3"]["endpoint"].get<std::string>().rfind("http://127.0.0.1:", 0),
            0u);

  r = ltest::run_cli({"bench", "prepare", "120.uploader", "130.crud-api", "--size", "test"}, env,
                     std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = ltest::run_cli({"lease", "acquire", "--cores", "1", "--seconds", "60", "--quiet"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string id = r.out.substr(0, r.out.find('\n'));
  const fs::path out = dir.path() / "bench";
  r = ltest::run_cli({"bench", "run", "120.uploader", "130.crud-api", "--size", "test",
                      "--repetitions", "2", "--lease", id, "--out", out.string()},
                     env, std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::ifstream in(out / "invocations.jsonl");
  std::string line;
  std::map<std::string, int> valid;
  while (std::getline(in, line)) {
    const json j = json::parse(line);
    EXPECT_EQ(j["status"], "ok") << line;
    if (j["validation"]["ok"].get<bool>()) ++valid[j["benchmark"].get<std::string>()];
  }
  EXPECT_EQ(valid, (std::map<std::string, int>{{"120.uploader", 2}, {"130.crud-api", 2}}));
  r = ltest::run_cli({"lease", "release", id}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;

  r = ltest::run_cli({"cluster", "down", "--dir", cdir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  guard.mark_down();
  expect_cluster_gone(state);
}

// Can this process create network namespaces? (root in a VM: yes; a container may say no.)
std::string netns_unavailable() {
  if (::geteuid() != 0) return "not root";
  const std::string probe = "hpcless-probe-" + std::to_string(::getpid());
  if (std::system(("ip netns add " + probe + " 2>/dev/null").c_str()) != 0)
    return "'ip netns add' failed";
  if (std::system(("ip netns del " + probe + " 2>/dev/null").c_str()) != 0)
    return "'ip netns del' failed";
  return {};
}

TEST(ClusterCommand, ThreeNodesInNetworkNamespaces) {
  const std::string why = netns_unavailable();
  if (!why.empty()) {
    std::fprintf(stderr,
                 "\n*** SKIPPED: cluster --netns needs network namespaces (%s); run this test as "
                 "root on a host or VM ***\n\n",
                 why.c_str());
    GTEST_SKIP() << "network namespaces unavailable: " << why;
  }
  ltest::ScratchDir dir;
  const fs::path cdir = dir.path() / "cluster";
  // A network id of its own, so that a cluster someone runs with the default id is untouched.
  const int net_id = 200 + static_cast<int>(::getpid() % 50);
  ClusterGuard guard(cdir);
  auto args = cluster_args(cdir, 3);
  args.insert(args.end(), {"--netns", "--net-id", std::to_string(net_id)});
  auto r = ltest::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json state = json::parse(ltest::read_text(cdir / "cluster.json"));
  ASSERT_EQ(state["namespaces"].size(), 3u);
  const std::string prefix = "198.18." + std::to_string(net_id) + ".";
  EXPECT_EQ(state["manager_url"].get<std::string>().rfind("http://" + prefix + "1:", 0), 0u)
      << state["manager_url"];

  // The same network id is refused while in use, and the running cluster is left alone.
  {
    ltest::ScratchDir other;
    auto again = cluster_args(other.path() / "c", 1);
    again.insert(again.end(), {"--netns", "--net-id", std::to_string(net_id)});
    const auto r2 = ltest::run_cli(again);
    EXPECT_EQ(r2.exit_code, 2);
    EXPECT_NE(r2.err.find("exists already"), std::string::npos) << r2.err;
    for (const auto& ns : state["namespaces"])
      EXPECT_TRUE(path_exists("/var/run/netns/" + ns.get<std::string>())) << ns;
  }

  const auto env = env_of(cdir / "env");
  client::ManagerOptions mo;
  mo.url = env_value(env, "HPCLESS_MANAGER");
  mo.api_token = env_value(env, "HPCLESS_API_TOKEN");
  client::LeaseClient manager(mo);
  client::LeaseRequest req;
  req.cores = 3;
  req.seconds = 30;
  req.policy = "spread";
  client::SessionOptions so;
  so.connect.busy_poll = false;
  {
    auto lease = client::Lease::acquire(manager, req, so);
    ASSERT_EQ(lease.workers(), 3u);
    std::set<std::string> nodes, addresses;
    for (const auto& a : lease.allocations()) {
      nodes.insert(a.node);
      addresses.insert(a.address);
      EXPECT_EQ(a.address.rfind(prefix, 0), 0u) << a.address << " is not in " << prefix << "0/24";
    }
    EXPECT_EQ(nodes, (std::set<std::string>{"n1", "n2", "n3"}));
    EXPECT_EQ(addresses.size(), 3u);
    const auto results =
        lease.broadcast("echo", bytes("all nodes"), Deadline::after(std::chrono::seconds(10)));
    ASSERT_EQ(results.size(), 3u);
    for (const auto& res : results) {
      EXPECT_TRUE(res.ok()) << res.error_message();
      EXPECT_EQ(res.output_text(), "all nodes");
    }
  }  // released here

  r = ltest::run_cli({"cluster", "down", "--dir", cdir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  guard.mark_down();
  expect_cluster_gone(state);
  EXPECT_FALSE(path_exists("/sys/class/net/hpcl-br" + std::to_string(net_id)));
  for (int k = 1; k <= 3; ++k)
    EXPECT_FALSE(
        path_exists("/sys/class/net/hpcl" + std::to_string(net_id) + "-v" + std::to_string(k)));
}

TEST(ClusterCommand, BadOptionsAreRefusedBeforeAnythingStarts) {
  ltest::ScratchDir dir;
  auto r = ltest::run_cli({"cluster", "up", "--dir", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--nodes"), std::string::npos) << r.err;
  r = ltest::run_cli(
      {"cluster", "up", "--nodes", "2", "--cores-per-node", "4096", "--dir", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  r = ltest::run_cli({"cluster", "up", "--nodes", "2", "--netns", "--net-id", "999", "--dir",
                      dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(fs::exists(dir.path() / "cluster.json"));
  r = ltest::run_cli({"cluster", "status", "--dir", dir.path().string()});
  EXPECT_EQ(r.exit_code, 1);
  // A manager that dies at start: its log is shown and nothing is left running.
  auto args = cluster_args(dir.path() / "c", 1);
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--manager-bin") args[i + 1] = "/bin/false";
  r = ltest::run_cli(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("manager exited during start-up"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "c" / "cluster.json"));
  r = ltest::run_cli({"cluster", "sideways"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace hpcless
