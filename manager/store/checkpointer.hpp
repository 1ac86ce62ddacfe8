// Moves WAL checkpoints off the request path where it can. With synchronous=NORMAL a commit does
// not fsync, but a checkpoint does (WAL, then the database file), and SQLite runs its automatic
// checkpoint inside the commit that makes the WAL cross 1000 pages. This thread runs a PASSIVE
// checkpoint (which never blocks writers) on its own connection once a second: with pauses between
// writes (the normal case for a control plane) the WAL is then already copied back when the
// threshold would be reached, and the next writer restarts it for free. Under sustained full-speed
// writes the automatic checkpoint still runs in a commit now and then (see docs/manager.md).
//
// Thread safety: start/stop from the owner; the thread only touches its own connection.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace hpcless::manager {

class Checkpointer {
 public:
  // Opens its own connection to `path` (which the StateStore has created).
  explicit Checkpointer(const std::string& path,
                        std::chrono::milliseconds period = std::chrono::seconds(1));
  ~Checkpointer();  // stops the thread (at most one checkpoint in progress to wait for)
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

 private:
  void run();

  sqlite3* db_ = nullptr;
  const std::chrono::milliseconds period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace hpcless::manager
