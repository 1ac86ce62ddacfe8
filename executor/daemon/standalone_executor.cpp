#include "executor/daemon/standalone_executor.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "comm/base/error.hpp"
#include "comm/base/log.hpp"
#include "comm/protocol/frame.hpp"
#include "executor/worker/control_channel.hpp"

namespace hpcless::executor {

namespace {
// epoll tags; client connections use their id (>= kFirstConnTag).
constexpr uint64_t kTagListener = 1;
constexpr uint64_t kTagSignal = 2;
constexpr uint64_t kTagWorker = 3;
constexpr uint64_t kFirstConnTag = 16;

void epoll_add(int ep, int fd, uint32_t events, uint64_t tag) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) throw_system_error("epoll_ctl(ADD)");
}

// Best effort: the frame is small, and the connection is closed right after.
void send_crash_report(int fd, uint64_t request_id, const std::string& message) {
  protocol::Header h;
  h.type = protocol::MessageType::kError;
  h.status = protocol::Status::kWorkerCrashed;
  h.request_id = request_id;
  h.payload_len = static_cast<uint32_t>(message.size());
  std::byte buf[protocol::kMaxHeaderSize + 1024];
  size_t n = protocol::encode_header(h, buf);
  const size_t len = message.size() < 1024 ? message.size() : 1024;
  std::memcpy(buf + n, message.data(), len);
  (void)!send(fd, buf, n + len, MSG_NOSIGNAL | MSG_DONTWAIT);
}
}  // namespace

StandaloneExecutor::StandaloneExecutor(StandaloneConfig config) : config_(std::move(config)) {
  if (config_.package_path.empty()) throw ConfigError("--package is required");
  if (config_.workers == 0 || config_.workers > kMaxWorkerThreads)
    throw ConfigError("--workers must be 1 to " + std::to_string(kMaxWorkerThreads));
  if (config_.worker_binary.empty()) config_.worker_binary = executable_dir() + "/hpcless-worker";
  if (access(config_.worker_binary.c_str(), X_OK) != 0)
    throw ConfigError("worker binary '" + config_.worker_binary +
                      "' is not executable (build the hpcless-worker target)");
}

void StandaloneExecutor::spawn_worker() {
  auto [mine, theirs] = control_socket_pair();
  SpawnOptions o;
  o.argv = {config_.worker_binary,   "--control-fd",  "3",
            "--slots-fd",            "4",             "--package",
            config_.package_path,    "--workers",     std::to_string(config_.workers),
            "--max-payload",         std::to_string(config_.max_payload),
            "--max-inflight",        std::to_string(config_.max_inflight),
            "--node-name",           config_.node_name};
  if (!config_.cores.empty()) {
    o.argv.push_back("--cores");
    o.argv.push_back(config_.cores);
  }
  o.fd_map = {{theirs.get(), 3}, {slots_->fd(), 4}};
  slots_->clear();
  worker_ = ChildProcess::spawn(o);
  theirs.reset();
  control_ = std::move(mine);
  ++worker_starts_;

  // Wait for the worker to say it serves (or why it cannot).
  const auto deadline = Deadline::after(config_.worker_start_timeout);
  pollfd p{control_.get(), POLLIN, 0};
  int n;
  do {
    n = poll(&p, 1, deadline.remaining_ms());
  } while (n < 0 && errno == EINTR);
  if (n == 0) {
    worker_.stop();
    throw ConfigError("worker process did not start within " +
                      std::to_string(config_.worker_start_timeout.count()) + " ms");
  }
  auto msg = recv_control(control_.get());
  if (!msg || msg->type != ControlType::kReady) {
    std::string why = msg ? msg->text : "it exited before reporting";
    if (!msg) {
      if (auto st = worker_.wait(Deadline::after(std::chrono::seconds(5))))
        why += " (" + describe_wait_status(*st) + ")";
    }
    worker_.stop();
    throw ConfigError("worker process failed to start: " + why);
  }
  if (worker_starts_ == 1) log::info("worker process " + std::to_string(worker_.pid()) +
                                     " serves package '" + msg->text + "'");
  epoll_add(epoll_.get(), worker_.pidfd(), EPOLLIN, kTagWorker);
}

