// A small alpha-beta cost model of the channels, used to pick a communicator's channel when
// CommOptions::channel is ChannelKind::kAuto (docs/communication.md, "Choosing the channel").
//
// One entry per (channel, operation class): predicted microseconds for one call moving `n` bytes
// on the `ranks` ranks it was calibrated with = alpha_us + beta_us_per_byte * n. Other group
// sizes scale the entry the way the algorithms scale: peer-to-peer channels (direct) need
// ~log2(p) latency steps and move ~2n bytes per rank whatever p is, so alpha scales with
// ceil(log2 p); object stores (Redis, S3) take a constant number of requests per rank but each
// rank fetches p-1 contributions, so beta scales with p-1. One rank costs nothing.
//
// The defaults are fits of the figures in docs/comm-bench.md (4 ranks on the development VM);
// `hpcless experiment comm` writes cost_model.json with fits of its own measurements, which
// CostModel::load() reads (also from the "comm" section of a run configuration).
//
// Thread safety: a CostModel is a value; const calls may run concurrently.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comm/communicator/channel_kind.hpp"

namespace hpcless::comm {

// What the auto choice optimises for: the operation that dominates the group's traffic.
enum class OpClass : uint8_t {
  kP2p,        // one message between two ranks (comm-bench "latency")
  kAllreduce,  // reductions (allreduce, reduce, reduce_scatter)
  kBcast,      // one-to-all data movement (bcast, scatter, gather)
};
std::string_view to_string(OpClass op) noexcept;
std::optional<OpClass> op_class_from_string(std::string_view s) noexcept;

struct LinkCost {
  double alpha_us = 0;          // fixed cost per call
  double beta_us_per_byte = 0;  // cost per byte of the call's message
  int ranks = 2;                // group size of the measurements
};

// Fits t = alpha + beta * bytes to (bytes, microseconds) points by least squares weighted with
// 1/t^2 (relative error, so that 8-byte latencies count as much as 4 MiB transfers), with alpha
// and beta kept >= 0. One point gives alpha = t, beta = 0. Throws ConfigError without points or
// with a non-finite or negative value.
LinkCost fit_alpha_beta(std::span<const std::pair<double, double>> bytes_us, int ranks);

class CostModel {
 public:
  // Fits of the figures in docs/comm-bench.md.
  static CostModel defaults();
  // Reads a cost_model.json (as `hpcless experiment comm` writes it) or a run configuration
  // whose "comm" object has "cost_model": an inline model or a path (relative to the file's
  // folder). Entries missing from the file keep their defaults. Throws ConfigError naming the
  // file and the field.
  static CostModel load(const std::string& path);
  // The same from JSON text; `origin` names it in errors.
  static CostModel from_json(std::string_view text, std::string_view origin,
                             const std::string& base_dir = ".");
  // $HPCLESS_COMM_COST_MODEL when set (a file for load()), else defaults().
  static CostModel from_env();

  // {"version": 1, "source": ..., "channels": {"direct": {"allreduce": {"alpha_us": ...,
  //  "beta_us_per_byte": ..., "ranks": 4}, ...}, ...}}
  std::string to_json(std::string_view source = "") const;

  void set(ChannelKind channel, OpClass op, LinkCost cost);
  std::optional<LinkCost> get(ChannelKind channel, OpClass op) const;
  // Predicted microseconds of one `op` of `bytes` on `ranks` ranks; nullopt without an entry.
  std::optional<double> predict(ChannelKind channel, OpClass op, int ranks, size_t bytes) const;
  // The candidate with the lowest prediction; ties and candidates without an entry go to the
  // earlier candidate (so the choice is deterministic for equal inputs). Throws ConfigError when
  // `candidates` is empty or holds kAuto.
  ChannelKind choose(std::span<const ChannelKind> candidates, OpClass op, int ranks,
                     size_t bytes) const;

 private:
  std::map<std::pair<ChannelKind, OpClass>, LinkCost> costs_;
};

}  // namespace hpcless::comm
