#include "manager/ondemand/on_demand.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

#include "comm/auth/lease_token.hpp"
#include "comm/base/clock.hpp"
#include "comm/base/log.hpp"
#include "manager/core/api_error.hpp"
#include "manager/slurm/command_runner.hpp"

namespace hpcless::manager {

using nlohmann::json;

namespace {

std::vector<std::string> command_env() {
  // Slurm commands need SLURM_CONF, PATH ... but never the secrets (sbatch gets them separately,
  // only when they are meant for the job).
  return slurm::current_environment({"HPCLESS_API_TOKEN", "HPCLESS_TOKEN_SECRET",
                                     "HPCLESS_API_TOKEN_FILE", "HPCLESS_TOKEN_SECRET_FILE"});
}

std::string seconds_text(double s) {
  char b[32];
  std::snprintf(b, sizeof(b), "%g s", s);
  return b;
}

}  // namespace

// One on-demand request from submission to grant or refusal. Its destructor undoes what it set
// up (pending count, reservation, waiter), so every exit path leaves the manager clean.
class OnDemand::Attempt {
 public:
  Attempt(OnDemand& od, const LeaseRequest& req) : od_(od), req_(req) {
    timing_.requested_ms = auth::unix_now_ms();
    std::lock_guard lk(od_.mu_);
    if (od_.stopping_) throw ApiError(503, "the manager is stopping; retry the request later");
    if (od_.pending_ >= od_.cfg_.max_pending_jobs) {
      at_capacity_ = true;
      return;
    }
    ++od_.pending_;
    counted_ = true;
    od_.metrics_.on_demand_waiting.fetch_add(1);
  }

  ~Attempt() {
    {
      std::lock_guard lk(od_.mu_);
      if (!node_.empty()) od_.waiters_.erase(node_);
      if (counted_) --od_.pending_;
    }
    if (counted_) od_.metrics_.on_demand_waiting.fetch_sub(1);
    if (reserved_) od_.registry_.unreserve_node(node_);
  }

  Attempt(const Attempt&) = delete;
  Attempt& operator=(const Attempt&) = delete;

  Lease run(const std::string& refusal) {
    if (at_capacity_)
      refuse(refusal + "; on-demand: " + std::to_string(od_.cfg_.max_pending_jobs) +
             " executor jobs are starting already (on_demand.max_pending_jobs); retry later");
    submit(refusal);
    return wait_and_grant();
  }

 private:
  const OnDemandConfig& cfg() const { return od_.cfg_; }

  [[noreturn]] void refuse(const std::string& reason) {
    od_.metrics_.on_demand_failures.fetch_add(1);
    od_.registry_.record_refusal(req_, reason);
    log::warn("on-demand lease refused: " + reason);
    throw ApiError(409, reason);
  }

  void submit(const std::string& refusal) {
    slurm::SubmitSpec s;
    s.script = cfg().script;
    s.script_args = {"--manager", od_.manager_url_};
    s.script_args.insert(s.script_args.end(), cfg().executor_args.begin(),
                         cfg().executor_args.end());
    s.cores = req_.cores;
    const double seconds = static_cast<double>(req_.duration_ms) / 1000.0;
    s.time_limit_minutes = slurm::time_limit_minutes(seconds, cfg().time_margin_s);
    s.memory_mb = req_.memory_mb;
    s.partition = cfg().partition;
    s.output = cfg().output;
    s.extra_args = cfg().extra_args;
    try {
      job_ = od_.slurm_.submit(s, od_.job_env_);
    } catch (const slurm::SlurmError& e) {
      refuse(refusal + "; the on-demand executor job was not accepted: " + e.what());
    }
    timing_.job_id = job_;
    timing_.submitted_ms = auth::unix_now_ms();
    od_.metrics_.on_demand_submits.fetch_add(1);
    node_ = "slurm-" + job_;
    od_.registry_.reserve_node(node_);
    reserved_ = true;
    {
      std::lock_guard lk(od_.mu_);
      od_.waiters_[node_] = &waiter_;
    }
    // The executor may in principle have registered before the waiter was in place.
    for (const auto& v : od_.registry_.nodes())
      if (v.node.name == node_ && v.node.state == NodeState::kAlive) {
        std::lock_guard lk(od_.mu_);
        if (!waiter_.registered) {
          waiter_.registered = true;
          waiter_.registered_ms = v.node.registered_ms;
        }
      }
    od_.registry_.append_ledger(LedgerKind::kOnDemandSubmit, std::nullopt, node_,
                                {{"job_id", job_},
                                 {"cores", req_.cores},
                                 {"memory_mb", req_.memory_mb},
                                 {"seconds", seconds},
                                 {"time_limit_min", s.time_limit_minutes},
                                 {"partition", s.partition},
                                 {"refusal", refusal}});
    log::info("on-demand: submitted executor job " + job_ + " (" + std::to_string(req_.cores) +
              " cores, " + std::to_string(s.time_limit_minutes) + " min) for: " + refusal);
  }

