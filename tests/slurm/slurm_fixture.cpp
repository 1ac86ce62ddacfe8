#include "tests/slurm/slurm_fixture.hpp"

#include <dirent.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"

using namespace std::chrono_literals;

namespace hpcless::stest {

std::string SlurmTest::setup_error_;
std::unique_ptr<test::SlurmCluster> SlurmTest::cluster_;

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* env = std::getenv("PATH");
  std::string path = std::string(env ? env : "/usr/bin:/bin") + ":/usr/sbin:/sbin";
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    const std::string p = dir + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

itest::RunResult run(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  const std::string p = find_program(argv.at(0));
  if (p.empty()) throw Error("'" + argv[0] + "' not found in PATH");
  argv[0] = p;
  return itest::run_to_exit(argv, timeout);
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto d = Deadline::after(timeout);
  while (!pred()) {
    if (d.expired()) return false;
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

void SlurmTest::SetUpTestSuite() {
  setup_error_.clear();
  // The shared fixture (tests/services/slurm_cluster.hpp): missing slurm-wlm or munge, or no
  // root, is a failure of every test, reported in SetUp.
  try {
    cluster_ = std::make_unique<test::SlurmCluster>();
  } catch (const std::exception& e) {
    setup_error_ = e.what();
    std::fprintf(stderr, "\n*** the Slurm tests cannot run: %s\n\n", e.what());
  }
}

void SlurmTest::TearDownTestSuite() { cluster_.reset(); }

void SlurmTest::SetUp() { ASSERT_TRUE(cluster_) << setup_error_; }

const std::string& SlurmTest::cluster_dir() { return cluster_->dir(); }

std::string SlurmTest::job_state(const std::string& job_id) {
  const auto r = run({"squeue", "--noheader", "--jobs=" + job_id, "--format=%T %r"});
  std::string s = r.out;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::vector<std::string> SlurmTest::queued_jobs(const std::string& name) {
  const auto r = run({"squeue", "--noheader", "--name=" + name, "--format=%i"});
  std::vector<std::string> out;
  std::stringstream ss(r.out);
  std::string line;
  while (std::getline(ss, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

OnDemandManager::OnDemandManager(const std::string& dir, OnDemandOptions opts) : dir_(dir) {
  char idle[32];
  std::snprintf(idle, sizeof(idle), "%g", opts.exit_when_idle_s);
  const nlohmann::json cfg = {
      {"listen", "127.0.0.1:0"},
      {"db", dir_ + "/manager.db"},
      {"api_token", kApiToken},
      {"token_secret", kTokenSecret},
      {"heartbeat_interval_ms", 200},
      {"dead_after_ms", 3000},
      {"on_demand",
       {{"enabled", true},
        {"script", std::string(HPCLESS_SOURCE_DIR) + "/slurm/hpcless-executor.sbatch"},
        {"partition", opts.partition},
        {"output", dir_ + "/job-%j.out"},
        {"executor_args",
         {"--executor", itest::executor_binary(), "--listen-host", "127.0.0.1",
          "--exit-when-idle-s", idle, "--package", itest::core_package(), "--grace-ms", "300",
          "--log-dir", dir_}},
        {"start_deadline_s", opts.start_deadline_s},
        {"time_margin_s", 30},
        {"poll_interval_ms", 100},
        {"command_timeout_s", 20}}}};
  {
    std::ofstream f(dir_ + "/manager.json");
    f << cfg.dump(2);
  }
  executor::SpawnOptions o;
  o.argv = {HPCLESS_MANAGER_BIN, "--config", dir_ + "/manager.json", "--ready-file",
            dir_ + "/manager.ready"};
  o.stdout_path = dir_ + "/manager.log";
  o.stderr_path = dir_ + "/manager.log";
  process_ = executor::ChildProcess::spawn(o);
  const auto d = Deadline::after(20s);
  while (true) {
    address_ = itest::read_file(dir_ + "/manager.ready");
    while (!address_.empty() && address_.back() == '\n') address_.pop_back();
    if (!address_.empty()) break;
    if (auto st = process_.try_wait())
      throw Error("hpcless-manager " + executor::describe_wait_status(*st) + ":\n" + log());
    if (d.expired()) throw Error("hpcless-manager not ready in 20 s:\n" + log());
    std::this_thread::sleep_for(10ms);
  }
  url_ = "http://" + address_;
}

OnDemandManager::~OnDemandManager() {
  if (::testing::Test::HasFailure())
    std::fprintf(stderr, "--- manager log ---\n%s\n", log().c_str());
  if (process_.running()) process_.stop(5000ms);
}

std::string OnDemandManager::log() const { return itest::read_file(dir_ + "/manager.log"); }

std::string OnDemandManager::job_output(const std::string& job_id) const {
  return itest::read_file(dir_ + "/job-" + job_id + ".out");
}

nlohmann::json OnDemandManager::get(const std::string& path, int* status) const {
  const auto colon = address_.rfind(':');
  httplib::Client cli(address_.substr(0, colon), std::stoi(address_.substr(colon + 1)));
  cli.set_connection_timeout(2s);
  cli.set_read_timeout(10s);
  cli.set_bearer_token_auth(kApiToken);
  auto r = cli.Get(path);
  if (status) *status = r ? r->status : 0;
  if (!r) return nullptr;
  return nlohmann::json::parse(r->body, nullptr, false);
}

std::string OnDemandManager::metrics() const {
  const auto colon = address_.rfind(':');
  httplib::Client cli(address_.substr(0, colon), std::stoi(address_.substr(colon + 1)));
  cli.set_bearer_token_auth(kApiToken);
  auto r = cli.Get("/metrics");
  return r ? r->body : "";
}

itest::RunResult OnDemandManager::cli(std::vector<std::string> args,
                                      std::chrono::milliseconds timeout) const {
  ::setenv("HPCLESS_MANAGER", url_.c_str(), 1);
  ::setenv("HPCLESS_API_TOKEN", kApiToken, 1);
  args.insert(args.begin(), itest::cli_binary());
  return itest::run_to_exit(args, timeout);
}

std::string process_with_args(const std::vector<std::string>& args) {
  DIR* d = ::opendir("/proc");
  if (!d) return "";
  std::string found;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // itest::read_file: a process that exits meanwhile reads as empty instead of throwing.
    std::string cmd = itest::read_file("/proc/" + name + "/cmdline");
    std::vector<std::string> argv;
    size_t start = 0;
    while (start < cmd.size()) {
      const size_t end = cmd.find('\0', start);
      argv.push_back(cmd.substr(start, end == std::string::npos ? end : end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    bool all = !args.empty();
    for (const auto& a : args) all = all && std::find(argv.begin(), argv.end(), a) != argv.end();
    if (all && itest::process_alive(std::stoi(name))) {
      for (char& c : cmd)
        if (c == '\0') c = ' ';
      found = name + ": " + cmd;
      break;
    }
  }
  ::closedir(d);
  return found;
}

}  // namespace hpcless::stest
