#include "tests/services/test_services.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "comm/base/error.hpp"
#include "comm/base/fd.hpp"
#include "comm/storage/s3_client.hpp"

#ifndef HPCLESS_SOURCE_DIR
#error "HPCLESS_SOURCE_DIR must be defined by the build"
#endif

namespace hpcless::test {

namespace {

constexpr const char* kInstallHint =
    "run scripts/install-deps.sh (as root) to install the test servers";

std::string read_tail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no log)";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > max_bytes) s = "..." + s.substr(s.size() - max_bytes);
  return s;
}

// Connects to 127.0.0.1:port; returns an invalid fd when nothing listens.
UniqueFd connect_loopback(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_system_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return UniqueFd();
  return fd;
}

// Sends PING and waits up to 500 ms for an answer: +PONG, or -NOAUTH from a server started with
// --requirepass (it is up either way).
bool redis_answers(int port) {
  UniqueFd fd = connect_loopback(port);
  if (!fd) return false;
  static constexpr char kPing[] = "PING\r\n";
  if (::send(fd.get(), kPing, sizeof(kPing) - 1, MSG_NOSIGNAL) != sizeof(kPing) - 1) return false;
  pollfd p{fd.get(), POLLIN, 0};
  if (::poll(&p, 1, 500) != 1) return false;
  char buf[16] = {0};
  const ssize_t n = ::recv(fd.get(), buf, sizeof(buf) - 1, 0);
  return n >= 5 && (std::strncmp(buf, "+PONG", 5) == 0 || std::strncmp(buf, "-NOAUTH", 5) == 0);
}

}  // namespace

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw_system_error("mkdtemp " + templ);
  path_ = templ;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

TempDir::TempDir(TempDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& o) noexcept {
  if (this != &o) {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
    path_ = std::exchange(o.path_, {});
  }
  return *this;
}

int find_free_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_system_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
    throw_system_error("bind 127.0.0.1:0");
  socklen_t len = sizeof(a);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw_system_error("getsockname");
  return ntohs(a.sin_port);
}

