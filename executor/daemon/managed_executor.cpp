#include "executor/daemon/managed_executor.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "comm/auth/lease_token.hpp"
#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/base/log.hpp"
#include "executor/daemon/daemon_util.hpp"
#include "executor/daemon/hello_peek.hpp"

namespace hpcless::executor {

namespace {
// epoll tags. Connections: kFirstConnTag + n. Lease workers: kFirstLeaseTag + 2n (control
// socket) and + 1 (pidfd).
constexpr uint64_t kTagListener = 1;
constexpr uint64_t kTagSignal = 2;
constexpr uint64_t kTagLink = 3;
constexpr uint64_t kFirstConnTag = 16;
constexpr uint64_t kFirstLeaseTag = uint64_t{1} << 62;
constexpr int kTickMs = 100;  // expiries, hello deadlines and usage reports are checked this often
constexpr uint64_t kForgetEndedAfterNs = 30'000'000'000;  // ended leases stay reported this long

using protocol::Status;

const char* state_name(int s) {
  static const char* names[] = {"running", "running", "failed", "stopped"};
  return names[s];
}
}  // namespace

ManagedExecutor::ManagedExecutor(ManagedConfig config) : config_(std::move(config)) {
  if (config_.manager_url.empty()) throw ConfigError("--manager URL is required");
  if (config_.name.empty()) throw ConfigError("--name is required (a unique node name)");
  if (config_.cores.empty()) throw ConfigError("--cores is required (the cores this node lends)");
  if (config_.package_path.empty()) throw ConfigError("--package is required");
  if (config_.api_token.empty())
    throw ConfigError("no API token: set HPCLESS_API_TOKEN to the manager's api_token");
  auth::check_token_secret(config_.token_secret);
  config_.worker_binary = find_worker_binary(config_.worker_binary);
}

ManagedExecutor::~ManagedExecutor() {
  if (link_) link_->stop();
}

bool ManagedExecutor::cores_are_mine(const std::vector<int>& cores) const {
  if (cores.empty()) return false;
  return std::all_of(cores.begin(), cores.end(), [&](int c) {
    return std::find(config_.cores.begin(), config_.cores.end(), c) != config_.cores.end();
  });
}

ManagedExecutor::Lease& ManagedExecutor::lease_for(const std::string& id,
                                                   const std::vector<int>& cores,
                                                   uint64_t memory_mb, int64_t end_ms) {
  auto [it, fresh] = leases_.try_emplace(id);
  Lease& l = it->second;
  if (fresh) {
    l.id = id;
    l.cores = cores;
    l.memory_mb = memory_mb;
    l.end_ms = end_ms;
    l.created_ns = now_ns();
    l.tag = kFirstLeaseTag + 2 * next_lease_tag_++;
    lease_by_tag_[l.tag] = id;
    lease_by_tag_[l.tag + 1] = id;
    start_worker(l);
  }
  return l;
}

void ManagedExecutor::start_worker(Lease& l) {
  WorkerProcessOptions o;
  o.worker_binary = config_.worker_binary;
  o.package_path = config_.package_path;
  o.node_name = config_.name;
  o.threads = static_cast<uint32_t>(l.cores.size());
  o.cores = l.cores;
  o.max_payload = config_.max_payload;
  o.max_inflight = config_.max_inflight;
  o.lease_id = l.id;
  o.lease_end_ms = l.end_ms;
  o.memory_mb = l.memory_mb;
  o.extra_args = config_.worker_args;
  if (!config_.log_dir.empty()) o.stderr_path = config_.log_dir + "/worker-" + l.id + ".log";
  try {
    l.limit = MemoryLimit::for_lease(l.id, l.memory_mb);
    o.rlimit_as_bytes = l.limit.rlimit_as_bytes();
    o.cgroup_procs_path = l.limit.cgroup_procs();
    l.worker = std::make_unique<WorkerProcess>(o);
    epoll_add(epoll_.get(), l.worker->control_fd(), EPOLLIN, l.tag);
    epoll_add(epoll_.get(), l.worker->pidfd(), EPOLLIN, l.tag + 1);
  } catch (const Error& e) {
    end_lease(l, LeaseState::kFailed, std::string("cannot start its worker: ") + e.what());
    return;
  }
  l.started_ns = now_ns();
  log::info("lease " + l.id + ": worker " + std::to_string(l.worker->pid()) + " on cores " +
            std::to_string(l.cores.size()) + ", memory limit " + l.limit.describe());
}

void ManagedExecutor::on_worker_control(Lease& l) {
  if (!l.worker) return;
  if (l.state != LeaseState::kStarting) {
    // Nothing is expected after kReady; a closed socket shows up through the pidfd.
    epoll_del(epoll_.get(), l.worker->control_fd());
    return;
  }
  std::string why;
  const auto st = l.worker->poll_start(why);
  if (st == WorkerProcess::StartState::kReady) {
    l.state = LeaseState::kRunning;
    epoll_del(epoll_.get(), l.worker->control_fd());
    auto waiting = std::move(l.waiting);
    for (auto& [id, fd] : waiting) hand_over(l, id, std::move(fd));
  } else if (st == WorkerProcess::StartState::kFailed) {
    end_lease(l, LeaseState::kFailed, "its worker failed to start: " + why);
  }
}

void ManagedExecutor::on_worker_exit(Lease& l) {
  if (!l.worker) return;
  epoll_del(epoll_.get(), l.worker->pidfd());
  if (l.state == LeaseState::kStopped || l.state == LeaseState::kFailed) return;
  if (slurm_) {
    // Slurm signals every process of an ending job at once: a worker that just died may have
    // died of the job's SIGTERM, which reaches this daemon a moment later. Then the lease fails
    // with the job's fate (run() handles the signal next), not as a crash.
    pollfd pfd{sigfd_, POLLIN, 0};
    if (poll(&pfd, 1, 1000) > 0) return;
  }
  l.final_usage = l.worker->usage();
  const std::string how = l.worker->on_exit("lease " + l.id + " is marked failed");
  end_lease(l, LeaseState::kFailed, "its worker process died (" + how + ")");
}

void ManagedExecutor::end_lease(Lease& l, LeaseState state, const std::string& reason) {
  if (l.state == LeaseState::kStopped || l.state == LeaseState::kFailed) return;
  for (auto& [id, fd] : l.waiting)
    send_error_frame(fd.get(), 0, state == LeaseState::kFailed ? Status::kLeaseEnded
                                                               : Status::kTokenExpired,
                     "lease " + l.id + " " + reason);
  l.waiting.clear();
  if (l.worker) {
    if (l.final_usage.invocations == 0 && l.final_usage.busy_ns == 0)
      l.final_usage = l.worker->usage();
    epoll_del(epoll_.get(), l.worker->control_fd());
    epoll_del(epoll_.get(), l.worker->pidfd());
    for (auto it = conn_lease_.begin(); it != conn_lease_.end();)
      it = it->second == l.id ? conn_lease_.erase(it) : std::next(it);
    l.worker->stop(std::chrono::milliseconds(1000));
  }
  l.state = state;
  l.reason = reason;
  l.ended_ns = now_ns();
  (state == LeaseState::kFailed ? log::warn : log::info)("lease " + l.id + " " + reason);
}

void ManagedExecutor::accept_clients() {
  while (true) {
    UniqueFd fd = listener_->accept_one();
    if (!fd) return;
    const uint64_t id = kFirstConnTag + next_conn_id_++;
    epoll_add(epoll_.get(), fd.get(), EPOLLIN | EPOLLET | EPOLLRDHUP, id);
    const auto deadline = now_ns() + static_cast<uint64_t>(config_.hello_timeout.count()) * 1000000;
    pending_.emplace(id, Pending{std::move(fd), deadline});
    on_pending(id);  // the hello often arrives with the connection
  }
}

void ManagedExecutor::on_pending(uint64_t conn_id) {
  auto it = pending_.find(conn_id);
  if (it == pending_.end()) return;
  protocol::Hello hello;
  uint64_t request_id = 0;
  std::string why;
  switch (peek_hello(it->second.fd.get(), hello, request_id, why)) {
    case PeekResult::kNeedMore:
      return;
    case PeekResult::kClosed:
      pending_.erase(it);  // closing the descriptor removes it from epoll
      return;
    case PeekResult::kBad:
      send_error_frame(it->second.fd.get(), request_id, Status::kNotAuthenticated, why);
      pending_.erase(it);
      return;
    case PeekResult::kHello: {
      UniqueFd fd = std::move(it->second.fd);
      pending_.erase(it);
      admit(conn_id, std::move(fd), hello, request_id);
      return;
    }
  }
}

void ManagedExecutor::admit(uint64_t conn_id, UniqueFd fd, const protocol::Hello& hello,
                            uint64_t request_id) {
  const int64_t now_ms = auth::unix_now_ms();
  auto refuse = [&](Status st, const std::string& why) {
    send_error_frame(fd.get(), request_id, st, why);
    epoll_del(epoll_.get(), fd.get());
  };
  if (draining_)
    return refuse(Status::kLeaseEnded,
                  "node " + config_.name + " is draining: its batch job ends at " +
                      std::to_string(slurm_ ? slurm_->end_ms() : walltime_end_ms_) +
                      " (Unix ms); acquire a lease on another node");
  if (hello.token.empty()) {
    return refuse(Status::kTokenInvalid,
                  "this executor serves leases: acquire one from the manager and present its "
                  "token (hpcless lease acquire)");
  }
  const auto v = auth::verify_lease_token(hello.token, config_.token_secret, now_ms);
  if (v.result == auth::TokenCheck::kMalformed || v.result == auth::TokenCheck::kBadSignature)
    return refuse(Status::kTokenInvalid, v.message);
  const auth::LeaseClaims& c = v.claims;
  if (c.node != config_.name)
    return refuse(Status::kTokenInvalid,
                  "token is for node '" + c.node + "', this is '" + config_.name + "'");
  if (!cores_are_mine(c.cores))
    return refuse(Status::kTokenInvalid, "token names cores this node does not lend");
  auto it = leases_.find(c.lease_id);
  if (it == leases_.end()) {
    if (v.result == auth::TokenCheck::kExpired) return refuse(Status::kTokenExpired, v.message);
  } else {
    Lease& l = it->second;
    if (l.state == LeaseState::kFailed || l.ended_by_manager)
      return refuse(Status::kLeaseEnded, "lease " + l.id + " has ended: " +
                                              (l.reason.empty() ? "released" : l.reason));
    // A renewed token may carry a later expiry than the one this node knows.
    if (c.expires_at_ms > l.end_ms && l.state != LeaseState::kStopped) {
      l.end_ms = c.expires_at_ms;
      if (l.worker) l.worker->update_lease(l.end_ms, false);
    }
    if (l.state == LeaseState::kStopped || now_ms >= l.end_ms)
      return refuse(Status::kTokenExpired, "lease " + l.id + " has expired; renew it first");
  }
  Lease& l = lease_for(c.lease_id, c.cores, c.memory_mb, c.expires_at_ms);
  if (l.state == LeaseState::kFailed) return refuse(Status::kLeaseEnded, l.reason);
  if (l.state == LeaseState::kStarting) {
    l.waiting.emplace_back(conn_id, std::move(fd));
    return;
  }
  hand_over(l, conn_id, std::move(fd));
}

void ManagedExecutor::hand_over(Lease& l, uint64_t conn_id, UniqueFd fd) {
  const int dup = l.worker->hand_over(conn_id, std::move(fd));
  if (dup < 0) return;  // worker gone: its pidfd reports it next
  // Keep watching our duplicate, for hang-ups only; the worker reads the bytes.
  epoll_event ev{};
  ev.events = 0;
  ev.data.u64 = conn_id;
  epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, dup, &ev);
  conn_lease_[conn_id] = l.id;
}