  // Capacity may have come back while waiting (a lease ended, an idle executor is free): an
  // ordinary grant then serves the request at once, and the job is no longer needed.
  std::optional<Lease> try_pool() {
    GrantOptions o;
    o.record_refusal = false;
    try {
      Lease l = od_.registry_.grant(req_, o);
      cancel("the request was met by the pool (lease " + l.id + ")");
      log::info("on-demand: lease " + l.id + " granted on the pool while job " + job_ +
                " waited; cancelled the job");
      return l;
    } catch (const ApiError& e) {
      if (e.status() != 409) throw;
      return std::nullopt;
    }
  }

  // scancel with a ledger entry; returns a note for the refusal message. An executor of the job
  // that registered is taken out of the pool at once (it is being stopped).
  std::string cancel(const std::string& why) {
    std::string note = "cancelled it";
    try {
      od_.slurm_.cancel(job_);
    } catch (const slurm::SlurmError& e) {
      note = "scancel failed: " + std::string(e.what());
      log::error("on-demand: cannot cancel job " + job_ + ": " + e.what());
    }
    try {
      od_.registry_.deregister_node(node_, /*even_if_reserved=*/true);
    } catch (const ApiError&) {
      // 404: it never registered.
    }
    od_.registry_.append_ledger(LedgerKind::kOnDemandCancel, std::nullopt, node_,
                                {{"job_id", job_},
                                 {"reason", why},
                                 {"state", last_.state},
                                 {"slurm_reason", last_.reason},
                                 {"cancelled", note == "cancelled it"}});
    return note;
  }

  void saw_running(int64_t when_ms, const char* how) {
    timing_.running_ms = when_ms;
    od_.registry_.append_ledger(LedgerKind::kOnDemandStart, std::nullopt, node_,
                                {{"job_id", job_}, {"seen_by", how}});
  }

  Lease wait_and_grant() {
    const double limit_s = cfg().start_deadline_s;
    const Deadline deadline = Deadline::after(std::chrono::duration<double>(limit_s));
    const auto poll = std::chrono::milliseconds(cfg().poll_interval_ms);
    Deadline next_poll = Deadline::after(std::chrono::milliseconds(0));
    std::string squeue_error;
    while (true) {
      bool registered = false, stopping = false;
      {
        std::unique_lock lk(od_.mu_);
        const uint64_t until = std::min(next_poll.ns(), deadline.ns());
        const uint64_t now = now_ns();
        if (until > now && !waiter_.registered && !od_.stopping_)
          od_.cv_.wait_for(lk, std::chrono::nanoseconds(until - now),
                           [&] { return waiter_.registered || od_.stopping_; });
        registered = waiter_.registered;
        stopping = od_.stopping_;
        timing_.registered_ms = waiter_.registered_ms;
        timing_.job_started_ms = waiter_.job_started_ms;
      }
      if (stopping) {
        cancel("the manager is stopping");
        od_.metrics_.on_demand_failures.fetch_add(1);
        throw ApiError(503, "the manager is stopping; on-demand executor job " + job_ +
                                " was cancelled; retry the request later");
      }
      if (registered) return grant_on_node();
      if (deadline.expired()) {
        const std::string why =
            polled_ && last_.running()
                ? "on-demand executor job " + job_ + " is RUNNING but its executor did not " +
                      "register within " + seconds_text(limit_s) +
                      " (check the job's output and the executor's --manager URL)"
                : "on-demand executor job " + job_ + " did not start within " +
                      seconds_text(limit_s) + " (" + state_text(squeue_error) + ")";
        refuse(why + "; " + cancel("start deadline passed"));
      }
      if (!next_poll.expired()) continue;
      next_poll = Deadline::after(poll);
      if (auto l = try_pool()) return std::move(*l);
      try {
        last_ = od_.slurm_.status(job_, deadline);
        polled_ = true;
        squeue_error.clear();
      } catch (const slurm::SlurmError& e) {
        // Registration may still come: keep waiting, report it if the deadline passes.
        squeue_error = e.what();
        continue;
      }
      if (last_.running()) {
        if (timing_.running_ms == 0) saw_running(auth::unix_now_ms(), "squeue");
      } else if (last_.finished()) {
        {
          std::lock_guard lk(od_.mu_);
          if (waiter_.registered) continue;  // it registered while squeue ran
        }
        refuse("on-demand executor job " + job_ + " ended before its executor registered (" +
               last_.describe() + "); see the job's output" +
               (cfg().output.empty() ? "" : " (" + cfg().output + ")"));
      } else if (last_.pending() && slurm::hopeless_pending_reason(last_.reason)) {
        refuse("on-demand executor job " + job_ + " cannot start (" + last_.describe() +
               ": the partition or account does not allow this request); " +
               cancel("hopeless pending reason"));
      }
    }
  }

