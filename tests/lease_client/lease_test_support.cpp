#include "tests/lease_client/lease_test_support.hpp"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/base/json.hpp"

namespace hpcless::ltest {

namespace fs = std::filesystem;

std::string manager_binary() { return HPCLESS_MANAGER_BIN; }
std::string executor_binary() { return HPCLESS_EXECUTOR_BIN; }
std::string cli_binary() { return HPCLESS_CLI_BIN; }
std::string core_package() { return HPCLESS_CORE_PACKAGE; }

std::vector<std::byte> bytes(std::string_view s) {
  std::vector<std::byte> b(s.size());
  for (size_t i = 0; i < s.size(); ++i) b[i] = static_cast<std::byte>(s[i]);
  return b;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

namespace {

std::string first_line(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  if (in) std::getline(in, s);
  return s;
}

// Polls for a non-empty ready file while the process runs.
std::string wait_ready(executor::ChildProcess& proc, const fs::path& ready, const fs::path& log,
                       std::chrono::milliseconds timeout, const char* what) {
  const Deadline deadline = Deadline::after(timeout);
  while (true) {
    std::string line = first_line(ready);
    if (!line.empty()) return line;
    if (proc.try_wait())
      throw Error(std::string(what) + " exited during start-up: " + read_text(log));
    if (deadline.expired())
      throw TimeoutError(std::string(what) + " did not get ready: " + read_text(log));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

ScratchDir::ScratchDir() {
  std::string tmpl = (fs::temp_directory_path() / "hpcless-lease-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw_system_error("mkdtemp");
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

ManagerProcess::ManagerProcess(const std::map<std::string, long long>& config) {
  nlohmann::json cfg = nlohmann::json::object();
  for (const auto& [k, v] : config) cfg[k] = v;
  const fs::path cfg_path = dir() / "manager.json";
  std::ofstream(cfg_path) << cfg.dump();
  const fs::path ready = dir() / "ready";
  const fs::path log = dir() / "manager.log";
  executor::SpawnOptions o;
  o.argv = {manager_binary(),
            "--config",
            cfg_path.string(),
            "--listen",
            "127.0.0.1:0",
            "--db",
            (dir() / "manager.db").string(),
            "--ready-file",
            ready.string()};
  o.extra_env = {std::string("HPCLESS_API_TOKEN=") + kApiToken,
                 std::string("HPCLESS_TOKEN_SECRET=") + kTokenSecret};
  o.stdout_path = log.string();
  o.stderr_path = log.string();
  proc_ = executor::ChildProcess::spawn(o);
  url_ = "http://" + wait_ready(proc_, ready, log, std::chrono::seconds(15), "hpcless-manager");
}

ManagerProcess::~ManagerProcess() { proc_.stop(std::chrono::milliseconds(3000)); }

std::string ManagerProcess::log() const { return read_text(dir() / "manager.log"); }

client::ManagerOptions ManagerProcess::options(const std::string& token) const {
  client::ManagerOptions o;
  o.url = url_;
  o.api_token = token;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.request_timeout = std::chrono::milliseconds(5000);
  return o;
}

ExecutorProcess::ExecutorProcess(const ManagerProcess& manager, const std::string& name,
                                 const std::string& cores, int grace_ms, const std::string& package,
                                 const std::vector<std::string>& extra_args) {
  const fs::path ready = dir_.path() / "ready";
  const fs::path log = dir_.path() / "executor.log";
  executor::SpawnOptions o;
  o.argv = {executor_binary(),
            "--manager",
            manager.url(),
            "--name",
            name,
            "--listen",
            "127.0.0.1:0",
            "--cores",
            cores,
            "--memory-mb",
            "512",
            "--package",
            package.empty() ? core_package() : package,
            "--grace-ms",
            std::to_string(grace_ms),
            "--ready-file",
            ready.string(),
            "--log-dir",
            dir_.path().string()};
  o.argv.insert(o.argv.end(), extra_args.begin(), extra_args.end());
  o.extra_env = {std::string("HPCLESS_API_TOKEN=") + kApiToken,
                 std::string("HPCLESS_TOKEN_SECRET=") + kTokenSecret};
  o.stdout_path = log.string();
  o.stderr_path = log.string();
  proc_ = executor::ChildProcess::spawn(o);
  address_ = wait_ready(proc_, ready, log, std::chrono::seconds(20), "hpcless-executor");
}

ExecutorProcess::~ExecutorProcess() { proc_.stop(std::chrono::milliseconds(5000)); }

std::string ExecutorProcess::log() const { return read_text(dir_.path() / "executor.log"); }

void wait_for_nodes(const client::LeaseClient& manager, const std::vector<std::string>& names,
                    std::chrono::milliseconds timeout) {
  const Deadline deadline = Deadline::after(timeout);
  while (true) {
    std::set<std::string> alive;
    for (const auto& n : manager.nodes())
      if (n.state == "alive") alive.insert(n.name);
    bool all = true;
    for (const auto& n : names) all = all && alive.count(n) > 0;
    if (all) return;
    if (deadline.expired()) throw TimeoutError("nodes did not all register in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void register_fake_node(const client::LeaseClient& manager, const std::string& name,
                        const std::string& address, int cores) {
  std::vector<int> list;
  for (int c = 0; c < cores; ++c) list.push_back(c);
  const nlohmann::json body = {{"name", name},
                               {"address", address},
                               {"cores", list},
                               {"memory_mb", 4096},
                               {"transports", {"tcp"}}};
  manager.request("POST", "/v1/nodes", &body);
}

CliResult run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env,
                  std::chrono::milliseconds timeout) {
  ScratchDir tmp;
  executor::SpawnOptions o;
  o.argv = {cli_binary()};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.extra_env = env;
  o.stdout_path = (tmp.path() / "out").string();
  o.stderr_path = (tmp.path() / "err").string();
  auto proc = executor::ChildProcess::spawn(o);
  CliResult r;
  const auto status = proc.wait(Deadline::after(timeout));
  if (!status) {
    proc.stop(std::chrono::milliseconds(100));
    r.err = "(killed after the timeout) ";
  } else if (WIFEXITED(*status)) {
    r.exit_code = WEXITSTATUS(*status);
  }
  r.out = read_text(tmp.path() / "out");
  r.err += read_text(tmp.path() / "err");
  return r;
}

}  // namespace hpcless::ltest
