// The Redis backend of the object-store channels (see comm/channel/object_store/blob_store.hpp).
//
// Layout under the namespace ns = "hpcless:<group>:<run>:":
//   <ns><key>#<reader>   a list holding one message for one reader; BLPOP consumes it, so a read
//                        object leaves nothing behind. A message is one element 'S'+bytes, or,
//                        above chunk_bytes, a header 'H'+u64 total+u32 chunks followed by the
//                        chunks (values stay far below Redis' 512 MB limit).
//   <ns><key>            an arrival counter (INCR); the last arrival deletes it and pushes
//                        <ns><key>#<rank> for every other rank, which wait in BLPOP.
//   <ns>!abort           the abort reason (SET NX), and <ns>!abort#<rank> lists that wake
//                        waiting ranks (every BLPOP includes its own).
// Every write is one Lua script call (EVALSHA) that also sets the TTL (PEXPIRE) on every key it
// touches, so a crashed run disappears by itself. Waits block in the server (BLPOP), never poll.
// A batch of objects goes out in one call (up to command_bytes of payload), and several pending
// objects are fetched with one call when they are there already.
//
// Thread safety: none (one connection, used by one channel).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "comm/channel/object_store/blob_store.hpp"
#include "comm/storage/redis_client.hpp"

namespace hpcless::comm::objstore {

struct RedisBlobOptions {
  std::chrono::milliseconds ttl{3'600'000};  // on every key written
  size_t chunk_bytes = 8u << 20;             // larger messages are split into chunks
  size_t command_bytes = 64u << 20;          // payload per script call (batches are split)
};

class RedisBlobStore final : public BlobStore {
 public:
  // Connects (RedisError -> IoError) and loads the scripts. ns: the run's namespace.
  RedisBlobStore(const storage::RedisConfig& config, std::string ns, int rank, int size,
                 RedisBlobOptions options);

  std::string_view kind() const noexcept override { return "redis"; }
  bool reads_consume() const noexcept override { return true; }
  void put(std::span<const PutItem> items) override;
  void get(std::span<GetItem> items, bool in_order, Deadline deadline) override;
  bool try_get(std::span<GetItem> items, bool in_order) override;
  void arrive_and_wait(std::string_view key, int total, Deadline deadline) override;
  std::string arrival_object(std::string_view) const override { return {}; }
  bool arrive(std::string_view key, int total) override;
  void post_abort(std::string_view reason) noexcept override;
  void erase(const std::vector<std::string>& keys) override;
  void erase_all() override;

  const std::string& ns() const noexcept { return ns_; }
  storage::RedisClient& client() noexcept { return client_; }

 private:
  std::string full(std::string_view key) const;
  std::string reader_key(std::string_view key, int reader) const;
  storage::RedisReply eval(int script, std::vector<std::string> keys,
                           std::vector<std::string> args);
  // Non-blocking pop of every missing item (one script call). Returns false if nothing new.
  bool pop_present(std::span<GetItem> items, bool in_order, Deadline chunk_deadline);
  // Stores a popped first element into `it` (reading further chunks of large messages).
  void take(GetItem& it, std::string&& first, Deadline chunk_deadline);
  // BLPOP on keys plus this rank's abort list; nullopt when the slice timed out.
  std::optional<std::pair<std::string, std::string>> blocking_pop(
      const std::vector<std::string>& keys, Deadline deadline);
  [[noreturn]] void timeout(std::string_view what, int from, std::string_view key,
                            uint64_t start) const;

  storage::RedisClient client_;
  std::string ns_;
  int rank_;
  int size_;
  RedisBlobOptions options_;
  std::string ttl_;
  std::string abort_list_;  // this rank's
  std::vector<std::string> shas_;
};

}  // namespace hpcless::comm::objstore
