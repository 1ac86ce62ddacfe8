#include "executor/slurm/slurm_job.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "comm/auth/lease_token.hpp"
#include "comm/base/error.hpp"
#include "comm/base/log.hpp"
#include "executor/spawn/child_process.hpp"

namespace hpcless::executor {

namespace {

std::optional<int64_t> parse_uint(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
    s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return std::string(s);
}

// `name` on PATH (ChildProcess execs without searching it); `name` itself when not found, so
// that the error names it.
std::string on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/usr/bin:/bin";
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return name;
}

// Runs argv with stdout captured; nullopt (and `why`) on failure or when `timeout` passes.
std::optional<std::string> capture(const std::vector<std::string>& argv,
                                   std::chrono::milliseconds timeout, std::string& why) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    why = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  UniqueFd rd(p[0]), wr(p[1]);
  SpawnOptions o;
  o.argv = argv;
  o.fd_map = {{wr.get(), 1}};
  o.stderr_path = "/dev/null";
  ChildProcess child;
  try {
    child = ChildProcess::spawn(o);
  } catch (const Error& e) {
    why = e.what();
    return std::nullopt;
  }
  wr.reset();
  const Deadline deadline = Deadline::after(timeout);
  std::string out;
  char buf[4096];
  while (true) {
    pollfd pfd{rd.get(), POLLIN, 0};
    const int left = static_cast<int>(deadline.remaining_ms());
    if (left <= 0) {
      why = argv[0] + " did not answer within " + std::to_string(timeout.count()) + " ms";
      return std::nullopt;  // the destructor stops the child
    }
    const int n = poll(&pfd, 1, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    const ssize_t r = read(rd.get(), buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (out.size() < 65536) out.append(buf, static_cast<size_t>(r));
  }
  const auto st = child.wait(deadline);
  if (!st) {
    why = argv[0] + " did not exit within " + std::to_string(timeout.count()) + " ms";
    return std::nullopt;
  }
  if (!WIFEXITED(*st) || WEXITSTATUS(*st) != 0) {
    why = argv[0] + " " + describe_wait_status(*st);
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::optional<int64_t> parse_slurm_duration_s(std::string_view s) {
  int64_t days = 0;
  if (auto dash = s.find('-'); dash != std::string_view::npos) {
    const auto d = parse_uint(s.substr(0, dash));
    if (!d) return std::nullopt;
    days = *d;
    s.remove_prefix(dash + 1);
  }
  int64_t parts[3];
  size_t n = 0;
  while (true) {
    const auto colon = s.find(':');
    const auto v = parse_uint(s.substr(0, colon));
    if (!v || n == 3) return std::nullopt;
    parts[n++] = *v;
    if (colon == std::string_view::npos) break;
    s.remove_prefix(colon + 1);
  }
  int64_t secs = 0;
  for (size_t i = 0; i < n; ++i) secs = secs * 60 + parts[i];
  return days * 86400 + secs;
}

std::optional<int64_t> parse_slurm_time_ms(std::string_view s) {
  const std::string str(s);
  std::tm tm{};
  const char* end = strptime(str.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  tm.tm_isdst = -1;  // Slurm prints local time; let mktime find whether DST applies
  const time_t t = mktime(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return static_cast<int64_t>(t) * 1000;
}

std::optional<SlurmJobInfo> parse_squeue_line(std::string_view line, int64_t now_ms) {
  const std::string l = trim(line);
  const auto a = l.find('|');
  const auto b = a == std::string::npos ? a : l.find('|', a + 1);
  if (b == std::string::npos || l.find('|', b + 1) != std::string::npos) return std::nullopt;
  SlurmJobInfo info;
  info.state = l.substr(0, a);
  if (info.state.empty()) return std::nullopt;
  if (auto end = parse_slurm_time_ms(std::string_view(l).substr(a + 1, b - a - 1))) {
    info.end_ms = *end;
  } else if (auto left = parse_slurm_duration_s(std::string_view(l).substr(b + 1))) {
    info.end_ms = now_ms + *left * 1000;
  }
  return info;
}

std::optional<SlurmJobInfo> query_slurm_job(const std::string& job_id,
                                            std::chrono::milliseconds timeout, std::string& why) {
  const auto out = capture({on_path("squeue"), "-h", "-j", job_id, "-o", "%T|%e|%L"}, timeout, why);
  if (!out) return std::nullopt;
  const std::string line = trim(*out);
  if (line.empty()) {
    why = "squeue does not list job " + job_id + " (ended?)";
    return std::nullopt;
  }
  auto info = parse_squeue_line(line.substr(0, line.find('\n')), auth::unix_now_ms());
  if (!info) why = "cannot read squeue's answer '" + line.substr(0, 120) + "'";
  return info;
}

SlurmJobWatch::SlurmJobWatch(std::string job_id, std::chrono::milliseconds interval)
    : job_id_(std::move(job_id)), interval_(interval) {
  std::string why;
  const auto info = query_slurm_job(job_id_, std::chrono::seconds(10), why);
  if (!info)
    throw ConfigError("--slurm-job " + job_id_ + ": " + why +
                      "; run inside the job (SLURM_JOB_ID) with squeue in PATH");
  end_ms_ = info->end_ms;
  thread_ = std::thread([this] { run(); });
}

SlurmJobWatch::~SlurmJobWatch() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SlurmJobWatch::run() {
  uint64_t failures = 0;
  while (true) {
    {
      std::unique_lock lk(mu_);
      if (cv_.wait_for(lk, interval_, [&] { return stop_; })) return;
    }
    std::string why;
    const auto info = query_slurm_job(job_id_, std::chrono::seconds(5), why);
    if (!info) {
      // Keep the last known end: a slow slurmctld must not make the node look endless.
      if (failures++ % 10 == 0) log::warn("slurm job " + job_id_ + ": " + why);
      continue;
    }
    failures = 0;
    // Ends derived from %L jitter by a second between polls: only a real move counts.
    const int64_t old = end_ms_.load();
    const bool moved = (old == 0) != (info->end_ms == 0) || std::llabs(old - info->end_ms) > 1500;
    if (!moved) continue;
    end_ms_ = info->end_ms;
    log::info("slurm job " + job_id_ + " now ends at " + std::to_string(info->end_ms) +
              " (Unix ms; was " + std::to_string(old) + ")");
  }
}

std::string SlurmJobWatch::termination_reason(int64_t now_ms) const {
  std::string why, state;
  if (const auto info = query_slurm_job(job_id_, std::chrono::milliseconds(1500), why))
    state = info->state;
  const int64_t end = end_ms_.load();
  std::string r = "Slurm job " + job_id_;
  if (state == "TIMEOUT" || (end > 0 && now_ms >= end - 5000))
    r += " reached its time limit";
  else if (state == "PREEMPTED")
    r += " was preempted";
  else if (end > 0)
    r += " was cancelled (" + std::to_string((end - now_ms) / 1000) + " s before its time limit)";
  else
    r += " was cancelled";
  if (!state.empty() && state != "TIMEOUT" && state != "PREEMPTED") r += "; squeue: " + state;
  return r;
}

}  // namespace hpcless::executor
