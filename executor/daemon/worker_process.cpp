#include "executor/daemon/worker_process.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/protocol/frame.hpp"
#include "executor/daemon/hello_peek.hpp"
#include "executor/worker/control_channel.hpp"

namespace hpcless::executor {

namespace {

std::string join_cores(const std::vector<int>& cores) {
  std::string s;
  for (int c : cores) {
    if (!s.empty()) s.push_back(',');
    s.append(std::to_string(c));
  }
  return s;
}

}  // namespace

std::string find_worker_binary(const std::string& configured) {
  std::string path = configured.empty() ? executable_dir() + "/hpcless-worker" : configured;
  if (access(path.c_str(), X_OK) != 0)
    throw ConfigError("worker binary '" + path +
                      "' is not executable (build the hpcless-worker target)");
  return path;
}

WorkerProcess::WorkerProcess(const WorkerProcessOptions& o) : threads_(o.threads) {
  if (o.threads == 0 || o.threads > kMaxWorkerThreads)
    throw ConfigError("a worker process needs 1 to " + std::to_string(kMaxWorkerThreads) +
                      " threads");
  slots_.emplace(SharedSlots::create());
  auto [mine, theirs] = control_socket_pair();
  SpawnOptions s;
  s.argv = {o.worker_binary, "--control-fd", "3", "--slots-fd", "4", "--package", o.package_path,
            "--workers", std::to_string(o.threads), "--max-payload", std::to_string(o.max_payload),
            "--max-inflight", std::to_string(o.max_inflight), "--node-name", o.node_name};
  if (!o.cores.empty()) {
    s.argv.push_back("--cores");
    s.argv.push_back(join_cores(o.cores));
    s.cpu_affinity = o.cores;
  }
  if (!o.lease_id.empty()) {
    for (std::string a : {"--lease-id", o.lease_id.c_str()}) s.argv.push_back(a);
    s.argv.push_back("--lease-end-ms");
    s.argv.push_back(std::to_string(o.lease_end_ms));
    s.argv.push_back("--memory-mb");
    s.argv.push_back(std::to_string(o.memory_mb));
  }
  for (const auto& a : o.extra_args) s.argv.push_back(a);
  s.fd_map = {{theirs.get(), 3}, {slots_->fd(), 4}};
  s.rlimit_as_bytes = o.rlimit_as_bytes;
  s.cgroup_procs_path = o.cgroup_procs_path;
  s.stderr_path = o.stderr_path;
  // glibc reserves 64 MiB of address space per malloc arena; under RLIMIT_AS that alone would
  // eat the limit, so a limited worker uses one arena.
  if (o.rlimit_as_bytes != 0) s.extra_env.push_back("MALLOC_ARENA_MAX=1");
  // The worker reports its start-up time (fork to ready) in hello-acks: cold-start breakdowns.
  // CLOCK_MONOTONIC is the same clock in both processes.
  s.extra_env.push_back("HPCLESS_SPAWNED_AT_NS=" + std::to_string(now_ns()));
  child_ = ChildProcess::spawn(s);
  control_ = std::move(mine);
}

WorkerProcess::~WorkerProcess() {
  if (child_.running()) stop(std::chrono::milliseconds(1000));
}

WorkerProcess::StartState WorkerProcess::poll_start(std::string& why) {
  if (state_ != StartState::kStarting) return state_;
  auto msg = recv_control(control_.get());
  if (msg && msg->type == ControlType::kReady) {
    package_name_ = msg->text;
    state_ = StartState::kReady;
    return state_;
  }
  why = msg ? msg->text : "it exited before reporting";
  if (!msg) {
    if (auto st = child_.wait(Deadline::after(std::chrono::seconds(5))))
      why += " (" + describe_wait_status(*st) + ")";
  }
  child_.stop(std::chrono::milliseconds(500));
  state_ = StartState::kFailed;
  return state_;
}

void WorkerProcess::wait_ready(Deadline deadline) {
  pollfd p{control_.get(), POLLIN, 0};
  int n;
  do {
    n = poll(&p, 1, deadline.remaining_ms());
  } while (n < 0 && errno == EINTR);
  if (n == 0) {
    child_.stop(std::chrono::milliseconds(500));
    state_ = StartState::kFailed;
    throw ConfigError("worker process did not start in time");
  }
  std::string why;
  if (poll_start(why) != StartState::kReady)
    throw ConfigError("worker process failed to start: " + why);
}

int WorkerProcess::hand_over(uint64_t conn_id, UniqueFd fd) {
  if (!control_ || !send_control(control_.get(), ControlType::kNewConnection, conn_id, {}, fd.get()))
    return -1;
  const int raw = fd.get();
  conns_.emplace(conn_id, std::move(fd));
  return raw;
}

bool WorkerProcess::update_lease(int64_t end_ms, bool ended) {
  return control_ && send_control(control_.get(), ControlType::kLeaseUpdate,
                                  static_cast<uint64_t>(end_ms), ended ? "ended" : "expired");
}

std::string WorkerProcess::on_exit(const std::string& what_next) {
  const int status = child_.wait(Deadline::after(std::chrono::seconds(5))).value_or(0);
  const std::string how = describe_wait_status(status);
  for (uint32_t i = 0; i < threads_; ++i) {
    WorkerSlot& s = slots_->table().slots[i];
    const auto state = static_cast<SlotState>(s.state.load(std::memory_order_acquire));
    if (state != SlotState::kRunning) continue;  // mid-reply connections can only be closed
    auto it = conns_.find(s.conn_id.load());
    if (it == conns_.end()) continue;
    std::string fname(s.function_name, strnlen(s.function_name, sizeof(s.function_name)));
    send_error_frame(it->second.get(), s.request_id.load(), protocol::Status::kWorkerCrashed,
                     "the worker process died (" + how + ") while running function '" + fname +
                         "'; " + what_next);
  }
  for (auto& [id, fd] : conns_) ::shutdown(fd.get(), SHUT_RDWR);
  conns_.clear();
  control_.reset();
  state_ = StartState::kFailed;
  return how;
}

void WorkerProcess::stop(std::chrono::milliseconds grace) {
  if (control_) send_control(control_.get(), ControlType::kShutdown, 0, {});
  if (child_.running() && !child_.wait(Deadline::after(grace))) child_.stop(grace);
  for (auto& [id, fd] : conns_) ::shutdown(fd.get(), SHUT_RDWR);
  conns_.clear();
  control_.reset();
}

WorkerUsage WorkerProcess::usage() const {
  WorkerUsage u;
  for (uint32_t i = 0; i < threads_; ++i) {
    const WorkerSlot& s = slots_->table().slots[i];
    u.busy_ns += s.busy_ns.load(std::memory_order_relaxed);
    u.idle_ns += s.idle_ns.load(std::memory_order_relaxed);
    u.invocations += s.invocations.load(std::memory_order_relaxed);
    u.errors += s.errors.load(std::memory_order_relaxed);
  }
  return u;
}

}  // namespace hpcless::executor
