#include "manager/slurm/slurm_text.hpp"

#include <algorithm>
#include <cmath>

#include "comm/base/error.hpp"

namespace hpcless::manager::slurm {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string shown(std::string_view s) {
  std::string t(s.substr(0, 200));
  for (char& c : t)
    if (c == '\n' || c == '\r') c = ' ';
  return "'" + t + "'";
}

}  // namespace

std::vector<std::string> sbatch_argv(const SubmitSpec& s) {
  std::vector<std::string> a = {s.sbatch,
                                "--parsable",
                                "--job-name=" + s.job_name,
                                "--nodes=1",
                                "--ntasks=1",
                                "--cpus-per-task=" + std::to_string(s.cores),
                                "--time=" + std::to_string(s.time_limit_minutes)};
  if (s.memory_mb > 0) a.push_back("--mem=" + std::to_string(s.memory_mb) + "M");
  if (!s.partition.empty()) a.push_back("--partition=" + s.partition);
  if (!s.output.empty()) a.push_back("--output=" + s.output);
  a.insert(a.end(), s.extra_args.begin(), s.extra_args.end());
  a.push_back(s.script);
  a.insert(a.end(), s.script_args.begin(), s.script_args.end());
  return a;
}

std::vector<std::string> squeue_argv(const std::string& squeue, const std::string& job_id) {
  return {squeue, "--noheader", "--jobs=" + job_id, "--format=%T %r"};
}

std::vector<std::string> scancel_argv(const std::string& scancel, const std::string& job_id) {
  return {scancel, job_id};
}

int time_limit_minutes(double lease_seconds, double margin_seconds) {
  const double total = std::max(0.0, lease_seconds) + std::max(0.0, margin_seconds);
  const double minutes = std::ceil(total / 60.0 - 1e-9);
  return static_cast<int>(std::clamp(minutes, 1.0, 1e8));
}

std::string parse_sbatch_job_id(std::string_view out) {
  // --parsable prints "jobid" or "jobid;cluster"; a site's job_submit plugin may print notes on
  // lines before it, so the last non-empty line counts.
  std::string_view text = trim(out);
  const size_t nl = text.rfind('\n');
  std::string_view line = trim(nl == std::string_view::npos ? text : text.substr(nl + 1));
  const std::string_view id = line.substr(0, line.find(';'));
  if (!all_digits(id) || id.size() > 18)
    throw Error("sbatch --parsable printed no job id (got " + shown(out) + ")");
  return std::string(id);
}

bool JobStatus::finished() const {
  if (!listed) return true;
  static constexpr std::string_view kEnded[] = {
      "COMPLETED", "COMPLETING", "CANCELLED",     "FAILED",   "TIMEOUT",      "NODE_FAIL",
      "PREEMPTED", "BOOT_FAIL",  "OUT_OF_MEMORY", "DEADLINE", "SPECIAL_EXIT", "REVOKED"};
  return std::find(std::begin(kEnded), std::end(kEnded), state) != std::end(kEnded);
}

std::string JobStatus::describe() const {
  if (!listed) return "not in the queue any more";
  if (reason.empty() || reason == "None") return state;
  return state + ": " + reason;
}

JobStatus parse_squeue_status(std::string_view out) {
  JobStatus s;
  const std::string_view text = trim(out);
  if (text.empty()) return s;  // the job has left the queue
  // One job, one line; the reason may contain spaces ("(ReqNodeNotAvail, ...)").
  const std::string_view line = trim(text.substr(0, text.find('\n')));
  const size_t sp = line.find(' ');
  const std::string_view state = line.substr(0, sp);
  const bool upper = !state.empty() && std::all_of(state.begin(), state.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || c == '_';
  });
  if (!upper) throw Error("squeue printed no job state (got " + shown(out) + ")");
  s.listed = true;
  s.state = std::string(state);
  if (sp != std::string_view::npos) {
    std::string_view reason = trim(line.substr(sp + 1));
    if (reason.size() >= 2 && reason.front() == '(' && reason.back() == ')')
      reason = reason.substr(1, reason.size() - 2);
    s.reason = std::string(reason);
  }
  return s;
}

bool squeue_says_unknown_job(std::string_view err) {
  return err.find("Invalid job id") != std::string_view::npos;
}

bool hopeless_pending_reason(std::string_view reason) {
  // Reasons that stay until someone changes the job, the partition or the account (Slurm's
  // job_reason strings). Resources, Priority, ReqNodeNotAvail, PartitionDown ... may clear by
  // themselves and are waited out.
  static constexpr std::string_view kHopeless[] = {
      "PartitionConfig",          "PartitionNodeLimit", "PartitionTimeLimit", "BadConstraints",
      "InvalidAccount",           "InvalidQOS",         "JobHeldAdmin",       "JobHeldUser",
      "DependencyNeverSatisfied", "AccountNotAllowed",  "QOSNotAllowed"};
  return std::find(std::begin(kHopeless), std::end(kHopeless), reason) != std::end(kHopeless);
}

}  // namespace hpcless::manager::slurm
