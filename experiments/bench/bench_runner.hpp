// `hpcless bench run`: prepares each benchmark's input, ships its package to an executor, invokes
// it `repetitions` times, validates every output and writes the results folder
// (docs/benchmarks.md): invocations.jsonl, summary.csv, metadata.json, phases.{gp,png,svg}.
//
// Cold and warm are told apart by the worker's cold flag (the first run of a function in a
// worker process, decided before the function runs), never by position: against an executor
// that already ran a benchmark there is no cold invocation, and the summary says so (no row).
// Every planned invocation produces a record: failures (error replies, timeouts, broken
// connections, prepare or package-load failures) and wrong outputs are recorded, never dropped.
//
// Thread safety: single-threaded.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "client/lib/connection.hpp"
#include "experiments/bench/bench_records.hpp"
#include "experiments/bench/phase_plot.hpp"
#include "functions/bench/benchmark.hpp"

namespace hpcless::bench {

// Where invocations go. The runner opens a target once per benchmark and again after a broken
// connection.
class InvocationTarget {
 public:
  virtual ~InvocationTarget() = default;
  // (Re)connects, ships `package` and resolves `function`. Throws on failure.
  virtual void open(std::span<const std::byte> package, const std::string& function) = 0;
  // The connection for the next invocation, and the function's id there.
  virtual client::Connection& next(uint32_t& function_id) = 0;
  // Microseconds the last package load took (all connections).
  virtual double load_us() const = 0;
  // "executor 127.0.0.1:7000", "lease L (2 workers)" (for metadata).
  virtual std::string describe() const = 0;
};

// One connection to a standalone executor at HOST:PORT.
std::unique_ptr<InvocationTarget> address_target(const std::string& address, bool hot,
                                                 std::chrono::milliseconds timeout);

struct BenchRunOptions {
  std::vector<std::string> benchmarks;  // registry names (or ids); "all": every benchmark
  SizeClass size = SizeClass::kTest;
  size_t repetitions = 10;  // invocations per benchmark, the cold one included
  std::string address;      // executor HOST:PORT (unless `target` is set)
  // Where to invoke; null: address_target(address, hot, timeout). The lease target of the CLI
  // (--lease) plugs in here.
  std::function<std::unique_ptr<InvocationTarget>()> target;
  std::string storage_config;                 // JSON file with a "storage" section; empty: none
  std::filesystem::path out_dir;              // created; must not hold a run
  std::filesystem::path packages_dir;         // where libhpcless_bench_<id>.so files are
  bool hot = false;                           // busy-poll both sides (default: warm, blocking)
  std::chrono::milliseconds timeout{120000};  // connect, package load, and each invocation
};

struct BenchRunResult {
  std::vector<BenchSummaryRow> rows;
  size_t records = 0;
  size_t failures = 0;
  size_t invalid = 0;
  PhasePlotResult plot;
};

// The benchmarks named in `names` ("all" expands), in registry order, duplicates removed.
// Throws ConfigError for an unknown name.
std::vector<const BenchmarkSpec*> select_benchmarks(const Registry& registry,
                                                    const std::vector<std::string>& names);

// One invocation of a prepared benchmark on `conn`, validated. Never throws for the invocation's
// own failures (they are in the record's status); throws TimeoutError/IoError when the connection
// broke (then the caller records that and reconnects).
BenchRecord invoke_and_validate(client::Connection& conn, uint32_t function_id,
                                const BenchmarkSpec& spec, SizeClass size,
                                const PreparedInput& input, const StorageAccess& storage,
                                uint64_t rep, Deadline deadline, client::InvocationResult& scratch);

// Throws ConfigError for bad options or an existing results folder; everything that goes wrong
// per benchmark or per invocation is recorded instead. Progress lines go to `log` (may be null).
BenchRunResult run_benchmarks(const Registry& registry, const BenchRunOptions& options,
                              std::FILE* log);

}  // namespace hpcless::bench
