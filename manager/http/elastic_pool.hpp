// A task queue for cpp-httplib that grows from `min_threads` up to `max_threads` workers and
// shrinks back after `idle_exit` without work.
//
// Why: httplib serves each connection on one pool thread for as long as the connection is kept
// alive, and a rendezvous read may block for up to 60 s. With httplib's fixed pool, a handful of
// idle keep-alive connections or long polls would starve every other client (including the PUT
// that would release the readers). When all max_threads are busy, new connections wait in the
// queue.
//
// Thread safety: enqueue() and shutdown() may be called from any thread; httplib calls them from
// its accept thread.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace hpcless::manager {

class ElasticPool final : public httplib::TaskQueue {
 public:
  ElasticPool(size_t min_threads, size_t max_threads,
              std::chrono::milliseconds idle_exit = std::chrono::seconds(10));
  ~ElasticPool() override;
  ElasticPool(const ElasticPool&) = delete;
  ElasticPool& operator=(const ElasticPool&) = delete;

  void enqueue(std::function<void()> fn) override;
  // Runs the queued tasks to the end, then joins every thread.
  void shutdown() override;

  size_t threads() const;

 private:
  void start_thread();  // with mu_ held
  void run(std::list<std::thread>::iterator self);
  void join_finished();  // with mu_ held

  const size_t min_threads_;
  const size_t max_threads_;
  const std::chrono::milliseconds idle_exit_;
  mutable std::mutex mu_;
  std::condition_variable work_;
  std::deque<std::function<void()>> jobs_;
  std::list<std::thread> threads_;
  std::vector<std::thread> finished_;  // exited on idle, to be joined
  size_t idle_ = 0;
  bool shutdown_ = false;
};

}  // namespace hpcless::manager