std::string find_executable(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::string p(path);
    size_t start = 0;
    while (start <= p.size()) {
      const size_t end = p.find(':', start);
      dirs.push_back(p.substr(start, end == std::string::npos ? std::string::npos : end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  for (const char* d : {"/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin"}) dirs.emplace_back(d);
  for (const auto& d : dirs) {
    if (d.empty() || d.front() != '/') continue;
    const std::string candidate = d + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// ---------------------------------------------------------------- RedisServer

RedisServer::RedisServer(std::vector<std::string> extra_args, ServerOptions options)
    : dir_("hpcless-redis"), extra_args_(std::move(extra_args)), options_(options) {
  exe_ = find_executable("redis-server");
  if (exe_.empty())
    throw ConfigError(std::string("redis-server not found in PATH: ") + kInstallHint +
                      " (Debian package redis-server)");
  std::string last_log;
  for (int attempt = 0; attempt < options_.start_attempts; ++attempt) {
    const int port = find_free_port();
    start_on(port);
    if (wait_ready(options_.start_timeout)) {
      port_ = port;
      return;
    }
    last_log = log_tail();
    if (child_.running())  // alive but silent: retrying on another port would not help
      break;
  }
  child_.kill();
  throw Error("redis-server did not start (tried " + std::to_string(options_.start_attempts) +
              " ports, " + std::to_string(options_.start_timeout.count()) + " ms each); log:\n" +
              last_log);
}

RedisServer::~RedisServer() = default;

void RedisServer::start_on(int port) {
  std::vector<std::string> argv{exe_,     "--port",       std::to_string(port),
                                "--bind", "127.0.0.1",    "--save",
                                "",       "--appendonly", "no",
                                "--dir",  dir_.path(),    "--daemonize",
                                "no",     "--logfile",    ""};
  for (const auto& a : extra_args_) argv.push_back(a);
  child_ = Child::spawn(argv, dir_.path() + "/redis.log", dir_.path());
  port_ = port;
}

bool RedisServer::wait_ready(std::chrono::milliseconds timeout) {
  const Deadline deadline = Deadline::after(timeout);
  while (!deadline.expired()) {
    if (child_.try_wait()) return false;
    if (redis_answers(port_)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string RedisServer::log_tail(size_t max_bytes) const {
  return read_tail(dir_.path() + "/redis.log", max_bytes);
}

storage::RedisConfig RedisServer::config() const {
  storage::RedisConfig c;
  c.host = host_;
  c.port = port_;
  c.connect_timeout = std::chrono::milliseconds(2000);
  c.command_timeout = std::chrono::milliseconds(5000);
  return c;
}

void RedisServer::stop() { child_.stop(); }
void RedisServer::kill() { child_.kill(); }
void RedisServer::suspend() { child_.signal(SIGSTOP); }
void RedisServer::resume() { child_.signal(SIGCONT); }

void RedisServer::restart() {
  if (child_.running()) child_.stop();
  start_on(port_);
  if (!wait_ready(options_.start_timeout)) {
    child_.kill();
    throw Error("redis-server did not restart on port " + std::to_string(port_) + "; log:\n" +
                log_tail());
  }
}

// ---------------------------------------------------------------- S3Server

S3Server::S3Server(std::vector<std::string> buckets, ServerOptions options)
    : dir_("hpcless-s3rver"), buckets_(std::move(buckets)), options_(options) {
  node_ = find_executable("node");
  if (node_.empty()) node_ = find_executable("nodejs");
  if (node_.empty())
    throw ConfigError(std::string("node not found in PATH (needed by s3rver): ") + kInstallHint +
                      " (Debian packages nodejs npm)");
  const char* env = std::getenv("HPCLESS_S3RVER");
  const std::string bin =
      env && *env ? std::string(env)
                  : std::string(HPCLESS_SOURCE_DIR) + "/tests/s3/node_modules/.bin/s3rver";
  char resolved[PATH_MAX];
  if (::realpath(bin.c_str(), resolved) == nullptr || ::access(resolved, R_OK) != 0)
    throw ConfigError(
        "s3rver not found at " + bin + ": " + kInstallHint +
        " (it runs npm ci in tests/s3), or set HPCLESS_S3RVER to s3rver's bin script");
  script_ = resolved;
  std::filesystem::create_directories(data_dir());
  std::string last_log;
  for (int attempt = 0; attempt < options_.start_attempts; ++attempt) {
    const int port = find_free_port();
    start_on(port);
    if (wait_ready(options_.start_timeout)) return;
    last_log = log_tail();
    if (child_.running()) break;
  }
  child_.kill();
  throw Error("s3rver did not start (tried up to " + std::to_string(options_.start_attempts) +
              " ports, " + std::to_string(options_.start_timeout.count()) + " ms each); log:\n" +
              last_log);
}

S3Server::~S3Server() = default;

std::string S3Server::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

void S3Server::start_on(int port) {
  // --service-endpoint localhost: <bucket>.s3.localhost is a virtual-host style address, so
  // tests can exercise both addressing styles.
  // --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with DES, which
  // OpenSSL 3 (Node >= 17) only offers from its legacy provider; without it every second page
  // of a listing is a 500 InternalError.
  std::vector<std::string> argv{node_,
                                "--openssl-legacy-provider",
                                script_,
                                "-d",
                                data_dir(),
                                "-a",
                                "127.0.0.1",
                                "-p",
                                std::to_string(port),
                                "--service-endpoint",
                                "localhost"};
  for (const auto& b : buckets_) {
    argv.push_back("--configure-bucket");
    argv.push_back(b);
  }
  child_ = Child::spawn(argv, dir_.path() + "/s3rver.log", dir_.path());
  port_ = port;
}

bool S3Server::wait_ready(std::chrono::milliseconds timeout) {
  const Deadline deadline = Deadline::after(timeout);
  while (!deadline.expired()) {
    if (child_.try_wait()) return false;
    if (connect_loopback(port_)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (deadline.expired()) return false;
  storage::S3Config probe = config();
  probe.retry.max_attempts = 1;
  storage::S3Client client(probe);
  for (const auto& b : buckets_) {
    while (true) {
      if (child_.try_wait()) return false;
      try {
        if (client.bucket_exists(b)) break;
      } catch (const storage::StorageError&) {
      }
      if (deadline.expired()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return true;
}

std::string S3Server::log_tail(size_t max_bytes) const {
  return read_tail(dir_.path() + "/s3rver.log", max_bytes);
}

storage::S3Config S3Server::config(const std::string& bucket) const {
  storage::S3Config c;
  c.endpoint = endpoint();
  c.region = "us-east-1";
  c.access_key = kAccessKey;
  c.secret_key = kSecretKey;
  c.bucket = bucket;
  c.path_style = true;
  c.connect_timeout = std::chrono::milliseconds(1000);
  c.request_timeout = std::chrono::milliseconds(5000);
  c.retry.max_attempts = 3;
  c.retry.initial_backoff = std::chrono::milliseconds(50);
  c.retry.max_backoff = std::chrono::milliseconds(500);
  c.retry.deadline = std::chrono::milliseconds(5000);
  return c;
}

void S3Server::stop() { child_.stop(); }
void S3Server::kill() { child_.kill(); }
void S3Server::suspend() { child_.signal(SIGSTOP); }
void S3Server::resume() { child_.signal(SIGCONT); }

void S3Server::restart() {
  if (child_.running()) child_.stop();
  start_on(port_);
  if (!wait_ready(options_.start_timeout)) {
    child_.kill();
    throw Error("s3rver did not restart on port " + std::to_string(port_) + "; log:\n" +
                log_tail());
  }
}

}  // namespace hpcless::test