void ManagedExecutor::apply(const Assignment& a) {
  const int64_t now_ms = auth::unix_now_ms();
  for (const auto& x : a.leases) {
    if (!cores_are_mine(x.cores)) {
      log::warn("the manager assigned lease " + x.id + " on cores this node does not lend");
      continue;
    }
    auto it = leases_.find(x.id);
    if (it == leases_.end()) {
      if (x.expires_at_ms > now_ms) lease_for(x.id, x.cores, x.memory_mb, x.expires_at_ms);
      continue;
    }
    Lease& l = it->second;
    if ((l.state == LeaseState::kStarting || l.state == LeaseState::kRunning) &&
        x.expires_at_ms != l.end_ms && !l.ended_by_manager) {
      l.end_ms = x.expires_at_ms;  // renewed
      if (l.worker) l.worker->update_lease(l.end_ms, false);
    }
  }
  for (auto& [id, l] : leases_) {
    if (l.state != LeaseState::kStarting && l.state != LeaseState::kRunning) continue;
    if (l.ended_by_manager || l.created_ns >= a.request_sent_ns) continue;  // may postdate it
    const bool listed = std::any_of(a.leases.begin(), a.leases.end(),
                                    [&](const AssignedLease& x) { return x.id == id; });
    if (listed || now_ms >= l.end_ms) continue;  // expiry is handled by tick()
    // Released, or failed by the manager: invocations get "lease ended" until the worker stops.
    l.ended_by_manager = true;
    l.reason = "released or ended by the manager";
    l.end_ms = now_ms;
    if (l.worker) l.worker->update_lease(now_ms, true);
    log::info("lease " + id + " ended by the manager; stopping its worker after the grace");
  }
}

