#include "experiments/comm/services.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/base/fd.hpp"
#include "comm/base/json.hpp"
#include "comm/storage/redis_client.hpp"
#include "comm/storage/s3_client.hpp"

#ifndef HPCLESS_SOURCE_DIR
#define HPCLESS_SOURCE_DIR "."
#endif

namespace hpcless::experiments::comm_bench {

namespace fs = std::filesystem;

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(20);

int free_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_system_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) throw_system_error("bind");
  socklen_t len = sizeof(a);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw_system_error("getsockname");
  return ntohs(a.sin_port);
}

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(std::string(path != nullptr ? path : "") + ":/usr/sbin:/usr/local/bin");
  std::string d;
  while (std::getline(dirs, d, ':'))
    if (!d.empty() && ::access((d + "/" + name).c_str(), X_OK) == 0) return d + "/" + name;
  return {};
}

// fork + exec with output to `log`; the child dies with this thread.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& log, const fs::path& cwd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  UniqueFd out(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!out) throw_system_error("cannot open '" + log.string() + "'");
  const std::string dir = cwd.string();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw_system_error("fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::dup2(out.get(), STDOUT_FILENO);
    ::dup2(out.get(), STDERR_FILENO);
    if (::chdir(dir.c_str()) == 0) ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

std::string tail(const fs::path& log) {
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  return s.size() > 1500 ? s.substr(s.size() - 1500) : s;
}

bool exited(pid_t pid) {
  int st = 0;
  return ::waitpid(pid, &st, WNOHANG) == pid;
}

// Polls `ready` until it returns true, the process exits or the deadline passes.
bool wait_ready(pid_t pid, const std::function<bool()>& ready) {
  const Deadline d = Deadline::after(kStartTimeout);
  while (!d.expired()) {
    if (exited(pid)) return false;
    try {
      if (ready()) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

LocalServices::LocalServices(const fs::path& dir, const std::string& bucket) : dir_(dir) {
  std::error_code ec;
  fs::create_directories(dir_ / "s3-data", ec);
  if (ec) throw ConfigError("cannot create '" + dir_.string() + "': " + ec.message());
  const std::string redis = find_program("redis-server");
  if (redis.empty())
    throw ConfigError(
        "redis-server not found (Debian package redis-server; scripts/install-deps.sh)");
  const std::string node =
      !find_program("node").empty() ? find_program("node") : find_program("nodejs");
  if (node.empty()) throw ConfigError("node not found (needed by s3rver; scripts/install-deps.sh)");
  const char* env = std::getenv("HPCLESS_S3RVER");
  const std::string s3rver =
      env != nullptr && *env != '\0'
          ? std::string(env)
          : std::string(HPCLESS_SOURCE_DIR) + "/tests/s3/node_modules/.bin/s3rver";
  if (::access(s3rver.c_str(), R_OK) != 0)
    throw ConfigError("s3rver not found at " + s3rver +
                      " (scripts/install-deps.sh runs npm ci in tests/s3; or set HPCLESS_S3RVER)");

  try {
    storage::RedisConfig rc;
    for (int attempt = 0; attempt < 3 && redis_pid_ < 0; ++attempt) {
      redis_port_ = free_port();
      const pid_t pid = spawn({redis, "--port", std::to_string(redis_port_), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", dir_.string()},
                              dir_ / "redis.log", dir_);
      rc.port = redis_port_;
      rc.connect_timeout = std::chrono::milliseconds(1000);
      if (wait_ready(pid, [&] {
            storage::RedisClient c(rc);
            c.ping();
            return true;
          })) {
        redis_pid_ = pid;
      } else {
        pid_t p = pid;
        stop(p);
      }
    }
    if (redis_pid_ < 0)
      throw Error("redis-server did not start; log:\n" + tail(dir_ / "redis.log"));

    storage::S3Config sc;
    for (int attempt = 0; attempt < 3 && s3_pid_ < 0; ++attempt) {
      s3_port_ = free_port();
      // --openssl-legacy-provider: s3rver's listing tokens need OpenSSL 3's legacy provider.
      const pid_t pid =
          spawn({node, "--openssl-legacy-provider", s3rver, "-d", (dir_ / "s3-data").string(), "-a",
                 "127.0.0.1", "-p", std::to_string(s3_port_), "--configure-bucket", bucket},
                dir_ / "s3rver.log", dir_);
      sc.endpoint = "http://127.0.0.1:" + std::to_string(s3_port_);
      sc.access_key = "S3RVER";
      sc.secret_key = "S3RVER";
      sc.bucket = bucket;
      sc.retry.max_attempts = 1;
      if (wait_ready(pid, [&] { return storage::S3Client(sc).bucket_exists(bucket); })) {
        s3_pid_ = pid;
      } else {
        pid_t p = pid;
        stop(p);
      }
    }
    if (s3_pid_ < 0) throw Error("s3rver did not start; log:\n" + tail(dir_ / "s3rver.log"));
  } catch (...) {
    stop(redis_pid_);
    stop(s3_pid_);
    throw;
  }

  nlohmann::json cfg;
  cfg["comment"] = "written by hpcless experiment comm --start-services";
  cfg["storage"]["redis"] = {{"host", "127.0.0.1"}, {"port", redis_port_}};
  cfg["storage"]["s3"] = {{"endpoint", "http://127.0.0.1:" + std::to_string(s3_port_)},
                          {"region", "us-east-1"},
                          {"access_key", "S3RVER"},
                          {"secret_key", "S3RVER"},
                          {"bucket", bucket},
                          {"path_style", true}};
  config_ = dir_ / "services.json";
  std::ofstream out(config_);
  out << cfg.dump(2) << "\n";
  if (!out.flush()) {
    stop(redis_pid_);
    stop(s3_pid_);
    throw Error("cannot write '" + config_.string() + "'");
  }
}

LocalServices::~LocalServices() {
  stop(s3_pid_);
  stop(redis_pid_);
}

void LocalServices::stop(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  const Deadline d = Deadline::after(std::chrono::seconds(3));
  int st = 0;
  while (::waitpid(pid, &st, WNOHANG) == 0) {
    if (d.expired()) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid = -1;
}

}  // namespace hpcless::experiments::comm_bench