  std::string state_text(const std::string& squeue_error) const {
    if (!squeue_error.empty()) return "state unknown: " + squeue_error;
    if (!polled_) return "state not polled yet";
    return last_.describe();
  }

  Lease grant_on_node() {
    // No poll saw it running before it registered: it was running by then at the latest.
    if (timing_.running_ms == 0)
      saw_running(timing_.registered_ms, "registration");
    else
      timing_.running_ms = std::min(timing_.running_ms, timing_.registered_ms);
    GrantOptions o;
    o.record_refusal = false;
    o.only_node = node_;
    o.on_demand = timing_;
    try {
      Lease l = od_.registry_.grant(req_, o);
      od_.metrics_.on_demand_grants.fetch_add(1);
      log::info("on-demand: lease " + l.id + " granted on " + node_ + " after " +
                std::to_string(l.created_ms - timing_.requested_ms) + " ms");
      return l;
    } catch (const ApiError& e) {
      if (e.status() != 409) throw;
      refuse("on-demand executor " + node_ + " (job " + job_ +
             ") registered but cannot take the lease: " + e.what() + "; " +
             cancel("registered executor cannot take the lease"));
    }
  }

  OnDemand& od_;
  const LeaseRequest& req_;
  OnDemandTiming timing_;
  Waiter waiter_;
  slurm::JobStatus last_;
  std::string job_, node_;
  bool at_capacity_ = false, counted_ = false, reserved_ = false, polled_ = false;
};

OnDemand::OnDemand(Registry& registry, Metrics& metrics, OnDemandConfig config,
                   const std::string& api_token, const std::string& token_secret)
    : registry_(registry),
      metrics_(metrics),
      cfg_(std::move(config)),
      manager_url_(cfg_.manager_url),
      slurm_(slurm::SlurmCommands{cfg_.sbatch, cfg_.squeue, cfg_.scancel,
                                  std::chrono::seconds(cfg_.command_timeout_s)},
             command_env()) {
  if (!cfg_.api_token_file.empty()) {
    job_env_ = {"HPCLESS_API_TOKEN_FILE=" + cfg_.api_token_file,
                "HPCLESS_TOKEN_SECRET_FILE=" + cfg_.token_secret_file};
  } else {
    job_env_ = {"HPCLESS_API_TOKEN=" + api_token, "HPCLESS_TOKEN_SECRET=" + token_secret};
  }
}

void OnDemand::set_manager_url(std::string url) {
  manager_url_ = std::move(url);
  log::info("on-demand executors enabled: script '" + cfg_.script + "', executors report to " +
            manager_url_ + ", start deadline " + seconds_text(cfg_.start_deadline_s));
}

OnDemand::~OnDemand() { shutdown(); }

void OnDemand::shutdown() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

void OnDemand::on_registered(const NodeRegistration& r) {
  const int64_t now = auth::unix_now_ms();
  {
    std::lock_guard lk(mu_);
    auto it = waiters_.find(r.name);
    if (it == waiters_.end() || it->second->registered) return;
    it->second->registered = true;
    it->second->registered_ms = now;
    it->second->job_started_ms = r.job_started_ms;
  }
  cv_.notify_all();
}

Lease OnDemand::grant(const LeaseRequest& req, const std::string& refusal) {
  Attempt a(*this, req);
  return a.run(refusal);
}

}  // namespace hpcless::manager
