#include "tests/integration/executor_fixture.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/base/fd.hpp"

namespace hpcless::itest {

using namespace std::chrono_literals;

std::string executor_binary() { return HPCLESS_EXECUTOR_BIN; }
std::string cli_binary() { return HPCLESS_CLI_BIN; }
std::string core_package() { return HPCLESS_CORE_PACKAGE; }
std::string test_package() { return HPCLESS_TEST_PACKAGE; }
std::string not_a_package() { return HPCLESS_NOT_A_PACKAGE; }

const std::vector<std::string>& transports() {
  // The RDMA instances carry the label `rdma` (tests/integration/CMakeLists.txt) and run in the
  // soft-RoCE guest (tests/rdma-vm), where HPCLESS_RDMA_ADDRESS names the rxe interface.
#ifdef HPCLESS_HAVE_RDMA
  static const std::vector<std::string> list = {"tcp", "rdma"};
#else
  static const std::vector<std::string> list = {"tcp"};
#endif
  return list;
}

std::string rdma_address() {
  const char* a = std::getenv("HPCLESS_RDMA_ADDRESS");
  return a != nullptr && *a != '\0' ? a : "198.18.0.1";
}

const char* to_string(Mode m) { return m == Mode::kHot ? "hot" : "warm"; }

void PrintTo(Mode m, std::ostream* os) { *os << to_string(m); }

client::ConnectOptions connect_options(Mode mode) {
  client::ConnectOptions o;
  o.client_name = "hpcless-integration-test";
  o.connect_timeout = 5s;
  o.hot_timeout_ms = mode == Mode::kHot ? protocol::kHotAlways : protocol::kWarmAlways;
  o.busy_poll = mode == Mode::kHot;
  return o;
}

// ---- bytes -------------------------------------------------------------------------------------

std::vector<std::byte> to_bytes(std::string_view s) {
  std::vector<std::byte> b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}

std::vector<std::byte> pattern_bytes(size_t n, uint32_t seed) {
  // xorshift32: cheap enough for 64 MiB, and every byte value shows up.
  std::vector<std::byte> b(n);
  uint32_t x = seed == 0 ? 0x9e3779b9u : seed;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b[i] = static_cast<std::byte>(x >> 24);
  }
  return b;
}

std::string crc32_hex(std::span<const std::byte> b) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = reinterpret_cast<const Bytef*>(b.data());
  size_t left = b.size();
  while (left > 0) {
    const uInt n = left > (1u << 30) ? (1u << 30) : static_cast<uInt>(left);
    crc = crc32(crc, p, n);
    p += n;
    left -= n;
  }
  char hex[16];
  std::snprintf(hex, sizeof(hex), "%08lx", static_cast<unsigned long>(crc));
  return hex;
}

::testing::AssertionResult same_bytes(std::span<const std::byte> expected,
                                      std::span<const std::byte> actual) {
  if (expected.size() != actual.size())
    return ::testing::AssertionFailure()
           << "sizes differ: expected " << expected.size() << " bytes, got " << actual.size();
  for (size_t i = 0; i < expected.size(); ++i)
    if (expected[i] != actual[i])
      return ::testing::AssertionFailure()
             << "first difference at byte " << i << " of " << expected.size() << ": expected "
             << static_cast<int>(expected[i]) << ", got " << static_cast<int>(actual[i]);
  return ::testing::AssertionSuccess();
}

void expect_timestamps_ordered(const client::InvocationResult& r) {
  const auto& s = r.server;
  EXPECT_NE(s.recv_ns, 0u) << "the worker sent no timestamps";
  EXPECT_LE(r.client_send_ns, s.recv_ns) << "server received before the client sent";
  EXPECT_LE(s.recv_ns, s.start_ns);
  EXPECT_LE(s.start_ns, s.end_ns);
  EXPECT_LE(s.end_ns, s.send_ns);
  EXPECT_LE(s.send_ns, r.client_recv_ns) << "client received before the server sent";
}

// ---- files and processes -----------------------------------------------------------------------

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/hpcless-itest-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw_system_error("mkdtemp(" + tmpl + ")");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  // read(2), not std::ifstream: reading /proc/<pid>/... of a process that exits meanwhile fails
  // with ESRCH, which libstdc++'s filebuf turns into an exception instead of an empty result.
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  std::string text;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return {};
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

