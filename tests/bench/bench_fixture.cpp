#include "tests/bench/bench_fixture.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/base/json.hpp"

namespace hpcless::benchtest {

using namespace std::chrono_literals;

std::string executor_binary() { return HPCLESS_EXECUTOR_BIN; }
std::string cli_binary() { return HPCLESS_CLI_BIN; }
std::string core_package() { return HPCLESS_CORE_PACKAGE; }
std::string packages_dir() { return HPCLESS_BENCH_PACKAGES_DIR; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::byte> read_bytes(const std::string& path) {
  const std::string s = read_file(path);
  if (s.empty()) throw Error("cannot read " + path);
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

namespace {
void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) throw Error("cannot write " + path);
}
}  // namespace

Services::Services() : dir_("hpcless-benchtest"), s3_({"bench"}) {
  nlohmann::json s3 = {{"endpoint", s3_.endpoint()},
                       {"access_key", test::S3Server::kAccessKey},
                       {"secret_key", test::S3Server::kSecretKey},
                       {"bucket", "bench"},
                       {"path_style", true},
                       {"request_timeout_ms", 20000},
                       {"retry", {{"max_attempts", 3}, {"deadline_ms", 20000}}}};
  nlohmann::json redis = {{"host", redis_.host()}, {"port", redis_.port()}};
  storage_file_ = dir_.path() + "/storage.json";
  write_text(storage_file_, nlohmann::json{{"comment", "written by the bench tests"},
                                           {"storage", {{"s3", s3}, {"redis", redis}}}}
                                .dump(2));
}

Executor::Executor(const std::string& storage_file) : dir_("hpcless-benchexec") {
  const std::string ready = dir_.path() + "/ready";
  log_file_ = dir_.path() + "/executor.log";
  executor::SpawnOptions o;
  o.argv = {executor_binary(), "--standalone", "--listen", "127.0.0.1:0", "--package",
            core_package(),    "--ready-file", ready,      "--node-name", "bench-node"};
  if (!storage_file.empty()) {
    o.argv.push_back("--config");
    o.argv.push_back(storage_file);
  }
  // Whatever the test's environment says, storage comes only from --config here (the child
  // inherits our environment; the test's main thread is the only one touching it).
  ::unsetenv("HPCLESS_STORAGE_CONFIG");
  o.stdout_path = log_file_;
  o.stderr_path = log_file_;
  process_ = executor::ChildProcess::spawn(o);
  const auto deadline = Deadline::after(20s);
  while (true) {
    std::string text = read_file(ready);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (!text.empty()) {
      address_ = text;
      return;
    }
    if (auto st = process_.try_wait())
      throw Error("hpcless-executor " + executor::describe_wait_status(*st) +
                  " before serving; its log:\n" + log());
    if (deadline.expired()) {
      process_.stop(1000ms);
      throw TimeoutError("hpcless-executor wrote no ready file within 20 s; its log:\n" + log());
    }
    std::this_thread::sleep_for(5ms);
  }
}

Executor::~Executor() {
  if (process_.running()) {
    const int status = process_.stop(10s);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
      ADD_FAILURE() << "hpcless-executor did not stop cleanly: "
                    << executor::describe_wait_status(status);
  }
  const std::string text = log();
  for (const char* marker : {"runtime error:", "ERROR: LeakSanitizer", "ERROR: AddressSanitizer"})
    if (text.find(marker) != std::string::npos)
      ADD_FAILURE() << "the executor's log holds a sanitizer report (" << marker << ")";
  if (::testing::Test::HasFailure())
    std::cerr << "---- hpcless-executor log ----\n" << text << "---- end of log ----\n";
}

std::string Executor::log() const { return read_file(log_file_); }

std::unique_ptr<client::Connection> Executor::connect() const {
  client::ConnectOptions o;
  o.client_name = "bench-test";
  o.hot_timeout_ms = protocol::kWarmAlways;
  o.busy_poll = false;
  o.connect_timeout = 10s;
  return client::Connection::connect(address_, o);
}

Loaded load_benchmark(const Executor& exec, const bench::BenchmarkSpec& spec) {
  Loaded l;
  l.conn = exec.connect();
  l.conn->load_package(read_bytes(packages_dir() + "/" + spec.package), Deadline::after(30s));
  l.function_id = l.conn->function_id(spec.function);
  return l;
}

int RunResult::exit_code() const {
  return wait_status && WIFEXITED(*wait_status) ? WEXITSTATUS(*wait_status) : -1;
}

RunResult run_to_exit(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  test::TempDir dir("hpcless-benchrun");
  executor::SpawnOptions o;
  o.argv = argv;
  o.stdout_path = dir.path() + "/stdout";
  o.stderr_path = dir.path() + "/stderr";
  auto child = executor::ChildProcess::spawn(o);
  RunResult r;
  r.wait_status = child.wait(Deadline::after(timeout));
  if (!r.wait_status) child.stop(500ms);
  r.out = read_file(o.stdout_path);
  r.err = read_file(o.stderr_path);
  return r;
}

}  // namespace hpcless::benchtest
