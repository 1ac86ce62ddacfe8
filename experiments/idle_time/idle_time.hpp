// Experiment `idle-time`: the SeBS eviction experiment made local. Pairs of invocations separated
// by an idle gap (1 ms ... 10 s) on a lease with a short hot timeout and a short duration show
// what a caller meets after idling:
//   hot             the worker was still busy-polling (server-side idle time < hot timeout)
//   warm            it had gone to sleep in epoll (server-side idle time >= hot timeout); the
//                   idle time is read from the worker's timestamps: reply of the first
//                   invocation sent -> request of the second received
//   lease-expired   the lease ended during the gap: the worker answers `token expired` (11)
//   lease-ended     ... answered `lease ended` (15)
//   worker-stopped  the worker had already stopped (expiry + grace): the connection closed
//   re-lease-cold   after an expiry: a new lease, connect (worker spawn) and first invocation;
//                   its record's client_send_ns is when the new lease was requested, so its
//                   latency is the whole way back to a result
// Gaps shorter than the lease keep one lease, renewed whenever less than gap + margin is left.
// Gaps that outlive the lease get a fresh lease right before each pair, so that the expiry falls
// at lease_seconds into the gap every time.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "client/lib/lease_client.hpp"
#include "comm/base/json.hpp"
#include "experiments/common/plot.hpp"
#include "experiments/common/results.hpp"

namespace hpcless::experiments {

struct IdleTimeConfig {
  client::ManagerOptions manager;
  std::filesystem::path out_dir;
  std::vector<double> gaps_ms{1, 10, 100, 1000, 10000};
  size_t repetitions = 5;       // pairs per gap
  int32_t hot_timeout_ms = 50;  // the lease's
  double lease_seconds = 9;     // shorter than the longest default gap
  int renew_margin_ms = 2000;   // renew when less than gap + margin is left
  int cores = 1;
  std::string function = "echo";
  size_t payload = 64;
  bool client_busy_poll = true;  // the client spins for replies (so the worker's state shows)
  int timeout_ms = 10000;

  nlohmann::json to_json() const;
};

// One measured invocation (the second of a pair, or a re-lease).
struct IdleSample {
  uint64_t rep = 0;
  size_t gap_index = 0;
  double gap_ms = 0;
  std::string state;           // see the top of this file
  double latency_us = -1;      // -1: no reply
  double server_idle_ms = -1;  // the worker's idle time before the request, when known
  std::string status = "ok";   // "ok", or the status / error text
  std::string lease;
};

struct IdleTimeOutcome {
  std::filesystem::path results_dir;
  std::vector<SummaryRow> rows;  // per gap and state: mode = "<state>@<gap>"
  std::vector<IdleSample> samples;
  PlotResult plot;
  size_t failures = 0;  // errors other than the expected expiry outcomes
};

IdleTimeConfig normalized(IdleTimeConfig c);

// Runs the experiment. Progress lines to `progress` (nullptr: silent). Throws ConfigError for
// a bad configuration, Error when the manager or the workers keep failing; what was measured is
// in the results folder with summary and metadata by then.
IdleTimeOutcome run_idle_time(const IdleTimeConfig& config, std::FILE* progress);

// The table printed after a run: gap, state, count, p50, p99, max (us), statuses seen.
std::string format_idle_time_table(const std::vector<IdleSample>& samples);

std::string idle_time_gnuplot_script(const std::vector<IdleSample>& samples, int32_t hot_timeout_ms,
                                     double lease_seconds);

}  // namespace hpcless::experiments