void write_file(const std::string& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw Error("cannot write " + path);
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  const std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
  // "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so parse after the last ')'.
  const size_t close = text.rfind(')');
  if (text.empty() || close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 1));
  std::vector<std::string> f((std::istream_iterator<std::string>(fields)),
                             std::istream_iterator<std::string>());
  // f[0] is field 3 (state), f[1] field 4 (ppid), f[11] field 14 (utime), f[12] field 15 (stime).
  if (f.size() < 13) return std::nullopt;
  ProcStat st;
  st.state = f[0].empty() ? '?' : f[0][0];
  st.ppid = static_cast<pid_t>(std::stol(f[1]));
  st.cpu_ticks = std::stoull(f[11]) + std::stoull(f[12]);
  return st;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> kids;
  DIR* d = opendir("/proc");
  if (d == nullptr) throw_system_error("opendir(/proc)");
  while (const dirent* e = readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || pid <= 0) continue;
    const auto st = read_proc_stat(static_cast<pid_t>(pid));
    if (st && st->ppid == parent && st->state != 'Z' && st->state != 'X')
      kids.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  return kids;
}

bool process_alive(pid_t pid) {
  const auto st = read_proc_stat(pid);
  return st && st->state != 'Z' && st->state != 'X';
}

namespace {
// Sum over the process's threads of (time on a core + time waiting for one), in ns.
std::optional<uint64_t> runnable_ns(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return std::nullopt;
  uint64_t total = 0;
  bool any = false;
  while (const dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::istringstream in(read_file(dir + "/" + e->d_name + "/schedstat"));
    uint64_t run = 0, wait = 0;
    if (in >> run >> wait) {
      total += run + wait;
      any = true;
    }
  }
  closedir(d);
  if (!any) return std::nullopt;
  return total;
}
}  // namespace

CpuUse measure_cpu(pid_t pid, std::chrono::milliseconds window) {
  const auto before = read_proc_stat(pid);
  const auto run_before = runnable_ns(pid);
  const uint64_t t0 = now_ns();
  std::this_thread::sleep_for(window);
  const auto after = read_proc_stat(pid);
  const auto run_after = runnable_ns(pid);
  const uint64_t t1 = now_ns();
  if (!before || !after) throw Error("process " + std::to_string(pid) + " vanished while measured");
  const double wall_s = static_cast<double>(t1 - t0) / 1e9;
  CpuUse u;
  u.cpu = static_cast<double>(after->cpu_ticks - before->cpu_ticks) /
          static_cast<double>(sysconf(_SC_CLK_TCK)) / wall_s;
  if (run_before && run_after && *run_after >= *run_before)
    u.runnable = static_cast<double>(*run_after - *run_before) / 1e9 / wall_s;
  return u;
}

std::ostream& operator<<(std::ostream& os, const CpuUse& u) {
  os << "cpu " << u.cpu << " cores, runnable ";
  if (u.runnable < 0) return os << "unknown";
  return os << u.runnable << " cores";
}

bool RunResult::exited() const { return wait_status && WIFEXITED(*wait_status); }

int RunResult::exit_code() const { return exited() ? WEXITSTATUS(*wait_status) : -1; }

std::string RunResult::describe() const {
  std::string s = wait_status ? executor::describe_wait_status(*wait_status) : "timed out";
  return s + "\n--- stdout ---\n" + out + "\n--- stderr ---\n" + err;
}

RunResult run_to_exit(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  TempDir dir;
  executor::SpawnOptions o;
  o.argv = argv;
  o.stdout_path = dir.file("stdout");
  o.stderr_path = dir.file("stderr");
  auto child = executor::ChildProcess::spawn(o);
  RunResult r;
  r.wait_status = child.wait(Deadline::after(timeout));
  if (!r.wait_status) child.stop(500ms);
  r.out = read_file(o.stdout_path);
  r.err = read_file(o.stderr_path);
  return r;
}

