// Experiment `invocation-overhead`: hpcless hot/warm invocations over TCP against a raw TCP
// ping-pong and a gRPC unary call of the same payload on the same cores, side by side in one run.
//
// Method: for each mode and payload size, blocks of the selected systems alternate (A B C A B C
// ...) until each system has `repetitions` timed invocations. Every block opens a fresh
// connection (hpcless: Connection::connect; raw-tcp: a fresh echo-server thread; grpc: a fresh
// server and channel), runs a short warm-up, then its timed invocations, and closes the
// connection, so no spinning thread of one system competes with another. Every reply is
// validated; failures are counted and recorded. Records are written to the results folder after
// each block, never inside the timed loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "comm/base/json.hpp"
#include "experiments/common/plot.hpp"
#include "experiments/common/results.hpp"
#include "experiments/invocation_overhead/raw_tcp_baseline.hpp"

namespace hpcless::experiments {

inline constexpr size_t kMaxExperimentPayload = size_t{1} << 30;

// The systems compared (summary.csv's system column), in their default block order.
inline constexpr std::string_view kSystemHpcless = "hpcless";
inline constexpr std::string_view kSystemRawTcp = "raw-tcp";
inline constexpr std::string_view kSystemGrpc = "grpc";

// Every system this build can run: hpcless, raw-tcp and (when compiled in) grpc.
std::vector<std::string> available_systems();

struct InvocationOverheadConfig {
  std::string address;               // HOST:PORT of a running executor (needed for hpcless)
  std::filesystem::path out_dir;     // results folder (must not hold a run already)
  std::string function = "echo";     // hpcless only; the baselines always echo
  std::string transport = "tcp";     // hpcless only ("tcp" or "rdma"); the baselines are TCP
  std::vector<std::string> systems;  // block order; empty: available_systems()
  std::vector<size_t> sizes;         // payload bytes; empty: the default sweep 1 B .. 1 MiB
  std::vector<PollMode> modes{PollMode::kHot, PollMode::kWarm};
  size_t repetitions = 1000;        // timed invocations per mode, size and system
  size_t warmup = 100;              // warm-up invocations in a series' first block
  size_t later_warmup = 10;         // warm-up in later blocks (capped by `warmup`)
  size_t block = 100;               // timed invocations per block
  int32_t warm_hot_timeout_ms = 0;  // worker hot timeout for warm mode (0: always block)
  // Warm mode's client: blocks too (false, the default), or busy-polls while only the worker
  // blocks (as rFaaS's warm benchmark does).
  bool warm_client_spins = false;
  int client_core = 0;              // -1: do not pin
  int server_core = 1;              // baseline servers' threads; should be the worker's core
  int timeout_ms = 10000;           // deadline of each invocation and connect
  std::string token;                // lease token for a managed executor (never written out)
  std::string lease;                // the lease it came from, for metadata.json

  nlohmann::json to_json() const;
};

// Payload sizes min, min*factor, ... up to max (inclusive). Throws ConfigError.
std::vector<size_t> size_sweep(size_t min_size, size_t max_size, size_t factor);
// 1, 4, 16, ..., 1 MiB.
std::vector<size_t> default_sizes();
// Checks ranges and fills defaults (sizes sorted and de-duplicated, systems de-duplicated in
// the order given). Throws ConfigError, e.g. for grpc when it is not compiled in.
InvocationOverheadConfig normalized(InvocationOverheadConfig config);

struct InvocationOverheadOutcome {
  std::filesystem::path results_dir;
  std::vector<SummaryRow> rows;  // per mode, size: one row per system, in block order
  PlotResult plot;
  size_t records = 0;
  size_t failures = 0;
};

// Runs the experiment. Progress lines go to `progress` (nullptr: silent). Throws ConfigError for
// bad configuration and Error when the executor cannot be reached or keeps failing; whatever was
// measured before such an error is already in the results folder, with summary and metadata.
InvocationOverheadOutcome run_invocation_overhead(const InvocationOverheadConfig& config,
                                                  std::FILE* progress);

// The comparison table printed after a run: mode, payload, p50/p99 of hpcless, raw-tcp and grpc
// ("n/a" for a system not run), p50 ratios hpcless/raw-tcp and grpc/hpcless.
std::string format_overhead_table(const std::vector<SummaryRow>& rows);

}  // namespace hpcless::experiments
