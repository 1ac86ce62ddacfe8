// Pieces shared by the experiments that run on leases (cold-start, idle-time): payloads and their
// validation, the manager's description for metadata.json, and the --manager/--token-file
// options.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cxxopts.hpp>
#include <span>
#include <string>
#include <vector>

#include "client/lib/lease_client.hpp"
#include "comm/base/json.hpp"
#include "experiments/common/results.hpp"

namespace hpcless::experiments {

// A deterministic byte pattern of `size` bytes with `n` stamped into the first 8 bytes (a stale
// reply to an earlier request is caught).
void lease_payload(std::vector<std::byte>& buf, size_t size, uint64_t n);

// nullptr when `output` is what `function` must return for `input` (echo: the input; noop:
// nothing; other functions: not checked), else the reason.
const char* check_function_reply(const std::string& function, std::span<const std::byte> input,
                                 std::span<const std::byte> output);

// {"url", "version", "nodes": [{name, address, cores, memory_mb, state}]} without tokens; on a
// manager error {"url", "error"} (metadata must not fail a run).
nlohmann::json manager_metadata(const client::LeaseClient& manager);

// /proc/loadavg's 1, 5 and 15 minute averages (other load skews latencies; metadata records
// it), or null when unreadable.
nlohmann::json load_average();
// One warning line on `out` when the 1-minute load is above the cores this process may use.
void warn_if_loaded(const nlohmann::json& load, std::FILE* out);

// What a lease experiment records before its first lease: the manager's state and the load.
struct LeaseExperimentStart {
  std::chrono::system_clock::time_point started;
  nlohmann::json manager_state;
  nlohmann::json load_start;
};
// Reads the manager's state and the load average, warning on `progress` (may be null) when the
// machine is busy. Throws Error when the manager cannot be reached: there is nothing to measure.
LeaseExperimentStart start_lease_experiment(std::chrono::system_clock::time_point started,
                                            const client::LeaseClient& manager,
                                            std::FILE* progress);
// Writes metadata.json of a lease experiment: `config` with the manager's state, "aborted" (the
// reason, null when the run completed), the record count, the load average at start and end,
// and the experiment's own `extra` keys.
void write_lease_metadata(ResultsWriter& out, std::string_view experiment, nlohmann::json config,
                          const LeaseExperimentStart& start, const ClockOffsetEstimator& clock,
                          const std::string& aborted, const nlohmann::json& extra);

// --manager URL, --token-file F (defaults: $HPCLESS_MANAGER, $HPCLESS_API_TOKEN).
void add_manager_experiment_options(cxxopts::Options& opts);
client::ManagerOptions manager_experiment_options(const cxxopts::ParseResult& args);

// "1ms", "10ms", "1s", "2.5s", "100us" or a bare number of milliseconds -> milliseconds.
// Throws ConfigError.
double parse_duration_ms(const std::string& text, const std::string& option);
// "1 ms", "10 s", "250 us" for tables and plot labels.
std::string format_duration_ms(double ms);

}  // namespace hpcless::experiments