void ManagedExecutor::tick() {
  const uint64_t now = now_ns();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now >= it->second.deadline_ns) {
      send_error_frame(it->second.fd.get(), 0, Status::kNotAuthenticated,
                       "no hello within " + std::to_string(config_.hello_timeout.count()) + " ms");
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  const int64_t now_ms = auth::unix_now_ms();
  if (slurm_) follow_walltime(now_ms);
  for (auto& [id, l] : leases_) {
    if ((l.state == LeaseState::kStarting || l.state == LeaseState::kRunning) &&
        now_ms >= stop_at_ms(l))
      end_lease(l, LeaseState::kStopped, l.ended_by_manager ? l.reason : "expired");
  }
  for (auto it = leases_.begin(); it != leases_.end();) {
    Lease& l = it->second;
    if ((l.state == LeaseState::kStopped || l.state == LeaseState::kFailed) &&
        now - l.ended_ns > kForgetEndedAfterNs) {
      lease_by_tag_.erase(l.tag);
      lease_by_tag_.erase(l.tag + 1);
      it = leases_.erase(it);
    } else {
      ++it;
    }
  }
  publish_reports();
}

int64_t ManagedExecutor::stop_at_ms(const Lease& l) const {
  const int64_t normal = l.end_ms + config_.grace.count();
  if (!draining_ || !slurm_ || slurm_->end_ms() == 0) return normal;
  // Draining: invocations already running may finish until shortly before Slurm's SIGTERM.
  return std::max(normal, slurm_->end_ms() - 5000);
}

