#include "executor/daemon/standalone_executor.hpp"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "comm/base/cpu.hpp"
#include "comm/base/error.hpp"
#include "comm/base/log.hpp"
#include "executor/daemon/daemon_util.hpp"

namespace hpcless::executor {

namespace {
// epoll tags; client connections use their id (>= kFirstConnTag).
constexpr uint64_t kTagListener = 1;
constexpr uint64_t kTagSignal = 2;
constexpr uint64_t kTagWorker = 3;
constexpr uint64_t kFirstConnTag = 16;
}  // namespace

StandaloneExecutor::StandaloneExecutor(StandaloneConfig config) : config_(std::move(config)) {
  if (config_.package_path.empty()) throw ConfigError("--package is required");
  if (config_.workers == 0 || config_.workers > kMaxWorkerThreads)
    throw ConfigError("--workers must be 1 to " + std::to_string(kMaxWorkerThreads));
  config_.worker_binary = find_worker_binary(config_.worker_binary);
}

void StandaloneExecutor::spawn_worker() {
  WorkerProcessOptions o;
  o.worker_binary = config_.worker_binary;
  o.package_path = config_.package_path;
  o.node_name = config_.node_name;
  o.threads = config_.workers;
  if (!config_.cores.empty()) {
    o.cores = parse_core_list(config_.cores);
    if (o.cores.size() < config_.workers)
      throw ConfigError("--cores lists " + std::to_string(o.cores.size()) + " cores for " +
                        std::to_string(config_.workers) + " workers; give one core per worker");
    o.cores.resize(config_.workers);
  }
  o.max_payload = config_.max_payload;
  o.max_inflight = config_.max_inflight;
  o.extra_args = config_.worker_args;
  worker_ = std::make_unique<WorkerProcess>(o);
  ++worker_starts_;
  worker_->wait_ready(Deadline::after(config_.worker_start_timeout));
  if (worker_starts_ == 1)
    log::info("worker process " + std::to_string(worker_->pid()) + " serves package '" +
              worker_->package_name() + "'");
  epoll_add(epoll_.get(), worker_->pidfd(), EPOLLIN, kTagWorker);
}

void StandaloneExecutor::on_worker_exit() {
  epoll_del(epoll_.get(), worker_->pidfd());
  const size_t conns = worker_->connection_count();
  const std::string how =
      worker_->on_exit("the executor started a new worker, reconnect to continue");
  log::error("worker process " + std::to_string(worker_->pid()) + " " + how + "; closed " +
             std::to_string(conns) + " connection(s), restarting the worker");
  spawn_worker();
}

void StandaloneExecutor::accept_clients() {
  while (true) {
    UniqueFd fd = listener_->accept_one();
    if (!fd) return;
    const uint64_t id = kFirstConnTag + next_conn_id_++;
    const int dup = worker_->hand_over(id, std::move(fd));
    if (dup < 0) {
      log::warn("could not hand a connection to the worker; closing it");
      continue;
    }
    // Watch our duplicate only for hang-ups (events = 0: EPOLLHUP/EPOLLERR are always reported);
    // reading it would steal the worker's bytes.
    epoll_add(epoll_.get(), dup, 0, id);
  }
}

int StandaloneExecutor::run() {
  UniqueFd sigfd = stop_signal_fd();
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw_system_error("epoll_create1");
  listener_.emplace(config_.listen);
  spawn_worker();
  epoll_add(epoll_.get(), listener_->fd(), EPOLLIN, kTagListener);
  epoll_add(epoll_.get(), sigfd.get(), EPOLLIN, kTagSignal);
  write_ready_file(config_.ready_file, listener_->bound_endpoint().to_string());
  log::info("listening on " + listener_->bound_endpoint().to_string() + " with " +
            std::to_string(config_.workers) + " worker thread(s)" +
            (config_.cores.empty() ? "" : " on cores " + config_.cores));

  epoll_event events[64];
  while (true) {
    const int n = epoll_wait(epoll_.get(), events, 64, -1);
    if (n < 0 && errno != EINTR) throw_system_error("epoll_wait");
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kTagListener) {
        accept_clients();
      } else if (tag == kTagSignal) {
        signalfd_siginfo si;
        (void)!read(sigfd.get(), &si, sizeof(si));
        log::info(std::string("stopping on ") + strsignal(static_cast<int>(si.ssi_signo)));
        worker_->stop(std::chrono::milliseconds(5000));
        if (!config_.ready_file.empty()) std::remove(config_.ready_file.c_str());
        return 0;
      } else if (tag == kTagWorker) {
        on_worker_exit();
      } else if (worker_->owns(tag)) {
        // Only the hang-up of a connection the worker already closed lands here; forgetting it
        // closes our duplicate, which also removes it from epoll.
        worker_->forget(tag);
      }
    }
  }
}

}  // namespace hpcless::executor
