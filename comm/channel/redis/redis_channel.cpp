#include "comm/channel/redis/redis_channel.hpp"

#include "comm/channel/object_store/naming.hpp"

namespace hpcless::comm {

std::string RedisChannel::key_prefix(const std::string& group, const std::string& run) {
  return "hpcless:" + group + ":" + run + ":";
}

RedisChannel::RedisChannel(int rank, int size, const std::string& group, rendezvous::Store* store,
                           const RedisChannelOptions& options)
    : RedisChannel(rank, size, group, store, options, Deadline::after(options.connect_timeout),
                   objstore::resolve_run(rank, size, group, store, options.run, "redis",
                                         Deadline::after(options.connect_timeout))) {}

RedisChannel::RedisChannel(int rank, int size, const std::string& group, rendezvous::Store* store,
                           const RedisChannelOptions& options, Deadline deadline, std::string run)
    : ObjectStoreChannel(rank, size, group, run,
                         std::make_unique<objstore::RedisBlobStore>(
                             options.redis, key_prefix(group, run), rank, size,
                             objstore::RedisBlobOptions{options.key_ttl, options.chunk_bytes,
                                                        options.command_bytes}),
                         options.tuning) {
  if (options.run.empty()) finish_rendezvous(*store, objstore::run_key("redis", group), deadline);
}

}  // namespace hpcless::comm
