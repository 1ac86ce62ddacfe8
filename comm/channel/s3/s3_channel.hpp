// The S3 channel: the object-store collectives (object_store_channel.hpp) on an S3 bucket through
// storage::S3Client. Objects live under "<prefix><group>/<run>/"; waiting polls with exponential
// backoff and jitter (S3 has no notifications), barriers count arrival objects with one
// prefix-scoped LIST per poll, large objects use multipart uploads, and the last rank to finish
// deletes the run's prefix. Layout and requests: s3_blob_store.hpp.
//
//   S3ChannelOptions o;
//   o.s3 = storage_config.s3.value();   // o.s3.bucket must exist
//   S3Channel ch(rank, size, "job-42", &store, o);   // collective when o.run is empty
//
// Construction as RedisChannel (rendezvous key "s3-run/<group>" when options.run is empty).
// Throws ConfigError (bad arguments, no bucket), IoError, TimeoutError.
//
// Thread safety: none; one thread per channel.
#pragma once

#include <chrono>
#include <string>

#include "comm/channel/object_store/object_store_channel.hpp"
#include "comm/channel/s3/s3_blob_store.hpp"
#include "comm/rendezvous/store.hpp"
#include "comm/storage/storage_config.hpp"

namespace hpcless::comm {

struct S3ChannelOptions {
  storage::S3Config s3;  // s3.bucket: where the objects go
  std::string prefix;    // prepended to "<group>/<run>/", e.g. "hpcless/"
  std::string run;       // empty: agreed through the rendezvous store
  std::chrono::milliseconds poll_initial{2};
  std::chrono::milliseconds poll_max{100};
  std::chrono::milliseconds abort_check_interval{200};
  std::chrono::milliseconds connect_timeout{30'000};
  // S3 steps cost tens of milliseconds: the reduce_scatter route only from 4 MiB per rank.
  ObjectStoreTuning tuning{4u << 20};
};

class S3Channel final : public ObjectStoreChannel {
 public:
  // `store` may be null when options.run is set.
  S3Channel(int rank, int size, const std::string& group, rendezvous::Store* store,
            const S3ChannelOptions& options);

  // "<prefix><group>/<run>/" (every object of the run starts with it).
  static std::string key_prefix(const std::string& prefix, const std::string& group,
                                const std::string& run);
  objstore::S3BlobStore& s3() noexcept { return static_cast<objstore::S3BlobStore&>(blob_store()); }

 private:
  S3Channel(int rank, int size, const std::string& group, rendezvous::Store* store,
            const S3ChannelOptions& options, Deadline deadline, std::string run);
};

}  // namespace hpcless::comm
