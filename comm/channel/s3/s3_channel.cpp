#include "comm/channel/s3/s3_channel.hpp"

#include "comm/channel/object_store/naming.hpp"

namespace hpcless::comm {

std::string S3Channel::key_prefix(const std::string& prefix, const std::string& group,
                                  const std::string& run) {
  return prefix + group + "/" + run + "/";
}

S3Channel::S3Channel(int rank, int size, const std::string& group, rendezvous::Store* store,
                     const S3ChannelOptions& options)
    : S3Channel(rank, size, group, store, options, Deadline::after(options.connect_timeout),
                objstore::resolve_run(rank, size, group, store, options.run, "s3",
                                      Deadline::after(options.connect_timeout))) {}

S3Channel::S3Channel(int rank, int size, const std::string& group, rendezvous::Store* store,
                     const S3ChannelOptions& options, Deadline deadline, std::string run)
    : ObjectStoreChannel(rank, size, group, run,
                         std::make_unique<objstore::S3BlobStore>(
                             options.s3, key_prefix(options.prefix, group, run), rank, size,
                             objstore::S3BlobOptions{options.poll_initial, options.poll_max,
                                                     options.abort_check_interval}),
                         options.tuning) {
  if (options.run.empty()) finish_rendezvous(*store, objstore::run_key("s3", group), deadline);
}

}  // namespace hpcless::comm
