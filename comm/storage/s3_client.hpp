// S3 REST client over libcurl, signed with AWS Signature V4 (comm/storage/sigv4.hpp).
//
// Works against AWS S3 (virtual-host style, https) and S3-compatible servers such as MinIO, Ceph
// RGW or s3rver (path style, http). Objects are byte strings: std::string is used as a byte
// container (binary-safe, may contain NULs).
//
// Retries: every HTTP request is retried with exponential backoff and jitter on 5xx, 429, S3
// "SlowDown"/"RequestTimeout"/"InternalError", connection failures and timeouts, bounded by
// RetryPolicy::max_attempts AND RetryPolicy::deadline. 4xx answers are never retried. After the
// last attempt a StorageError names the endpoint, the attempts and the time spent.
//
// Thread safety: an S3Client may be used from any number of threads at once. Each request borrows
// a CURL easy handle from a small internal pool (a handle keeps its connection alive for the next
// request) and returns it afterwards, so concurrent requests never share a handle. Up to
// S3Config::max_idle_handles idle handles are kept. curl_global_init runs once per process, on the
// first construction of an S3Client (construct the first client before starting threads that use
// other libcurl-based code).
//
// Ownership: the client owns its handles; destroy it only after every call on it has returned.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/storage/storage_config.hpp"

namespace hpcless::storage {

// What went wrong, for callers that branch on it (e.g. a channel polling for a key treats
// kNoSuchKey as "not there yet").
enum class StorageErrorKind {
  kCredentials,   // InvalidAccessKeyId, SignatureDoesNotMatch: fix access_key/secret_key
  kAccessDenied,  // AccessDenied: credentials valid but not allowed
  kNoSuchBucket,
  kNoSuchKey,
  kBucketExists,  // BucketAlreadyExists / BucketAlreadyOwnedByYou on create_bucket
  kClientError,   // another 4xx: the request was wrong (message has the S3 code and text)
  kServerError,   // 5xx / 429 after all retries
  kUnreachable,   // no HTTP answer (connect refused, DNS, reset) after all retries
  kTimeout,       // the transfer timed out after all retries
  kProtocol,      // the server answered something this client cannot parse
  kLocal,         // a local failure (file to upload unreadable, output file not writable)
};

std::string_view to_string(StorageErrorKind kind) noexcept;

class StorageError : public Error {
 public:
  StorageError(StorageErrorKind kind, const std::string& message, long http_status = 0,
               std::string s3_code = {}, int attempts = 1);

  StorageErrorKind kind() const noexcept { return kind_; }
  long http_status() const noexcept { return http_status_; }        // 0: no HTTP answer
  const std::string& s3_code() const noexcept { return s3_code_; }  // "NoSuchKey", or ""
  int attempts() const noexcept { return attempts_; }  // HTTP attempts made for the failed request
  bool not_found() const noexcept {
    return kind_ == StorageErrorKind::kNoSuchBucket || kind_ == StorageErrorKind::kNoSuchKey;
  }

 private:
  StorageErrorKind kind_;
  long http_status_;
  std::string s3_code_;
  int attempts_;
};

struct ObjectInfo {
  uint64_t size = 0;
  std::string etag;           // as sent by the server, quotes removed
  std::string last_modified;  // HTTP date (HEAD) or ISO 8601 (list)
};

struct ObjectSummary {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // quotes removed
  std::string last_modified;
};

struct ListPage {
  std::vector<ObjectSummary> objects;
  bool truncated = false;
  std::string next_continuation_token;  // pass to the next list_objects_v2_page call
};

// Bytes [offset, offset + length) of an object; no length: to the end of the object.
struct ByteRange {
  uint64_t offset = 0;
  std::optional<uint64_t> length;
};

// Counters over the life of the client (all threads). `attempts - requests` is the number of
// retries. Read with stats(); values are monotonic.
struct S3Stats {
  uint64_t requests = 0;         // logical HTTP requests (a multipart upload counts several)
  uint64_t attempts = 0;         // HTTP attempts including retries
  uint64_t retries = 0;          // attempts - requests of requests that got retried
  uint64_t failed_requests = 0;  // requests that ended in a StorageError
  uint64_t bytes_sent = 0;       // request bodies
  uint64_t bytes_received = 0;   // response bodies of successful requests
};

class S3Client {
 public:
  // Validates the configuration (ConfigError) and initialises libcurl. Does not contact the
  // server.
  explicit S3Client(S3Config config);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;
  S3Client(S3Client&&) noexcept;
  S3Client& operator=(S3Client&&) noexcept;

