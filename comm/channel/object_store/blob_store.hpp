// The tiny storage interface under the object-store channel family (Redis, S3): publish named
// objects, fetch them with a deadline, count arrivals, post an abort marker, delete a run.
// ObjectStoreChannel (object_store_channel.hpp) writes every collective and point-to-point
// operation once on top of it; a backend only implements these calls.
//
// Keys passed here are relative ("c12/r3"); a backend puts them under its run namespace
// (Redis "hpcless:<group>:<run>:", S3 "<prefix><group>/<run>/"). Every object has a known set of
// readers, each of which reads it exactly once: backends where a read consumes (Redis lists)
// give each reader its own copy; backends without that (S3) keep one object and the channel
// deletes it later (garbage(), see ObjectStoreChannel).
//
// Errors: IoError (the backend failed or is unreachable), TimeoutError (the deadline passed;
// the message names the rank and key waited for), RemoteAbort (another rank posted the abort
// marker), ProtocolError (a malformed object).
//
// Thread safety: none; one channel (one thread) owns a BlobStore.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"

namespace hpcless::comm::objstore {

// Another rank aborted the run (its abort marker was found while waiting).
class RemoteAbort : public IoError {
 public:
  using IoError::IoError;
};

// One object to publish for `readers` (ranks; may include the writer itself).
struct PutItem {
  std::string key;
  std::span<const std::byte> data;
  std::span<const int> readers;
};

// One object to fetch into buf[0, capacity).
struct GetItem {
  std::string key;
  std::byte* buf = nullptr;
  size_t capacity = 0;
  int from = -1;           // the writer, for messages ("rank 3")
  bool done = false;       // set when fetched (also when too long: see truncated)
  size_t bytes = 0;        // the object's size once done
  bool truncated = false;  // the object was longer than capacity; nothing was copied
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  virtual std::string_view kind() const noexcept = 0;  // "redis", "s3"
  // True when a read removes the reader's copy (nothing for the channel to collect).
  virtual bool reads_consume() const noexcept = 0;

  // Publishes every item (batched into few requests where the backend allows). Synchronous:
  // the data spans may be reused when it returns.
  virtual void put(std::span<const PutItem> items) = 0;

  // Fetches every item that is not done yet. Blocks until all are done; TimeoutError at the
  // deadline (items fetched so far stay done), RemoteAbort when the abort marker shows up.
  // in_order: fetch strictly in sequence (stop at the first missing one), as point-to-point
  // matching needs; otherwise in any order.
  virtual void get(std::span<GetItem> items, bool in_order, Deadline deadline) = 0;
  // Non-blocking variant: fetches what is there. Returns true when every item is done.
  virtual bool try_get(std::span<GetItem> items, bool in_order) = 0;

  // Barrier: records this rank's arrival at counter `key` and returns once `total` ranks
  // arrived (TimeoutError / RemoteAbort otherwise).
  virtual void arrive_and_wait(std::string_view key, int total, Deadline deadline) = 0;
  // The object arrive_and_wait(key) left behind for the channel to delete later ("" if none).
  virtual std::string arrival_object(std::string_view key) const = 0;
  // Records an arrival without waiting; true when this call saw all `total` arrivals (the
  // caller is then the last one, or one of the last).
  virtual bool arrive(std::string_view key, int total) = 0;

  // Writes the abort marker that every waiting rank checks. Best effort, bounded in time.
  virtual void post_abort(std::string_view reason) noexcept = 0;

  // Deletes objects (relative keys) that nobody will read any more.
  virtual void erase(const std::vector<std::string>& keys) = 0;
  // Deletes everything of this run.
  virtual void erase_all() = 0;
};

}  // namespace hpcless::comm::objstore
