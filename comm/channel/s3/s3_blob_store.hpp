// The S3 backend of the object-store channels (see comm/channel/object_store/blob_store.hpp).
//
// Every object is one S3 object "<ns><key>" in one bucket, ns = "<prefix><group>/<run>/"; large
// ones go up as multipart uploads (S3Client, above its multipart_threshold). S3 has no
// notifications and no atomic counters, so:
//   get      polls GET with exponential backoff and jitter (poll_initial doubling up to
//            poll_max, each sleep uniform in [b/2, b], never past the deadline); when three or
//            more objects are missing, one prefix-scoped LIST finds which ones exist first.
//   counter  each rank PUTs "<ns><key>/<rank>"; a LIST of that prefix counts the arrivals.
//   abort    the object "<ns>!abort" (its body is the reason, trailer included), checked
//            every abort_check_interval while a rank waits; a half-written one is read again.
// Objects end with a 12-byte trailer (payload length, magic): servers whose PUTs are not atomic
// (s3rver shows a file while writing it) must not hand a reader half an object.
// Reads do not consume: the channel deletes objects at barriers and the last rank deletes the
// run's prefix at the end. A crashed run leaves its objects (use a bucket lifecycle rule on the
// prefix).
//
// Thread safety: none (owned by one channel).
#pragma once

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "comm/channel/object_store/blob_store.hpp"
#include "comm/storage/s3_client.hpp"

namespace hpcless::comm::objstore {

struct S3BlobOptions {
  std::chrono::milliseconds poll_initial{2};
  std::chrono::milliseconds poll_max{100};
  std::chrono::milliseconds abort_check_interval{200};
};

struct S3BlobStats {
  uint64_t polls = 0;  // GET/LIST attempts that found nothing new
  uint64_t lists = 0;  // LIST requests
  uint64_t aborts_checked = 0;
  uint64_t incomplete = 0;  // objects found while still being written (no valid trailer)
};

class S3BlobStore final : public BlobStore {
 public:
  // Does not contact the server. config.bucket names the bucket (it must exist).
  S3BlobStore(const storage::S3Config& config, std::string ns, int rank, int size,
              S3BlobOptions options);

  std::string_view kind() const noexcept override { return "s3"; }
  bool reads_consume() const noexcept override { return false; }
  void put(std::span<const PutItem> items) override;
  void get(std::span<GetItem> items, bool in_order, Deadline deadline) override;
  bool try_get(std::span<GetItem> items, bool in_order) override;
  void arrive_and_wait(std::string_view key, int total, Deadline deadline) override;
  std::string arrival_object(std::string_view key) const override;
  bool arrive(std::string_view key, int total) override;
  void post_abort(std::string_view reason) noexcept override;
  void erase(const std::vector<std::string>& keys) override;
  void erase_all() override;

  const std::string& ns() const noexcept { return ns_; }
  const std::string& bucket() const noexcept { return bucket_; }
  storage::S3Client& client() noexcept { return client_; }
  const S3BlobStats& stats() const noexcept { return stats_; }

 private:
  std::string full(std::string_view key) const;
  // One pass: fetches the missing items that exist. Returns whether any was fetched.
  bool fetch_present(std::span<GetItem> items, bool in_order);
  bool fetch_one(GetItem& it);
  // Sleeps the backoff (with jitter, not past the deadline) and doubles it.
  void backoff(std::chrono::microseconds& b, Deadline deadline);
  // Throws RemoteAbort when the abort marker exists (checked at most every interval).
  void check_abort(uint64_t waiting_since, bool force = false);

  storage::S3Client client_;
  storage::S3Client abort_client_;  // few retries: aborting and cleaning up must not hang
  std::string bucket_;
  std::string ns_;
  int rank_;
  int size_;
  S3BlobOptions options_;
  std::minstd_rand rng_;
  uint64_t last_abort_check_ = 0;
  S3BlobStats stats_;
};

}  // namespace hpcless::comm::objstore
