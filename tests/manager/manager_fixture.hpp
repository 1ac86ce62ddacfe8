// Support for the manager tests: an in-process Manager on 127.0.0.1:0 with a temporary database,
// the real hpcless-manager binary as a child process, a small REST client, a read-only view of
// the state database, and waiting helpers. Every wait has a deadline.
//
// Thread safety: fixtures belong to the test's main thread; an Api object (one keep-alive
// connection) belongs to one thread at a time.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "comm/base/json.hpp"
#include "manager/config/manager_config.hpp"
#include "manager/manager.hpp"

namespace hpcless::mtest {

inline constexpr const char* kApiToken = "manager-tests-api-token";
inline constexpr const char* kTokenSecret = "manager-tests-token-secret-0123";

std::string manager_binary();

// A fresh directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const noexcept { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct Reply {
  int status = 0;       // 0: no answer
  nlohmann::json body;  // parsed when the answer is JSON, else null
  std::string raw;
  std::string error_message() const;  // body["error"] or ""
};

// One HTTP/1.1 client (keep-alive) per Api object; not for concurrent use of one object.
class Api {
 public:
  Api(std::string host, int port, std::string token = kApiToken);
  ~Api();
  Api(Api&&) noexcept;
  Api& operator=(Api&&) noexcept;
  Reply get(const std::string& path);
  Reply post(const std::string& path, const std::string& body);
  Reply post(const std::string& path, const nlohmann::json& body) {
    return post(path, body.dump());
  }
  Reply post(const std::string& path, const char* body) { return post(path, std::string(body)); }
  Reply put(const std::string& path, const std::string& body);
  Reply del(const std::string& path);
  // Without the Authorization header, or with an arbitrary one.
  Reply raw(const std::string& method, const std::string& path, const std::string& body,
            const std::optional<std::string>& authorization);

  // Shortcuts that fail the test on an unexpected status.
  void register_node(const std::string& name, std::vector<int> cores, uint64_t memory_mb = 0,
                     const std::string& address = "127.0.0.1:7101",
                     std::vector<std::string> transports = {"tcp"});
  nlohmann::json grant(const nlohmann::json& request);  // expects 201
  nlohmann::json heartbeat(const std::string& node,
                           const nlohmann::json& leases = nlohmann::json::array());
  nlohmann::json lease(const std::string& id);   // expects 200
  nlohmann::json node(const std::string& name);  // from GET /v1/nodes; null when unknown

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

manager::ManagerConfig test_config(const TempDir& dir);

// A Manager in this process on 127.0.0.1:0.
class InProcessManager {
 public:
  explicit InProcessManager(const manager::ManagerConfig& config);
  ~InProcessManager();
  int port() const noexcept { return port_; }
  Api api(const std::string& token = kApiToken) const { return Api("127.0.0.1", port_, token); }
  manager::Manager& manager() { return m_; }
  void stop() { m_.stop(); }

 private:
  manager::Manager m_;
  int port_ = 0;
};

// The real binary as a child process (stdout/stderr to a log file), stopped by the destructor.
class ManagerChild {
 public:
  // Starts it and waits (up to 20 s) for its ready file.
  ManagerChild(const std::string& config_path, const std::string& listen, const std::string& db,
               const std::string& dir);
  ~ManagerChild();
  ManagerChild(const ManagerChild&) = delete;
  ManagerChild& operator=(const ManagerChild&) = delete;
  const std::string& address() const noexcept { return address_; }
  int port() const;
  Api api() const;
  pid_t pid() const noexcept { return pid_; }
  void kill9();                                    // SIGKILL, as a crash; waits for it
  int terminate(std::chrono::milliseconds limit);  // SIGTERM; the raw wait status (-1: timed out)
  std::string log() const;

 private:
  std::optional<int> wait(std::chrono::milliseconds limit);
  pid_t pid_ = -1;
  std::string dir_, log_, address_;
};

// Read-only view of a state database (another SQLite connection).
class DbView {
 public:
  explicit DbView(const std::string& path);
  ~DbView();
  int64_t count(const std::string& sql);  // first column of the first row
  std::vector<std::vector<std::string>> rows(const std::string& sql);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Polls `pred` every 10 ms until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// Verifies a lease token with the tests' secret: the claims, or a test failure.
struct TokenClaims {
  bool ok = false;
  std::string lease, node, transport;
  std::vector<int> cores;
  uint64_t memory_mb = 0;
  int64_t expires_at_ms = 0;
  int32_t hot_timeout_ms = 0;
};
TokenClaims verify(const std::string& token);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);

}  // namespace hpcless::mtest
