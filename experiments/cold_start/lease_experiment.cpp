#include "experiments/cold_start/lease_experiment.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>

#include "comm/base/cpu.hpp"
#include "comm/base/error.hpp"

namespace hpcless::experiments {

using nlohmann::json;

void lease_payload(std::vector<std::byte>& buf, size_t size, uint64_t n) {
  buf.resize(size);
  for (size_t i = 0; i < size; ++i) buf[i] = static_cast<std::byte>((i * 167u + 13u) & 0xffu);
  for (size_t i = 0; i < size && i < 8; ++i)
    buf[i] = static_cast<std::byte>(((i * 167u + 13u) ^ (n >> (8 * i))) & 0xffu);
}

const char* check_function_reply(const std::string& function, std::span<const std::byte> input,
                                 std::span<const std::byte> output) {
  if (function == "echo") {
    if (output.size() != input.size()) return "echo reply has the wrong size";
    if (!output.empty() && std::memcmp(output.data(), input.data(), input.size()) != 0)
      return "echo reply differs from the request";
  } else if (function == "noop") {
    if (!output.empty()) return "noop reply is not empty";
  }
  return nullptr;
}

json manager_metadata(const client::LeaseClient& manager) {
  json m;
  m["url"] = manager.url();
  try {
    const auto h = manager.health();
    m["version"] = h.version;
    json nodes = json::array();
    for (const auto& n : manager.nodes())
      nodes.push_back({{"name", n.name},
                       {"address", n.address},
                       {"cores", n.cores},
                       {"memory_mb", n.memory_mb},
                       {"state", n.state}});
    m["nodes"] = nodes;
  } catch (const Error& e) {
    m["error"] = e.what();
  }
  return m;
}

json load_average() {
  std::ifstream in("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  if (!(in >> a >> b >> c)) return nullptr;
  return json::array({a, b, c});
}

void warn_if_loaded(const json& load, std::FILE* out) {
  if (out == nullptr || !load.is_array() || load.empty()) return;
  const double one = load[0].get<double>();
  const int cores = usable_core_count();
  if (one <= cores) return;
  std::fprintf(out,
               "warning: load average %.1f on %d usable cores: other work will skew these "
               "latencies (recorded in metadata.json)\n",
               one, cores);
  std::fflush(out);
}

void add_manager_experiment_options(cxxopts::Options& opts) {
  opts.add_options("manager")("manager", "manager URL http://HOST:PORT (default: $HPCLESS_MANAGER)",
                              cxxopts::value<std::string>())(
      "token-file", "file holding the API token (default: $HPCLESS_API_TOKEN)",
      cxxopts::value<std::string>());
}

client::ManagerOptions manager_experiment_options(const cxxopts::ParseResult& args) {
  std::optional<std::string> url, token_file;
  if (args.count("manager")) url = args["manager"].as<std::string>();
  if (args.count("token-file")) token_file = args["token-file"].as<std::string>();
  return client::ManagerOptions::resolve(url, token_file);
}

double parse_duration_ms(const std::string& text, const std::string& option) {
  size_t used = 0;
  double v = -1;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  double scale = 1;
  if (unit == "" || unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "us")
    scale = 0.001;
  else if (unit == "m" || unit == "min")
    scale = 60000;
  else
    used = 0;
  if (used == 0 || !(v >= 0) || !std::isfinite(v) || v * scale > 3.6e6)
    throw ConfigError("invalid " + option + " value '" + text +
                      "': a duration such as 1ms, 100ms, 1s or 2.5s (at most 1 hour)");
  return v * scale;
}

std::string format_duration_ms(double ms) {
  char b[32];
  if (ms >= 1000)
    std::snprintf(b, sizeof(b), "%g s", ms / 1000);
  else if (ms >= 1 || ms == 0)
    std::snprintf(b, sizeof(b), "%g ms", ms);
  else
    std::snprintf(b, sizeof(b), "%g us", ms * 1000);
  return b;
}

LeaseExperimentStart start_lease_experiment(std::chrono::system_clock::time_point started,
                                            const client::LeaseClient& manager,
                                            std::FILE* progress) {
  LeaseExperimentStart start{started, manager_metadata(manager), load_average()};
  warn_if_loaded(start.load_start, progress);
  if (start.manager_state.contains("error"))
    throw Error("manager at " + manager.url() + ": " +
                start.manager_state["error"].get<std::string>());
  return start;
}

void write_lease_metadata(ResultsWriter& out, std::string_view experiment, json config,
                          const LeaseExperimentStart& start, const ClockOffsetEstimator& clock,
                          const std::string& aborted, const json& extra) {
  config["manager_state"] = start.manager_state;
  json meta =
      make_metadata(experiment, config, start.started, std::chrono::system_clock::now(), clock);
  meta["aborted"] = aborted.empty() ? json(nullptr) : json(aborted);
  meta["records"] = out.records_written();
  meta["load_average_start"] = start.load_start;  // 1, 5, 15 min: other load skews latencies
  meta["load_average_end"] = load_average();
  meta.update(extra);
  out.write_metadata(meta);
}

}  // namespace hpcless::experiments
