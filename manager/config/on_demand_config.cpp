#include "manager/config/on_demand_config.hpp"

#include <unistd.h>

#include <cmath>

#include "comm/base/error.hpp"
#include "comm/base/json.hpp"

namespace hpcless::manager {

namespace {

constexpr const char* kKnown =
    "enabled, sbatch, squeue, scancel, script, partition, extra_args, executor_args, output, "
    "manager_url, start_deadline_s, time_margin_s, poll_interval_ms, command_timeout_s, "
    "max_pending_jobs, api_token_file, token_secret_file";

std::vector<std::string> string_list(const nlohmann::json& v) {
  if (!v.is_array()) throw ConfigError("must be a list of strings");
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string()) throw ConfigError("must be a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

double non_negative_number(const nlohmann::json& v) {
  if (!v.is_number()) throw ConfigError("must be a number");
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < 0) throw ConfigError("must be a number >= 0");
  return d;
}

int64_t non_negative_integer(const nlohmann::json& v) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0)
    throw ConfigError("must be a non-negative integer");
  return v.get<int64_t>();
}

std::string text(const nlohmann::json& v) {
  if (!v.is_string()) throw ConfigError("must be a string");
  return v.get<std::string>();
}

}  // namespace

OnDemandConfig on_demand_config_from_json(const nlohmann::json& j, const std::string& origin) {
  if (!j.is_object()) throw ConfigError(origin + ": key 'on_demand' must hold a JSON object");
  OnDemandConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    try {
      if (key == "enabled") {
        if (!v.is_boolean()) throw ConfigError("must be true or false");
        c.enabled = v.get<bool>();
      } else if (key == "sbatch") {
        c.sbatch = text(v);
      } else if (key == "squeue") {
        c.squeue = text(v);
      } else if (key == "scancel") {
        c.scancel = text(v);
      } else if (key == "script") {
        c.script = text(v);
      } else if (key == "partition") {
        c.partition = text(v);
      } else if (key == "extra_args") {
        c.extra_args = string_list(v);
      } else if (key == "executor_args") {
        c.executor_args = string_list(v);
      } else if (key == "output") {
        c.output = text(v);
      } else if (key == "manager_url") {
        c.manager_url = text(v);
      } else if (key == "start_deadline_s") {
        c.start_deadline_s = non_negative_number(v);
      } else if (key == "time_margin_s") {
        c.time_margin_s = non_negative_number(v);
      } else if (key == "poll_interval_ms") {
        c.poll_interval_ms = non_negative_integer(v);
      } else if (key == "command_timeout_s") {
        c.command_timeout_s = non_negative_integer(v);
      } else if (key == "max_pending_jobs") {
        c.max_pending_jobs = static_cast<size_t>(non_negative_integer(v));
      } else if (key == "api_token_file") {
        c.api_token_file = text(v);
      } else if (key == "token_secret_file") {
        c.token_secret_file = text(v);
      } else if (key == "comment") {
        continue;
      } else {
        throw ConfigError(std::string("is unknown (known: ") + kKnown + ")");
      }
    } catch (const ConfigError& e) {
      throw ConfigError(origin + ": key 'on_demand." + key + "' " + e.what());
    }
  }
  return c;
}

void check_on_demand_config(const OnDemandConfig& c) {
  if (!c.enabled) return;
  if (c.script.empty())
    throw ConfigError(
        "on_demand.script is required when on_demand.enabled is true (the executor job, e.g. "
        "slurm/hpcless-executor.sbatch on a file system the compute nodes share)");
  if (::access(c.script.c_str(), R_OK) != 0)
    throw ConfigError("on_demand.script '" + c.script + "' cannot be read");
  for (const auto* p : {&c.sbatch, &c.squeue, &c.scancel})
    if (p->empty()) throw ConfigError("on_demand.sbatch, squeue and scancel must not be empty");
  if (!(c.start_deadline_s >= 1 && c.start_deadline_s <= 3600))
    throw ConfigError("on_demand.start_deadline_s must be 1..3600 seconds");
  if (c.time_margin_s > 86400) throw ConfigError("on_demand.time_margin_s must be 0..86400");
  if (c.poll_interval_ms < 10 || c.poll_interval_ms > 60000)
    throw ConfigError("on_demand.poll_interval_ms must be 10..60000");
  if (c.command_timeout_s < 1 || c.command_timeout_s > 600)
    throw ConfigError("on_demand.command_timeout_s must be 1..600");
  if (c.max_pending_jobs < 1 || c.max_pending_jobs > 4096)
    throw ConfigError("on_demand.max_pending_jobs must be 1..4096");
  if (c.api_token_file.empty() != c.token_secret_file.empty())
    throw ConfigError(
        "on_demand.api_token_file and on_demand.token_secret_file go together: set both or "
        "neither");
  for (const auto* f : {&c.api_token_file, &c.token_secret_file})
    if (!f->empty() && ::access(f->c_str(), R_OK) != 0)
      throw ConfigError("on_demand secret file '" + *f + "' cannot be read");
  if (!c.manager_url.empty() && c.manager_url.rfind("http://", 0) != 0)
    throw ConfigError("on_demand.manager_url must be http://HOST:PORT (got '" + c.manager_url +
                      "')");
}

}  // namespace hpcless::manager