void ManagedExecutor::follow_walltime(int64_t now_ms) {
  const int64_t job_end = slurm_->end_ms();
  const int64_t node_end = job_end == 0 ? 0 : job_end - config_.drain.count();
  if (node_end != walltime_end_ms_) {
    walltime_end_ms_ = node_end;
    link_->set_walltime_end(node_end);
    log::info("walltime: leases on this node end by " + std::to_string(node_end) +
              " (Unix ms), " + std::to_string(config_.drain.count() / 1000) +
              " s before Slurm job " + slurm_->job_id() + " ends");
  }
  if (node_end == 0) {
    draining_ = false;  // the job's end was lifted (scontrol update TimeLimit=UNLIMITED)
    return;
  }
  // Leases granted before the end moved closer are cut to it; the manager does the same when
  // the heartbeat carrying the new walltime arrives.
  for (auto& [id, l] : leases_) {
    if ((l.state != LeaseState::kStarting && l.state != LeaseState::kRunning) ||
        l.end_ms <= node_end)
      continue;
    l.end_ms = std::max(now_ms, node_end);
    if (l.worker) l.worker->update_lease(l.end_ms, false);
    log::warn("lease " + id + " cut short to " + std::to_string(l.end_ms) +
              " (Unix ms): Slurm job " + slurm_->job_id() + " ends sooner");
  }
  const bool drain = now_ms >= node_end;
  if (drain && !draining_)
    log::info("draining: Slurm job " + slurm_->job_id() + " ends in " +
              std::to_string((job_end - now_ms) / 1000) + " s; no new connections");
  draining_ = drain;
}

