// Support for the lease tests: a real hpcless-manager and real managed hpcless-executor daemons
// (RAII child processes on loopback, port 0), and a small REST client for the manager.
//
// Thread safety: fixtures belong to the test's main thread; ManagerApi may be used from several
// threads (one httplib client per call).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "client/lib/connection.hpp"
#include "comm/base/json.hpp"
#include "executor/spawn/child_process.hpp"
#include "tests/integration/executor_fixture.hpp"

namespace hpcless::ltest {

inline constexpr const char* kApiToken = "lease-tests-api-token";
inline constexpr const char* kTokenSecret = "lease-tests-token-secret-0123456789";

std::string manager_binary();

struct HttpResult {
  int status = 0;  // 0: no answer (connection failed)
  nlohmann::json body;
  std::string raw;
};

class ManagerApi {
 public:
  explicit ManagerApi(std::string address, std::string token = kApiToken)
      : address_(std::move(address)), token_(std::move(token)) {}
  HttpResult call(const std::string& method, const std::string& path,
                  const std::string& body = "") const;
  // POST /v1/leases; expects 201 (the test fails otherwise) and returns the lease.
  nlohmann::json acquire(int cores, double seconds, uint64_t memory_mb = 0,
                         int hot_timeout_ms = 0) const;
  nlohmann::json lease(const std::string& id) const;  // GET, expects 200
  std::string url() const { return "http://" + address_; }

 private:
  std::string address_;
  std::string token_;
};

struct ManagerOptions {
  int heartbeat_interval_ms = 100;
  int dead_after_ms = 1500;
};

class ManagerProcess {
 public:
  explicit ManagerProcess(ManagerOptions opts = {});
  ~ManagerProcess();
  const std::string& address() const noexcept { return address_; }
  std::string url() const { return "http://" + address_; }
  ManagerApi api() const { return ManagerApi(address_); }
  void kill9();   // SIGKILL, as a crash
  void restart(); // same database and port
  std::string log() const;

 private:
  void start();
  ManagerOptions opts_;
  itest::TempDir dir_;
  std::string address_;
  std::string listen_ = "127.0.0.1:0";
  executor::ChildProcess process_;
};

struct NodeOptions {
  std::string name = "n0";
  std::string cores = "0";
  uint64_t memory_mb = 4096;
  std::string package = itest::test_package();
  int grace_ms = 300;
  std::vector<std::string> extra_args;  // further hpcless-executor flags (e.g. --rdma-address)
};

class NodeProcess {
 public:
  NodeProcess(const ManagerProcess& manager, NodeOptions opts = {});
  ~NodeProcess();
  const std::string& address() const noexcept { return address_; }
  pid_t pid() const noexcept { return process_.pid(); }
  void kill9();
  std::string log() const;

 private:
  NodeOptions opts_;
  itest::TempDir dir_;
  std::string address_;
  executor::ChildProcess process_;
};

// Connects to one allocation of a lease with its token.
std::unique_ptr<client::Connection> connect_allocation(const nlohmann::json& allocation,
                                                        itest::Mode mode = itest::Mode::kWarm);

// Invokes `function` once with a 5 s deadline.
client::InvocationResult call(client::Connection& c, const std::string& function,
                              const std::string& input);

// Polls `pred` every 20 ms until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

}  // namespace hpcless::ltest