ClosedPort::ClosedPort() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  if (!fd_) throw_system_error("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw_system_error("binding a loopback port");
  address_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

// ---- the executor daemon -----------------------------------------------------------------------

ExecutorProcess::ExecutorProcess(ExecutorOptions opts) : opts_(std::move(opts)) {
  if (opts_.transport != "tcp" && opts_.transport != "rdma")
    throw ConfigError("the integration fixture does not know transport '" + opts_.transport + "'");
  ready_file_ = dir_.file("ready");
  log_file_ = dir_.file("executor.log");
  executor::SpawnOptions o;
  o.argv = {executor_binary(), "--standalone", "--listen",    "127.0.0.1:0",
            "--package",       opts_.package,  "--workers",   std::to_string(opts_.workers),
            "--ready-file",    ready_file_,    "--node-name", "itest-node"};
  if (opts_.max_payload != 0) {
    o.argv.push_back("--max-payload");
    o.argv.push_back(std::to_string(opts_.max_payload));
  }
  if (opts_.transport == "rdma") {
    o.argv.push_back("--rdma-address");
    o.argv.push_back(rdma_address());
  }
  o.stdout_path = log_file_;
  o.stderr_path = log_file_;
  process_ = executor::ChildProcess::spawn(o);

  // The daemon writes the ready file (atomically, by rename) once it accepts clients.
  const auto deadline = Deadline::after(20s);
  while (true) {
    std::string text = read_file(ready_file_);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (!text.empty()) {
      address_ = text;
      return;
    }
    if (auto st = process_.try_wait())
      throw Error("hpcless-executor " + executor::describe_wait_status(*st) +
                  " before serving; its log:\n" + log());
    if (deadline.expired()) {
      process_.stop(1000ms);
      throw TimeoutError("hpcless-executor wrote no ready file within 20 s; its log:\n" + log());
    }
    std::this_thread::sleep_for(5ms);
  }
}

ExecutorProcess::~ExecutorProcess() {
  if (process_.running()) {
    // Generous grace: a worker thread may be inside a long function (the deadline tests leave a
    // 3 s sleep running), and the daemon waits for its worker before exiting.
    const int status = process_.stop(10s);
    if (opts_.expect_clean_exit && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
      ADD_FAILURE() << "hpcless-executor did not stop cleanly on SIGTERM: "
                    << executor::describe_wait_status(status);
  }
  // In sanitizer builds the daemon and its workers report problems only in their log (a
  // worker's exit status is not ours to see).
  const std::string text = log();
  for (const char* marker : {"runtime error:", "ERROR: LeakSanitizer", "ERROR: AddressSanitizer"}) {
    if (opts_.expect_worker_crashes && std::string_view(marker) == "ERROR: AddressSanitizer")
      continue;
    if (text.find(marker) != std::string::npos)
      ADD_FAILURE() << "the executor's log holds a sanitizer report (" << marker << ")";
  }
  if (::testing::Test::HasFailure())
    std::cerr << "---- hpcless-executor log (" << address_ << ") ----\n"
              << log() << "---- end of log ----\n";
}

pid_t ExecutorProcess::worker_pid(std::chrono::milliseconds timeout) const {
  const auto deadline = Deadline::after(timeout);
  while (true) {
    const auto kids = children_of(pid());
    if (!kids.empty()) return kids.front();
    if (deadline.expired())
      throw TimeoutError("hpcless-executor " + std::to_string(pid()) + " has no worker process");
    std::this_thread::sleep_for(5ms);
  }
}

std::string ExecutorProcess::log() const { return read_file(log_file_); }

std::unique_ptr<client::Connection> ExecutorProcess::connect(
    const client::ConnectOptions& opts) const {
  client::ConnectOptions o = opts;
  o.transport = opts_.transport;
  return client::Connection::connect(address_, o);
}

std::optional<int> ExecutorProcess::terminate(std::chrono::milliseconds timeout) {
  process_.signal(SIGTERM);
  return process_.wait(Deadline::after(timeout));
}

void expect_serves_new_client(const ExecutorProcess& exec) {
  auto conn = exec.connect(Mode::kWarm);
  client::InvocationResult r;
  const auto input = to_bytes("still serving");
  conn->invoke(conn->function_id("echo"), input, r, Deadline::after(5s));
  EXPECT_TRUE(r.ok()) << r.error_message();
  EXPECT_EQ(r.output_text(), "still serving");
}

}  // namespace hpcless::itest
