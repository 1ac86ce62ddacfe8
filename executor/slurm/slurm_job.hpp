// The Slurm job an executor runs in: when it ends, and why it stopped.
//
// The executor asks squeue for its job's state and end time every few seconds, so that an end
// moved by `scontrol update TimeLimit=...` (or a job started with an unknown end) reaches the
// manager with the next heartbeat. At SIGTERM it tells a time limit from a cancellation by
// comparing the time with the known end.
//
// Thread safety: the accessors may be called from any thread; the watch polls on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace hpcless::executor {

// squeue's time formats: "[D-]HH:MM:SS", "MM:SS", "SS"; "UNLIMITED" and "NOT_SET" give nullopt.
std::optional<int64_t> parse_slurm_duration_s(std::string_view s);
// squeue's %e: local time "YYYY-MM-DDTHH:MM:SS" -> Unix ms; nullopt for "N/A", "Unknown", junk.
std::optional<int64_t> parse_slurm_time_ms(std::string_view s);

struct SlurmJobInfo {
  std::string state;   // RUNNING, COMPLETING, CANCELLED, TIMEOUT, PREEMPTED, ...
  int64_t end_ms = 0;  // 0: no end known (unlimited)
};
// One line of `squeue -h -o "%T|%e|%L"`; the end comes from %e, else now + %L.
std::optional<SlurmJobInfo> parse_squeue_line(std::string_view line, int64_t now_ms);

// Runs squeue for the job (deadline `timeout`); nullopt with `why` when the job is not listed or
// squeue fails.
std::optional<SlurmJobInfo> query_slurm_job(const std::string& job_id,
                                            std::chrono::milliseconds timeout, std::string& why);

class SlurmJobWatch {
 public:
  // Queries once before returning: throws ConfigError when squeue does not know the job.
  SlurmJobWatch(std::string job_id, std::chrono::milliseconds interval);
  ~SlurmJobWatch();
  SlurmJobWatch(const SlurmJobWatch&) = delete;
  SlurmJobWatch& operator=(const SlurmJobWatch&) = delete;

  const std::string& job_id() const noexcept { return job_id_; }
  int64_t end_ms() const noexcept { return end_ms_.load(); }
  // Why the job is ending, for a SIGTERM received at `now_ms` (asks squeue once more, briefly).
  std::string termination_reason(int64_t now_ms) const;

 private:
  void run();

  const std::string job_id_;
  const std::chrono::milliseconds interval_;
  std::atomic<int64_t> end_ms_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace hpcless::executor
