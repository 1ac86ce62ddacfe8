// One rank of `hpcless comm-bench` on an hpcless channel: joins the group through the TCP
// rendezvous store of its launcher and runs the shared OSU loop (osu/osu_bench.hpp).
#pragma once

#include <string>

#include "experiments/comm/channels.hpp"
#include "experiments/comm/osu/osu_bench.hpp"

namespace hpcless::experiments::comm_bench {

// Exit codes of a rank process (the launcher reads them).
inline constexpr int kRankOk = 0;
inline constexpr int kRankFailed = 1;     // anything else (bad arguments, validation, ...)
inline constexpr int kRankCommError = 3;  // a peer failed, a deadline passed (IoError, Timeout)

struct RankConfig {
  int rank = -1;
  int size = 0;
  std::string store;  // HOST:PORT of the launcher's StoreServer
  std::string group;
  ChannelSettings channel;
  osu::Options bench;
};

// Runs the rank; rank 0 prints the table to stdout. Errors go to stderr as one line naming the
// rank. Returns an exit code above.
int run_hpcless_rank(const RankConfig& cfg);

// The label of a channel in tables and CSV files: "hpcless-direct", "hpcless-direct-spin" ...
std::string hpcless_system_label(const ChannelSettings& s);

}  // namespace hpcless::experiments::comm_bench
