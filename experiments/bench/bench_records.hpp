// Records and summaries of `hpcless bench run` (docs/benchmarks.md, "Results"):
//   invocations.jsonl  one BenchRecord per invocation, schema hpcless.bench.invocation.v1
//   summary.csv        one row per benchmark and kind (cold / warm), phase p50 columns
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "comm/base/json.hpp"
#include "comm/protocol/frame.hpp"
#include "experiments/common/stats.hpp"

namespace hpcless::bench {

inline constexpr std::string_view kBenchInvocationSchema = "hpcless.bench.invocation.v1";
inline constexpr std::string_view kBenchSummaryHeader =
    "benchmark,size,kind,count,failures,invalid,p50_us,p90_us,p99_us,p999_us,mean_us,min_us,"
    "max_us,function_p50_us,download_p50_us,compute_p50_us,upload_p50_us";

struct BenchRecord {
  std::string benchmark;  // "120.uploader"
  std::string function;   // entry point name
  std::string size_class;
  std::string package;
  std::string mode = "warm";  // how the connection waits: "hot" or "warm"
  uint64_t rep = 0;           // index within the benchmark's invocations
  bool cold = false;          // as reported by the worker (false when no reply arrived)
  // "ok", or what went wrong: the status and message of an error reply, a timeout, a broken
  // connection, a prepare or package-load failure.
  std::string status = "ok";
  // Set when the invocation returned a result: whether the output was correct, and why not.
  std::optional<bool> valid;
  std::string validation_message;
  std::optional<protocol::PhaseTimes> phases;  // none when the worker sent no phase block
  uint64_t client_send_ns = 0;                 // 0: never got that far
  uint64_t client_recv_ns = 0;
  std::optional<protocol::ServerTimestamps> server;
  size_t input_bytes = 0;
  size_t output_bytes = 0;
  std::optional<uint32_t> worker;
  std::string node;

  bool ok() const noexcept { return status == "ok"; }
  // Succeeded and validated: the only invocations that enter the latency statistics.
  bool good() const noexcept { return ok() && valid.value_or(false); }
};

nlohmann::ordered_json to_json(const BenchRecord& r);

struct BenchSummaryRow {
  std::string benchmark;
  std::string size_class;
  std::string kind;              // "cold" or "warm"
  experiments::Summary latency;  // client round trip (us) over good invocations
  double function_p50_us = 0;    // server end - start
  double phase_p50_us[3] = {0, 0, 0};
  size_t failures = 0;  // status != ok
  size_t invalid = 0;   // ok but the output failed validation
};

// Rows for every (benchmark, kind) that has records, benchmarks in first-seen order, cold first.
// Invocations without a reply count as warm failures (nothing says they were cold).
std::vector<BenchSummaryRow> summarize_records(std::span<const BenchRecord> records);

std::string summary_csv_line(const BenchSummaryRow& row);
std::string summary_csv(std::span<const BenchSummaryRow> rows);

}  // namespace hpcless::bench
