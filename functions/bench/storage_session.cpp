#include "functions/bench/storage_session.hpp"

#include "comm/storage/redis_client.hpp"
#include "comm/storage/s3_client.hpp"
#include "comm/storage/storage_config.hpp"

namespace hpcless::bench {

StorageSession::StorageSession() = default;

StorageSession::StorageSession(const storage::StorageConfig& config, bool create_bucket) {
  redacted_ = storage::to_json_redacted(config);
  if (config.s3) {
    s3_ = std::make_unique<storage::S3Client>(*config.s3);
    access_.s3 = s3_.get();
    access_.bucket = config.s3->bucket;
    if (create_bucket && !access_.bucket.empty()) s3_->create_bucket(access_.bucket, true);
  }
  if (config.redis) {
    redis_ = std::make_unique<storage::RedisClient>(*config.redis);
    access_.redis = redis_.get();
  }
}

StorageSession StorageSession::from_file(const std::string& path, bool create_bucket) {
  if (path.empty()) return StorageSession();
  return StorageSession(storage::load_storage_config(path), create_bucket);
}

StorageSession::~StorageSession() = default;
StorageSession::StorageSession(StorageSession&&) noexcept = default;
StorageSession& StorageSession::operator=(StorageSession&&) noexcept = default;

}  // namespace hpcless::bench