bool ManagedExecutor::idle_and_left() {
  if (config_.exit_when_idle.count() <= 0) return false;
  const uint64_t now = now_ns();
  const bool busy =
      !pending_.empty() || std::any_of(leases_.begin(), leases_.end(), [](const auto& e) {
        return e.second.state == LeaseState::kStarting || e.second.state == LeaseState::kRunning;
      });
  if (busy || idle_since_ns_ == 0) {
    idle_since_ns_ = now;
    return false;
  }
  if (now - idle_since_ns_ < static_cast<uint64_t>(config_.exit_when_idle.count()) * 1'000'000)
    return false;
  std::string why;
  if (link_->leave(why)) {
    char idle[32];
    std::snprintf(idle, sizeof(idle), "%g", config_.exit_when_idle.count() / 1000.0);
    log::info(std::string("no lease for ") + idle + " s: deregistered from the manager; exiting");
    return true;
  }
  log::info("staying: " + why);
  idle_since_ns_ = now;
  return false;
}

void ManagedExecutor::publish_reports() {
  const uint64_t now = now_ns();
  std::vector<LeaseReport> reports;
  reports.reserve(leases_.size());
  for (const auto& [id, l] : leases_) {
    LeaseReport r;
    r.id = id;
    r.state = state_name(static_cast<int>(l.state));
    r.reason = l.reason;
    const bool live = l.state == LeaseState::kStarting || l.state == LeaseState::kRunning;
    const WorkerUsage u = live && l.worker ? l.worker->usage() : l.final_usage;
    const uint64_t end = live ? now : l.ended_ns;
    const double wall_s = l.started_ns == 0 || end < l.started_ns ? 0.0 : (end - l.started_ns) / 1e9;
    r.usage.allocated_core_s = wall_s * static_cast<double>(l.cores.size());
    r.usage.busy_core_s = u.busy_ns / 1e9;
    r.usage.idle_core_s = u.idle_ns / 1e9;
    r.usage.hot_poll_core_s =
        std::max(0.0, r.usage.allocated_core_s - r.usage.busy_core_s - r.usage.idle_core_s);
    r.usage.invocations = u.invocations;
    r.usage.errors = u.errors;
    reports.push_back(std::move(r));
  }
  link_->publish(std::move(reports));
}

