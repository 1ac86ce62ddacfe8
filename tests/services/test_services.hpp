// Real servers for tests: a throwaway redis-server and an s3rver (S3 in Node.js), each in its own
// temporary directory on a free loopback port, stopped and removed when the fixture object dies.
//
//   hpcless::test::RedisServer redis;                 // started and answering PING
//   hpcless::storage::RedisClient c(redis.config());
//
//   hpcless::test::S3Server s3({"bench"});            // started, bucket "bench" exists
//   hpcless::storage::S3Client client(s3.config("bench"));
//
// A missing server binary is a test FAILURE (never a skip): the constructor throws ConfigError
// telling to run scripts/install-deps.sh. Start-up waits are bounded (default 20 s); a server that
// dies or does not answer in time throws with the tail of its log. A port taken between choosing
// and binding it is retried with another port.
//
// Servers get SIGKILL when the thread that started them ends (PR_SET_PDEATHSIG), so create a
// fixture on a thread that outlives it (normally the test's main thread).
// Thread safety: one owner thread per fixture object; the accessors (port(), config(), ...) may be
// called from any thread while the owner does not stop/start the server.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "comm/storage/storage_config.hpp"
#include "tests/services/child.hpp"

namespace hpcless::test {

// A temporary directory (mkdtemp under $TMPDIR or /tmp), removed recursively on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "hpcless-test");
  ~TempDir();
  TempDir(TempDir&&) noexcept;
  TempDir& operator=(TempDir&&) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// A free TCP port on 127.0.0.1 (bind port 0, read it, close). Another process may take it before
// it is used: starters retry on failure.
int find_free_port();

// Absolute path of an executable found in $PATH (plus /usr/sbin, /usr/local/bin), or "".
std::string find_executable(const std::string& name);

struct ServerOptions {
  std::chrono::milliseconds start_timeout{20000};  // until the server answers
  int start_attempts = 4;                          // ports tried before giving up
};

class RedisServer {
 public:
  // Starts `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no` in a temp dir.
  // `extra_args` are appended (e.g. {"--requirepass", "secret"}).
  explicit RedisServer(std::vector<std::string> extra_args = {}, ServerOptions options = {});
  ~RedisServer();  // stops the server (SIGTERM, SIGKILL after 2 s) and removes the directory
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  const std::string& host() const noexcept { return host_; }  // "127.0.0.1"
  int port() const noexcept { return port_; }
  pid_t pid() const noexcept { return child_.pid(); }
  bool running() const noexcept { return child_.running(); }
  const std::string& dir() const noexcept { return dir_.path(); }
  std::string log_tail(size_t max_bytes = 2000) const;

  // A client configuration for this server (short timeouts suited to tests).
  storage::RedisConfig config() const;

  void stop();     // SIGTERM and wait (SIGKILL fallback)
  void kill();     // SIGKILL and reap: simulates a crash
  void suspend();  // SIGSTOP: connections stay open but nothing answers (a hung server)
  void resume();   // SIGCONT
  // Starts the server again on the same port (after stop()/kill()); waits until it answers.
  void restart();

 private:
  void start_on(int port);
  bool wait_ready(std::chrono::milliseconds timeout);

  TempDir dir_;
  std::vector<std::string> extra_args_;
  ServerOptions options_;
  std::string exe_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  Child child_;
};

class S3Server {
 public:
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";

  // Starts `node s3rver -d DIR -a 127.0.0.1 -p P --configure-bucket B...` and waits until every
  // bucket answers. s3rver is found at $HPCLESS_S3RVER or tests/s3/node_modules/.bin/s3rver.
  explicit S3Server(std::vector<std::string> buckets = {}, ServerOptions options = {});
  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  int port() const noexcept { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  pid_t pid() const noexcept { return child_.pid(); }
  bool running() const noexcept { return child_.running(); }
  std::string data_dir() const { return dir_.path() + "/data"; }  // s3rver -d
  std::string log_tail(size_t max_bytes = 2000) const;

  // A client configuration for this server: path style, S3RVER credentials, `bucket` as the
  // default bucket, short timeouts and a fast retry policy (3 attempts, 50 ms initial backoff,
  // 5 s deadline) suited to tests.
  storage::S3Config config(const std::string& bucket = {}) const;

  void stop();     // SIGTERM and wait (SIGKILL fallback)
  void kill();     // SIGKILL and reap: simulates a crash
  void suspend();  // SIGSTOP: the port stays open but nothing answers (simulates a hung server)
  void resume();   // SIGCONT
  // Starts s3rver again on the same port and data directory (objects survive a restart).
  void restart();

 private:
  void start_on(int port);
  bool wait_ready(std::chrono::milliseconds timeout);

  TempDir dir_;
  std::vector<std::string> buckets_;
  ServerOptions options_;
  std::string node_;
  std::string script_;
  int port_ = 0;
  Child child_;
};

}  // namespace hpcless::test
