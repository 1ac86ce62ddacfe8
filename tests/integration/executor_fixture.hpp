// Support for the integration tests: a real hpcless-executor daemon per test (RAII), helpers to
// run programs to completion, to find and measure the worker process from outside (/proc), and
// the list of transports compiled in, over which every functional test is parameterized.
//
// Thread safety: ExecutorProcess is owned by the test's main thread; the free functions are
// thread-safe.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client/lib/connection.hpp"
#include "comm/base/fd.hpp"
#include "executor/spawn/child_process.hpp"

namespace hpcless::itest {

// ---- what the build produced (absolute paths baked in by CMake) ----------------------------
std::string executor_binary();
std::string cli_binary();
std::string core_package();   // libhpcless_core_functions.so
std::string test_package();   // libhpcless_test_functions.so
std::string not_a_package();  // a shared library without a manifest

// ---- transports ------------------------------------------------------------------------------
// Transports compiled into this build; functional suites are instantiated once per entry.
const std::vector<std::string>& transports();
// The address of the RDMA device's interface ($HPCLESS_RDMA_ADDRESS; default 198.18.0.1, the
// soft-RoCE guest's).
std::string rdma_address();

// Base fixture of the functional suites: GetParam() is the transport.
class TransportTest : public ::testing::TestWithParam<std::string> {};

// ---- client options ----------------------------------------------------------------------------
enum class Mode { kHot, kWarm };
const char* to_string(Mode m);
void PrintTo(Mode m, std::ostream* os);  // readable test parameters ("hot", not raw bytes)
// kHot: the worker busy-polls this connection (hot timeout -1) and the client spins for replies.
// kWarm: the worker blocks (hot timeout 0) and the client waits in poll().
client::ConnectOptions connect_options(Mode mode);

// ---- bytes -----------------------------------------------------------------------------------
std::vector<std::byte> to_bytes(std::string_view s);
// Deterministic pseudo-random bytes (all 256 values occur, zeros included).
std::vector<std::byte> pattern_bytes(size_t n, uint32_t seed);
// zlib CRC32 as 8 lowercase hex digits (what the core `checksum` function returns).
std::string crc32_hex(std::span<const std::byte> b);
// Byte-exact comparison that reports the first difference instead of dumping megabytes.
::testing::AssertionResult same_bytes(std::span<const std::byte> expected,
                                      std::span<const std::byte> actual);

// Server and client timestamps of one successful invocation must be ordered
// client_send <= recv <= start <= end <= send <= client_recv (one host, one CLOCK_MONOTONIC).
void expect_timestamps_ordered(const client::InvocationResult& r);

// ---- files and processes ---------------------------------------------------------------------
// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const noexcept { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);  // empty when missing
void write_file(const std::string& path, std::span<const std::byte> bytes);

struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
  uint64_t cpu_ticks = 0;  // utime + stime of all threads, in clock ticks
};
// /proc/<pid>/stat; std::nullopt when the process does not exist.
std::optional<ProcStat> read_proc_stat(pid_t pid);
// Live (non-zombie) children of `parent`, found by scanning /proc/*/stat.
std::vector<pid_t> children_of(pid_t parent);
// True while `pid` exists and is not a zombie.
bool process_alive(pid_t pid);
// What a process did over a `window` of wall time (slept through by the caller), in cores
// (1.0 = one core for the whole window).
struct CpuUse {
  double cpu = 0;  // CPU time used: utime + stime from /proc/<pid>/stat
  // Time its threads were running or waiting for a core (/proc/<pid>/task/*/schedstat); a
  // busy-polling thread is runnable all the time however loaded the machine is. -1: unknown.
  double runnable = -1;
  // Busy-polling: most of a core used, or, on a machine too loaded to give it that, runnable
  // throughout.
  bool spinning() const { return cpu > 0.40 || runnable > 0.90; }
  // Blocked: neither using a core nor asking for one.
  bool idle() const { return cpu < 0.10 && runnable < 0.10; }
};
CpuUse measure_cpu(pid_t pid, std::chrono::milliseconds window);
std::ostream& operator<<(std::ostream& os, const CpuUse& u);

struct RunResult {
  std::optional<int> wait_status;  // std::nullopt: timed out (the process was killed)
  std::string out;
  std::string err;
  bool exited() const;
  int exit_code() const;         // -1 unless the process exited normally
  std::string describe() const;  // for failure messages
};
// Runs a program to completion with stdout and stderr captured.
RunResult run_to_exit(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// A loopback address on which nothing listens while this object lives (its port is bound but
// not listening), so connections to it are refused.
class ClosedPort {
 public:
  ClosedPort();
  const std::string& address() const noexcept { return address_; }

 private:
  UniqueFd fd_;
  std::string address_;
};

// ---- the executor daemon ---------------------------------------------------------------------
struct ExecutorOptions {
  std::string transport = "tcp";
  std::string package = core_package();
  uint32_t workers = 1;
  uint32_t max_payload = 0;  // 0: the executor's default (64 MiB)
  // Whether the destructor expects SIGTERM to end the daemon with exit code 0.
  bool expect_clean_exit = true;
  // Whether the test crashes the worker on purpose: then AddressSanitizer's report of the crash
  // in the log is expected (undefined behaviour and leak reports still fail the test).
  bool expect_worker_crashes = false;
};

// A standalone executor on 127.0.0.1:0 (no core pinning), serving once the constructor returns.
// The constructor throws when the daemon exits or has not written its ready file within 20 s.
// The destructor stops it (SIGTERM) and, when the test failed, prints the daemon's log.
class ExecutorProcess {
 public:
  explicit ExecutorProcess(ExecutorOptions opts = {});
  ~ExecutorProcess();
  ExecutorProcess(const ExecutorProcess&) = delete;
  ExecutorProcess& operator=(const ExecutorProcess&) = delete;

  const std::string& address() const noexcept { return address_; }
  const std::string& transport() const noexcept { return opts_.transport; }
  pid_t pid() const noexcept { return process_.pid(); }
  // The worker process (the daemon's only child). Waits up to `timeout` for one to exist: after
  // a crash the daemon starts a new worker.
  pid_t worker_pid(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  std::string log() const;
  const std::string& ready_file() const noexcept { return ready_file_; }

  // Connects over this executor's transport (opts.transport is overridden).
  std::unique_ptr<client::Connection> connect(const client::ConnectOptions& opts) const;
  std::unique_ptr<client::Connection> connect(Mode mode = Mode::kWarm) const {
    return connect(connect_options(mode));
  }

  // Sends SIGTERM and waits; the raw wait status, or std::nullopt if still running at `timeout`.
  std::optional<int> terminate(std::chrono::milliseconds timeout);

 private:
  ExecutorOptions opts_;
  TempDir dir_;
  std::string ready_file_;
  std::string log_file_;
  std::string address_;
  executor::ChildProcess process_;
};

// Connects a fresh client and checks that an echo round trips (the executor still serves).
void expect_serves_new_client(const ExecutorProcess& exec);

}  // namespace hpcless::itest