void StandaloneExecutor::on_worker_exit() {
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, worker_.pidfd(), nullptr);
  const int status = worker_.wait(Deadline::after(std::chrono::seconds(5))).value_or(0);
  const std::string how = describe_wait_status(status);
  size_t reported = 0;
  for (uint32_t i = 0; i < config_.workers; ++i) {
    WorkerSlot& s = slots_->table().slots[i];
    const auto state = static_cast<SlotState>(s.state.load(std::memory_order_acquire));
    if (state != SlotState::kRunning) continue;  // mid-reply connections can only be closed
    auto it = conns_.find(s.conn_id.load());
    if (it == conns_.end()) continue;
    std::string fname(s.function_name, strnlen(s.function_name, sizeof(s.function_name)));
    send_crash_report(it->second.get(), s.request_id.load(),
                      "the worker process died (" + how + ") while running function '" + fname +
                          "'; the executor started a new worker, reconnect to continue");
    ++reported;
  }
  log::error("worker process " + std::to_string(worker_.pid()) + " " + how + "; reported " +
             std::to_string(reported) + " running request(s), closing " +
             std::to_string(conns_.size()) + " connection(s), restarting the worker");
  for (auto& [id, fd] : conns_) ::shutdown(fd.get(), SHUT_RDWR);
  conns_.clear();
  control_.reset();
  spawn_worker();
}

void StandaloneExecutor::accept_clients() {
  while (true) {
    UniqueFd fd = listener_->accept_one();
    if (!fd) return;
    const uint64_t id = kFirstConnTag + next_conn_id_++;
    if (!send_control(control_.get(), ControlType::kNewConnection, id, {}, fd.get())) {
      log::warn("could not hand a connection to the worker; closing it");
      continue;
    }
    // Watch our duplicate only for hang-ups (events = 0: EPOLLHUP/EPOLLERR are always reported);
    // reading it would steal the worker's bytes.
    epoll_add(epoll_.get(), fd.get(), 0, id);
    conns_.emplace(id, std::move(fd));
  }
}

void StandaloneExecutor::write_ready_file() {
  if (config_.ready_file.empty()) return;
  const std::string tmp = config_.ready_file + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) throw_system_error("cannot write " + tmp);
  std::fprintf(f, "%s\n", listener_->bound_endpoint().to_string().c_str());
  std::fclose(f);
  if (std::rename(tmp.c_str(), config_.ready_file.c_str()) != 0)
    throw_system_error("cannot rename " + tmp);
}

void StandaloneExecutor::stop_worker() {
  if (control_) send_control(control_.get(), ControlType::kShutdown, 0, {});
  if (worker_.running() && !worker_.wait(Deadline::after(std::chrono::seconds(5))))
    worker_.stop(std::chrono::milliseconds(1000));
}

int StandaloneExecutor::run() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) throw_system_error("sigprocmask");
  signal(SIGPIPE, SIG_IGN);
  UniqueFd sigfd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd) throw_system_error("signalfd");

  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw_system_error("epoll_create1");
  listener_.emplace(config_.listen);
  slots_.emplace(SharedSlots::create());
  spawn_worker();
  epoll_add(epoll_.get(), listener_->fd(), EPOLLIN, kTagListener);
  epoll_add(epoll_.get(), sigfd.get(), EPOLLIN, kTagSignal);
  write_ready_file();
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
        stop_worker();
        conns_.clear();
        if (!config_.ready_file.empty()) std::remove(config_.ready_file.c_str());
        return 0;
      } else if (tag == kTagWorker) {
        on_worker_exit();
      } else if (auto it = conns_.find(tag); it != conns_.end()) {
        epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.get(), nullptr);
        conns_.erase(it);
      }
    }
  }
}

}  // namespace hpcless::executor
