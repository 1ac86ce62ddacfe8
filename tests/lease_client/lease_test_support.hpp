// Support for the lease tests: a real hpcless-manager process (RAII), managed executors, running
// the `hpcless` CLI to completion, scratch folders. Everything binds 127.0.0.1 port 0.
//
// Thread safety: objects are owned by the test's main thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client/lib/lease_client.hpp"
#include "executor/spawn/child_process.hpp"

namespace hpcless::ltest {

std::string manager_binary();
std::string executor_binary();
std::string cli_binary();
std::string core_package();

// The bytes of `s` (function inputs).
std::vector<std::byte> bytes(std::string_view s);

// A fresh folder under /tmp, removed (with its contents) on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

inline constexpr const char* kApiToken = "lease-test-api-token-0123456789";
inline constexpr const char* kTokenSecret = "lease-test-token-secret-0123456789";

// hpcless-manager on 127.0.0.1:0 with its own database, started by the constructor (which
// waits for the ready file, up to 15 s) and stopped by the destructor.
class ManagerProcess {
 public:
  // `config` keys are written to a JSON config file (e.g. dead_after_ms).
  explicit ManagerProcess(const std::map<std::string, long long>& config = {});
  ~ManagerProcess();
  ManagerProcess(const ManagerProcess&) = delete;
  ManagerProcess& operator=(const ManagerProcess&) = delete;

  const std::string& url() const noexcept { return url_; }
  client::ManagerOptions options(const std::string& token = kApiToken) const;
  const std::filesystem::path& dir() const noexcept { return dir_.path(); }
  std::string log() const;

 private:
  ScratchDir dir_;
  executor::ChildProcess proc_;
  std::string url_;
};

// hpcless-executor in managed mode, registered with the manager under `name` (the constructor
// waits for its ready file, up to 20 s).
class ExecutorProcess {
 public:
  // `package`: the package the executor serves (empty: the core functions); `extra_args` are
  // appended to its command line (e.g. {"--rdma-address", ADDR}).
  ExecutorProcess(const ManagerProcess& manager, const std::string& name, const std::string& cores,
                  int grace_ms = 2000, const std::string& package = "",
                  const std::vector<std::string>& extra_args = {});
  ~ExecutorProcess();
  ExecutorProcess(const ExecutorProcess&) = delete;
  ExecutorProcess& operator=(const ExecutorProcess&) = delete;

  const std::string& address() const noexcept { return address_; }
  std::string log() const;

 private:
  ScratchDir dir_;
  executor::ChildProcess proc_;
  std::string address_;
};

// Waits until the manager lists every name as alive (throws TimeoutError after `timeout`).
void wait_for_nodes(const client::LeaseClient& manager, const std::vector<std::string>& names,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Registers a node that has no executor behind it (a bare record for lease-API tests).
void register_fake_node(const client::LeaseClient& manager, const std::string& name,
                        const std::string& address, int cores);

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the hpcless CLI with `args` (and extra "NAME=value" environment entries) to completion;
// killed after `timeout`.
CliResult run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(60));

std::string read_text(const std::filesystem::path& p);

}  // namespace hpcless::ltest
