// The client side's storage for `hpcless bench`: S3 and Redis clients built from a run's
// "storage" section, handed to input generators and validators as a StorageAccess.
//
// Ownership: a StorageSession owns its clients; the StorageAccess it returns points into it and
// is valid while the session lives. Thread safety: one thread (RedisClient is single-threaded).
#pragma once

#include <memory>
#include <string>

#include "comm/base/json.hpp"
#include "functions/bench/benchmark.hpp"

namespace hpcless::storage {
struct StorageConfig;
}

namespace hpcless::bench {

class StorageSession {
 public:
  // No storage: benchmarks that need it fail their prepare with a clear message.
  StorageSession();
  // Creates the clients of the configured services (Redis connects now; S3 on first use) and,
  // with `create_bucket`, the S3 bucket if missing. Throws ConfigError/StorageError/RedisError.
  explicit StorageSession(const storage::StorageConfig& config, bool create_bucket = true);
  // Reads the "storage" section of a JSON file (comm/storage/storage_config.hpp); an empty path
  // gives a session without storage.
  static StorageSession from_file(const std::string& path, bool create_bucket = true);
  ~StorageSession();
  StorageSession(StorageSession&&) noexcept;
  StorageSession& operator=(StorageSession&&) noexcept;

  const StorageAccess& access() const noexcept { return access_; }
  // The configuration without secrets (for metadata.json); null without storage.
  const nlohmann::json& redacted_config() const noexcept { return redacted_; }

 private:
  std::unique_ptr<storage::S3Client> s3_;
  std::unique_ptr<storage::RedisClient> redis_;
  StorageAccess access_;
  nlohmann::json redacted_;
};

}  // namespace hpcless::bench
