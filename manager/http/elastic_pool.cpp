#include "manager/http/elastic_pool.hpp"

namespace hpcless::manager {

ElasticPool::ElasticPool(size_t min_threads, size_t max_threads,
                         std::chrono::milliseconds idle_exit)
    : min_threads_(min_threads), max_threads_(max_threads), idle_exit_(idle_exit) {
  std::lock_guard lk(mu_);
  for (size_t i = 0; i < min_threads_; ++i) start_thread();
}

ElasticPool::~ElasticPool() { shutdown(); }

void ElasticPool::start_thread() {
  threads_.emplace_back();
  auto self = std::prev(threads_.end());
  *self = std::thread([this, self] { run(self); });
}

void ElasticPool::join_finished() {
  for (auto& t : finished_) t.join();
  finished_.clear();
}

void ElasticPool::enqueue(std::function<void()> fn) {
  {
    std::lock_guard lk(mu_);
    if (shutdown_) return;
    join_finished();
    jobs_.push_back(std::move(fn));
    if (idle_ < jobs_.size() && threads_.size() < max_threads_) start_thread();
  }
  work_.notify_one();
}

void ElasticPool::run(std::list<std::thread>::iterator self) {
  std::unique_lock lk(mu_);
  for (;;) {
    ++idle_;
    const bool woke = work_.wait_for(lk, idle_exit_, [&] { return shutdown_ || !jobs_.empty(); });
    --idle_;
    if (!jobs_.empty()) {
      auto fn = std::move(jobs_.front());
      jobs_.pop_front();
      lk.unlock();
      fn();
      lk.lock();
      continue;
    }
    if (shutdown_) return;  // shutdown() joins us
    if (!woke && threads_.size() > min_threads_) {
      // Idle too long: leave; the next enqueue() or shutdown() joins this thread.
      finished_.push_back(std::move(*self));
      threads_.erase(self);
      return;
    }
  }
}

void ElasticPool::shutdown() {
  std::list<std::thread> threads;
  {
    std::lock_guard lk(mu_);
    if (shutdown_ && threads_.empty() && finished_.empty()) return;
    shutdown_ = true;
  }
  work_.notify_all();
  // Threads leave only after the queue is empty; they stay in threads_ once shutdown_ is set.
  {
    std::unique_lock lk(mu_);
    threads.swap(threads_);
    join_finished();
  }
  for (auto& t : threads) t.join();
}

size_t ElasticPool::threads() const {
  std::lock_guard lk(mu_);
  return threads_.size();
}

}  // namespace hpcless::manager
