#include "manager/store/checkpointer.hpp"

#include "comm/base/log.hpp"
#include "manager/store/sqlite.hpp"

namespace hpcless::manager {

Checkpointer::Checkpointer(const std::string& path, std::chrono::milliseconds period)
    : period_(period) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    throw sqlite::DatabaseError("state database '" + path + "': checkpoint connection: " + msg, rc);
  }
  sqlite3_busy_timeout(db_, 1000);
  thread_ = std::thread([this] { run(); });
}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  sqlite3_close_v2(db_);
}

void Checkpointer::run() {
  std::unique_lock lk(mu_);
  while (!cv_.wait_for(lk, period_, [&] { return stop_; })) {
    lk.unlock();
    int wal_frames = 0, done = 0;
    const int rc =
        sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &done);
    // BUSY: another checkpoint is running (the backstop); try again next period.
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      log::warn(std::string("state database checkpoint failed: ") + sqlite3_errmsg(db_));
    lk.lock();
  }
}

}  // namespace hpcless::manager