int ManagedExecutor::run() {
  UniqueFd sigfd = stop_signal_fd();
  sigfd_ = sigfd.get();
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw_system_error("epoll_create1");
  listener_.emplace(config_.listen);
  NodeDescription node;
  node.name = config_.name;
  node.address =
      config_.advertise.empty() ? listener_->bound_endpoint().to_string() : config_.advertise;
  node.cores = config_.cores;
  node.memory_mb = config_.memory_mb;
  node.transports = config_.transports;
  node.walltime_end_ms = config_.walltime_end_ms;
  if (!config_.slurm_job.empty()) {
    slurm_ = std::make_unique<SlurmJobWatch>(config_.slurm_job, config_.slurm_poll);
    if (slurm_->end_ms() != 0) node.walltime_end_ms = slurm_->end_ms() - config_.drain.count();
  }
  walltime_end_ms_ = node.walltime_end_ms;
  node.job_started_ms = config_.job_started_ms;
  link_ = std::make_unique<ManagerLink>(config_.manager_url, config_.api_token, node);
  epoll_add(epoll_.get(), listener_->fd(), EPOLLIN, kTagListener);
  epoll_add(epoll_.get(), sigfd.get(), EPOLLIN, kTagSignal);
  epoll_add(epoll_.get(), link_->wake_fd(), EPOLLIN, kTagLink);
  publish_reports();
  link_->start(config_.register_timeout);
  write_ready_file(config_.ready_file, listener_->bound_endpoint().to_string());
  log::info("node '" + config_.name + "' serves leases on " + node.address);

  epoll_event events[64];
  uint64_t last_tick = 0;
  while (true) {
    const int n = epoll_wait(epoll_.get(), events, 64, kTickMs);
    if (n < 0 && errno != EINTR) throw_system_error("epoll_wait");
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kTagListener) {
        accept_clients();
      } else if (tag == kTagSignal) {
        signalfd_siginfo si;
        (void)!read(sigfd.get(), &si, sizeof(si));
        const std::string sig = strsignal(static_cast<int>(si.ssi_signo));
        log::info("stopping on " + sig);
        // Leases still running cannot be served any more: they fail, with the reason the
        // manager passes on to their holders.
        const std::string reason = slurm_ ? slurm_->termination_reason(auth::unix_now_ms())
                                          : "executor stopped (" + sig + ")";
        for (auto& [id, l] : leases_) {
          const bool live = l.state == LeaseState::kStarting || l.state == LeaseState::kRunning;
          const bool expired = l.ended_by_manager || auth::unix_now_ms() >= l.end_ms;
          end_lease(l, live && !expired ? LeaseState::kFailed : LeaseState::kStopped,
                    live && !expired ? reason : "executor stopped");
        }
        publish_reports();
        link_->farewell(reason, std::chrono::seconds(3));
        if (!config_.ready_file.empty()) std::remove(config_.ready_file.c_str());
        return 0;
      } else if (tag == kTagLink) {
        uint64_t v;
        (void)!read(link_->wake_fd(), &v, sizeof(v));
        if (auto a = link_->take_assignment()) apply(*a);
      } else if (tag >= kFirstLeaseTag) {
        auto it = lease_by_tag_.find(tag);
        if (it == lease_by_tag_.end()) continue;
        auto lit = leases_.find(it->second);
        if (lit == leases_.end()) continue;
        if ((tag - kFirstLeaseTag) % 2 == 0) on_worker_control(lit->second);
        else on_worker_exit(lit->second);
      } else if (pending_.count(tag) != 0) {
        on_pending(tag);
      } else if (auto it = conn_lease_.find(tag); it != conn_lease_.end()) {
        // Hang-up of a connection the worker closed: drop our duplicate.
        auto lit = leases_.find(it->second);
        if (lit != leases_.end() && lit->second.worker) lit->second.worker->forget(tag);
        conn_lease_.erase(it);
      }
    }
    const uint64_t now = now_ns();
    if (now - last_tick >= kTickMs * 1000000ull) {
      last_tick = now;
      tick();
      if (idle_and_left()) {
        for (auto& [id, l] : leases_) end_lease(l, LeaseState::kStopped, "executor left");
        if (!config_.ready_file.empty()) std::remove(config_.ready_file.c_str());
        return 0;
      }
    }
  }
}

}  // namespace hpcless::executor