  const S3Config& config() const noexcept;
  S3Stats stats() const noexcept;

  // --- objects. Every call throws StorageError (see StorageErrorKind) unless noted. ---

  // Uploads `data`; uses multipart upload when data.size() >= multipart_threshold (a failed
  // multipart upload is aborted so no parts are left behind). Returns the ETag.
  std::string put_object(const std::string& bucket, const std::string& key, std::string_view data,
                         const std::string& content_type = "application/octet-stream");
  // Uploads a local file, reading it part by part for multipart uploads (constant memory).
  std::string put_object_from_file(const std::string& bucket, const std::string& key,
                                   const std::string& path,
                                   const std::string& content_type = "application/octet-stream");

  // Whole object, or a byte range of it.
  std::string get_object(const std::string& bucket, const std::string& key,
                         std::optional<ByteRange> range = std::nullopt);
  // Same, into `out` (replaced; its capacity is reused across calls). Returns out.size().
  size_t get_object_into(const std::string& bucket, const std::string& key, std::string& out,
                         std::optional<ByteRange> range = std::nullopt);
  // Like get_object, but a missing key (NoSuchKey) returns std::nullopt instead of throwing.
  // A missing bucket still throws.
  std::optional<std::string> try_get_object(const std::string& bucket, const std::string& key);
  // Streams the object into a local file (created/truncated, mode 0644). Returns the byte count.
  uint64_t get_object_to_file(const std::string& bucket, const std::string& key,
                              const std::string& path);

  // Size and ETag; std::nullopt when the object (or the bucket: HEAD answers carry no error code)
  // does not exist.
  std::optional<ObjectInfo> head_object(const std::string& bucket, const std::string& key);

  // Deleting a missing key succeeds (S3 semantics); a missing bucket throws kNoSuchBucket.
  void delete_object(const std::string& bucket, const std::string& key);
  // Deletes many keys with DeleteObjects requests (1000 keys per request). Throws if any key
  // could not be deleted (the message names the first ones).
  void delete_objects(const std::string& bucket, const std::vector<std::string>& keys);
  // Lists every key under `prefix` and deletes them. Returns the number of keys deleted.
  size_t delete_prefix(const std::string& bucket, const std::string& prefix);

  // One page of ListObjectsV2 (max_keys 1..1000). Start with an empty continuation token.
  ListPage list_objects_v2_page(const std::string& bucket, const std::string& prefix,
                                const std::string& continuation_token = {}, int max_keys = 1000);
  // Every object under `prefix`, following continuation tokens, in key order.
  std::vector<ObjectSummary> list_objects_v2(const std::string& bucket, const std::string& prefix,
                                             int page_size = 1000);
  std::vector<std::string> list_keys(const std::string& bucket, const std::string& prefix,
                                     int page_size = 1000);

  // --- buckets (set-up and tests) ---

  // Creates the bucket (with a LocationConstraint when region != us-east-1). When
  // `ok_if_exists`, an existing bucket owned by these credentials is not an error.
  void create_bucket(const std::string& bucket, bool ok_if_exists = true);
  // The bucket must be empty (S3 semantics); a missing bucket throws kNoSuchBucket.
  void delete_bucket(const std::string& bucket);
  bool bucket_exists(const std::string& bucket);

  // The URL a request for bucket/key goes to (key URI-encoded), e.g. for logs.
  std::string object_url(const std::string& bucket, const std::string& key) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hpcless::storage
