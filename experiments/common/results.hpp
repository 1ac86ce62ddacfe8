// The results folder every experiment writes (see DESIGN.md, "Results"):
//   invocations.jsonl  one JSON object per invocation (schema hpcless.invocation.v1)
//   summary.csv        one row per series: percentiles, mean, min, max, count, failures
//   metadata.json      host, build, git revision, full configuration, clock-offset estimate
// Plots are written next to them by plot.hpp.
//
// Records are written after the timed loop that produced them (a block at a time), never
// inside it. Thread safety: none; one thread owns a ResultsWriter.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "comm/base/json.hpp"
#include "comm/protocol/frame.hpp"
#include "experiments/common/stats.hpp"

namespace hpcless::experiments {

inline constexpr std::string_view kInvocationSchema = "hpcless.invocation.v1";
inline constexpr std::string_view kSummaryHeader =
    "system,transport,mode,payload_bytes,count,p50_us,p90_us,p99_us,p999_us,mean_us,min_us,"
    "max_us,failures";

struct InvocationRecord {
  std::string system;  // "hpcless", "raw-tcp" or "grpc"
  std::string transport = "tcp";
  std::string mode;  // "hot" or "warm"
  std::string function;
  size_t payload_bytes = 0;
  size_t output_bytes = 0;
  uint64_t rep = 0;    // index among the timed (or, with warmup, the warm-up) invocations
  uint64_t block = 0;  // index of the connection block within its series
  bool warmup = false;
  uint64_t client_send_ns = 0;  // CLOCK_MONOTONIC; 0 when the invocation never got that far
  uint64_t client_recv_ns = 0;
  std::optional<protocol::ServerTimestamps> server;  // none for the baselines (raw-tcp, grpc)
  std::string status = "ok";                         // "ok" or the error text
  bool cold = false;
  std::optional<uint32_t> worker;
  std::string node;
};

// The JSON object written for one record (keys in schema order, "schema" first). latency_us is
// null unless both client times are set.
nlohmann::ordered_json to_json(const InvocationRecord& r);

struct SummaryRow {
  std::string system;
  std::string transport = "tcp";
  std::string mode;
  size_t payload_bytes = 0;
  Summary stats;  // over successful timed invocations, in microseconds
  size_t failures = 0;
};

// One summary.csv data line (no newline); statistics are empty cells when count is 0.
std::string summary_csv_line(const SummaryRow& row);

// NTP-style offset between the client's and the worker's clocks, from each successful round
// trip: ((srv_recv - cli_send) + (srv_send - cli_recv)) / 2; reported as the median.
class ClockOffsetEstimator {
 public:
  void add(uint64_t client_send_ns, const protocol::ServerTimestamps& server,
           uint64_t client_recv_ns);
  size_t samples() const noexcept { return offsets_.size(); }
  // Median offset in nanoseconds (worker minus client), or nullopt without samples.
  std::optional<double> median_ns() const;

 private:
  std::vector<double> offsets_;
};

// ISO 8601 UTC with milliseconds, e.g. "2024-05-01T12:34:56.789Z".
std::string utc_timestamp(std::chrono::system_clock::time_point t);

// Host (hostname, kernel, CPU model, cores) and build (compiler, build type, git revision,
// hpcless version) facts for metadata.json.
nlohmann::json host_metadata();
nlohmann::json build_metadata();

// Assembles metadata.json: experiment, configuration, times, host, build, clock offset.
nlohmann::json make_metadata(std::string_view experiment, const nlohmann::json& config,
                             std::chrono::system_clock::time_point start,
                             std::chrono::system_clock::time_point end,
                             const ClockOffsetEstimator& clock_offset);

// Writes a whole file via a temporary and rename(), so that a crash or a concurrent reader never
// sees half a file. Throws Error naming the file (cannot create, disk full, cannot rename).
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

class ResultsWriter {
 public:
  // Creates `dir` (with parents) and invocations.jsonl. Throws ConfigError when the folder
  // already holds a run (results are never overwritten) or cannot be created.
  explicit ResultsWriter(std::filesystem::path dir);
  ResultsWriter(const ResultsWriter&) = delete;
  ResultsWriter& operator=(const ResultsWriter&) = delete;

  const std::filesystem::path& dir() const noexcept { return dir_; }
  std::filesystem::path path_of(std::string_view file) const { return dir_ / file; }
  size_t records_written() const noexcept { return records_; }

  // Appends one line to invocations.jsonl. Throws Error when the write fails (disk full, ...).
  void append(const InvocationRecord& record);
  // Pushes buffered lines to the file (call after each block).
  void flush();
  // Writes summary.csv / metadata.json (replacing earlier versions atomically).
  void write_summary(std::span<const SummaryRow> rows);
  void write_metadata(const nlohmann::json& metadata);

 private:
  std::filesystem::path dir_;
  std::ofstream jsonl_;
  size_t records_ = 0;
};

}  // namespace hpcless::experiments
