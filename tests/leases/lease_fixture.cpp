#include "tests/leases/lease_fixture.hpp"

#include <httplib.h>
#include <signal.h>

#include <thread>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"

using namespace std::chrono_literals;

namespace hpcless::ltest {

std::string manager_binary() { return HPCLESS_MANAGER_BIN; }

namespace {

// Waits for a daemon's ready file (written atomically once it serves) and returns its content.
std::string wait_ready(const std::string& file, executor::ChildProcess& p, const std::string& what,
                       const std::function<std::string()>& log) {
  const auto deadline = Deadline::after(20s);
  while (true) {
    std::string text = itest::read_file(file);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (!text.empty()) return text;
    if (auto st = p.try_wait())
      throw Error(what + " " + executor::describe_wait_status(*st) + " before serving; its log:\n" +
                  log());
    if (deadline.expired()) throw Error(what + " did not become ready in 20 s; its log:\n" + log());
    std::this_thread::sleep_for(10ms);
  }
}

std::vector<std::string> secrets_env() {
  return {std::string("HPCLESS_API_TOKEN=") + kApiToken,
          std::string("HPCLESS_TOKEN_SECRET=") + kTokenSecret};
}

}  // namespace

HttpResult ManagerApi::call(const std::string& method, const std::string& path,
                            const std::string& body) const {
  const auto colon = address_.rfind(':');
  httplib::Client cli(address_.substr(0, colon), std::stoi(address_.substr(colon + 1)));
  cli.set_connection_timeout(2s);
  cli.set_read_timeout(10s);
  if (!token_.empty()) cli.set_bearer_token_auth(token_);
  httplib::Result r = method == "GET"      ? cli.Get(path)
                      : method == "DELETE" ? cli.Delete(path)
                      : method == "PUT"    ? cli.Put(path, body, "application/json")
                                           : cli.Post(path, body, "application/json");
  HttpResult out;
  if (!r) return out;
  out.status = r->status;
  out.raw = r->body;
  out.body = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  return out;
}

nlohmann::json ManagerApi::acquire(int cores, double seconds, uint64_t memory_mb,
                                   int hot_timeout_ms) const {
  nlohmann::json req = {{"cores", cores},
                        {"seconds", seconds},
                        {"memory_mb", memory_mb},
                        {"hot_timeout_ms", hot_timeout_ms}};
  auto r = call("POST", "/v1/leases", req.dump());
  EXPECT_EQ(r.status, 201) << r.raw;
  return r.body;
}

nlohmann::json ManagerApi::lease(const std::string& id) const {
  auto r = call("GET", "/v1/leases/" + id);
  EXPECT_EQ(r.status, 200) << r.raw;
  return r.body;
}

ManagerProcess::ManagerProcess(ManagerOptions opts) : opts_(opts) { start(); }

ManagerProcess::~ManagerProcess() {
  if (::testing::Test::HasFailure()) std::fprintf(stderr, "--- manager log ---\n%s\n", log().c_str());
  if (process_.running()) process_.stop(3000ms);
}

void ManagerProcess::start() {
  nlohmann::json cfg = {{"heartbeat_interval_ms", opts_.heartbeat_interval_ms},
                        {"dead_after_ms", opts_.dead_after_ms}};
  itest::write_file(dir_.file("manager.json"), itest::to_bytes(cfg.dump()));
  std::remove(dir_.file("ready").c_str());
  executor::SpawnOptions o;
  o.argv = {manager_binary(), "--config",     dir_.file("manager.json"), "--listen", listen_,
            "--db",           dir_.file("state.db"), "--ready-file", dir_.file("ready")};
  o.extra_env = secrets_env();
  o.stdout_path = dir_.file("manager.log");
  o.stderr_path = dir_.file("manager.log");
  process_ = executor::ChildProcess::spawn(o);
  address_ = wait_ready(dir_.file("ready"), process_, "hpcless-manager", [this] { return log(); });
  listen_ = address_;  // a restart comes back on the same port, as a real deployment would
}

void ManagerProcess::kill9() {
  process_.signal(SIGKILL);
  process_.wait(Deadline::after(5s));
}

void ManagerProcess::restart() {
  if (process_.running()) kill9();
  start();
}

std::string ManagerProcess::log() const { return itest::read_file(dir_.file("manager.log")); }

NodeProcess::NodeProcess(const ManagerProcess& manager, NodeOptions opts) : opts_(std::move(opts)) {
  executor::SpawnOptions o;
  o.argv = {itest::executor_binary(), "--manager",  manager.url(),
            "--name",                 opts_.name,   "--listen",
            "127.0.0.1:0",            "--cores",    opts_.cores,
            "--memory-mb",            std::to_string(opts_.memory_mb),
            "--package",              opts_.package, "--grace-ms",
            std::to_string(opts_.grace_ms), "--ready-file", dir_.file("ready")};
  o.argv.insert(o.argv.end(), opts_.extra_args.begin(), opts_.extra_args.end());
  o.extra_env = secrets_env();
  o.stdout_path = dir_.file("executor.log");
  o.stderr_path = dir_.file("executor.log");
  process_ = executor::ChildProcess::spawn(o);
  address_ = wait_ready(dir_.file("ready"), process_, "hpcless-executor --manager",
                        [this] { return log(); });
}

NodeProcess::~NodeProcess() {
  if (::testing::Test::HasFailure())
    std::fprintf(stderr, "--- executor %s log ---\n%s\n", opts_.name.c_str(), log().c_str());
  if (process_.running()) process_.stop(3000ms);
}

void NodeProcess::kill9() {
  process_.signal(SIGKILL);
  process_.wait(Deadline::after(5s));
}

std::string NodeProcess::log() const { return itest::read_file(dir_.file("executor.log")); }

std::unique_ptr<client::Connection> connect_allocation(const nlohmann::json& allocation,
                                                        itest::Mode mode) {
  auto o = itest::connect_options(mode);
  o.token = allocation.at("token").get<std::string>();
  return client::Connection::connect(allocation.at("address").get<std::string>(), o);
}

client::InvocationResult call(client::Connection& c, const std::string& function,
                              const std::string& input) {
  client::InvocationResult r;
  const auto bytes = itest::to_bytes(input);
  c.invoke(c.function_id(function), bytes, r, Deadline::after(5s));
  return r;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = Deadline::after(timeout);
  while (!pred()) {
    if (deadline.expired()) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

}  // namespace hpcless::ltest
