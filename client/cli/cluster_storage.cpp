#include "client/cli/cluster_storage.hpp"

#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "client/cli/cluster_state.hpp"
#include "comm/base/error.hpp"
#include "comm/base/json.hpp"
#include "comm/transport/tcp/endpoint.hpp"

namespace hpcless::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kInstallHint = "run scripts/install-deps.sh";

// A port the kernel considers free now. Another process may take it before the server binds;
// the server then fails to start and `cluster up` says so with its log.
int free_port(const std::string& host) {
  const tcp::Listener l(tcp::Endpoint{host, 0});
  return l.bound_endpoint().port;
}

std::string s3rver_script() {
  if (const char* e = std::getenv("HPCLESS_S3RVER"); e != nullptr && *e != 0) {
    if (::access(e, R_OK) != 0) throw ConfigError(std::string("HPCLESS_S3RVER='") + e + "' is not readable");
    return e;
  }
  const fs::path p = fs::path(HPCLESS_SOURCE_DIR) / "tests" / "s3" / "node_modules" / ".bin" / "s3rver";
  std::error_code ec;
  if (!fs::exists(p, ec))
    throw ConfigError("s3rver not found at " + p.string() + ": " + kInstallHint +
                      " (npm ci in tests/s3), or set HPCLESS_S3RVER to s3rver's bin script");
  return fs::weakly_canonical(p, ec).string();
}

}  // namespace

StorageServers plan_storage(const fs::path& dir, const std::string& host,
                            const std::string& bucket) {
  StorageServers s;
  s.host = host;
  const std::string redis = find_program("redis-server");
  if (redis.empty())
    throw ConfigError(std::string("redis-server not found: ") + kInstallHint +
                      " (Debian package redis-server)");
  const std::string node = find_program("node");
  if (node.empty())
    throw ConfigError(std::string("node not found (s3rver runs on it): ") + kInstallHint);
  const std::string s3rver = s3rver_script();

  const fs::path redis_dir = dir / "redis";
  const fs::path s3_dir = dir / "s3";
  fs::create_directories(redis_dir);
  fs::create_directories(s3_dir);
  s.redis_port = free_port(host);
  s.s3_port = free_port(host);

  // No persistence: the cluster's storage lives as long as the cluster.
  s.redis.argv = {redis,   "--port",       std::to_string(s.redis_port),
                  "--bind", host,          "--save",
                  "",       "--appendonly", "no",
                  "--dir",  redis_dir.string(), "--daemonize",
                  "no",     "--protected-mode", "no"};
  s.redis.log_path = (dir / "redis.log").string();
  // --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with DES, which
  // Node's OpenSSL 3 offers only from its legacy provider (docs/storage.md).
  s.s3.argv = {node, "--openssl-legacy-provider", s3rver, "-d", s3_dir.string(), "-a", host,
               "-p", std::to_string(s.s3_port), "--configure-bucket", bucket};
  s.s3.log_path = (dir / "s3rver.log").string();

  const nlohmann::json config = {
      {"comment", "written by `hpcless cluster up --storage` for the cluster in " + dir.string()},
      {"storage",
       {{"s3",
         {{"endpoint", "http://" + host + ":" + std::to_string(s.s3_port)},
          {"region", "us-east-1"},
          {"access_key", "S3RVER"},
          {"secret_key", "S3RVER"},
          {"bucket", bucket},
          {"path_style", true}}},
        {"redis", {{"host", host}, {"port", s.redis_port}}}}}};
  s.config_path = (dir / "storage.json").string();
  write_private_file(s.config_path, config.dump(2) + "\n");
  return s;
}

void wait_listening(const std::string& what, const DaemonId& id, const std::string& host, int port,
                    const std::string& log, Deadline deadline) {
  const tcp::Endpoint ep{host, static_cast<uint16_t>(port)};
  while (true) {
    if (!daemon_alive(id)) throw Error(what + " exited during start-up; its log: " + log);
    try {
      tcp::connect_tcp(ep, Deadline::after(std::chrono::milliseconds(200)));
      return;
    } catch (const Error&) {
      // not listening yet
    }
    if (deadline.expired())
      throw TimeoutError(what + " did not listen on " + ep.to_string() + " in time; its log: " +
                         log);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace hpcless::cli
