#include "experiments/invocation_overhead/invocation_overhead.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>

#include "client/lib/connection.hpp"
#include "comm/base/clock.hpp"
#include "comm/base/cpu.hpp"
#include "comm/base/error.hpp"
#include "experiments/invocation_overhead/grpc_baseline.hpp"

namespace hpcless::experiments {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kExperimentName = "invocation-overhead";
constexpr const char* kGrpcNotCompiledIn =
    "grpc baseline not compiled in (configure with libgrpc++-dev, protobuf-compiler-grpc, "
    "libprotobuf-dev and protobuf-compiler installed, HPCLESS_WITH_GRPC=ON)";
// A series gives up after this many blocks in a row that lost their connection.
constexpr int kMaxBrokenBlocks = 3;

// Pins the calling thread for the experiment and restores its previous affinity afterwards.
class ScopedPin {
 public:
  explicit ScopedPin(int core) {
    if (core < 0) return;
    saved_ok_ = pthread_getaffinity_np(pthread_self(), sizeof(saved_), &saved_) == 0;
    pin_current_thread(core);
  }
  ~ScopedPin() {
    if (saved_ok_) pthread_setaffinity_np(pthread_self(), sizeof(saved_), &saved_);
  }
  ScopedPin(const ScopedPin&) = delete;
  ScopedPin& operator=(const ScopedPin&) = delete;

 private:
  cpu_set_t saved_{};
  bool saved_ok_ = false;
};

// Deterministic payload: a byte pattern that depends on the offset (so shifted or truncated
// echoes are caught), with the repetition number stamped into the first bytes (so a stale
// reply to an earlier request is caught too).
void fill_pattern(std::vector<std::byte>& buf, size_t size) {
  buf.resize(size);
  for (size_t i = 0; i < size; ++i) buf[i] = static_cast<std::byte>((i * 167u + 13u) & 0xffu);
}

void stamp(std::vector<std::byte>& buf, uint64_t n) {
  for (size_t i = 0; i < buf.size() && i < 8; ++i)
    buf[i] = static_cast<std::byte>(((i * 167u + 13u) ^ (n >> (8 * i))) & 0xffu);
}

// Checks a successful reply against what the function must return. Returns an error or nullptr.
const char* check_reply(const std::string& function, std::span<const std::byte> input,
                        std::span<const std::byte> output) {
  if (function == "echo") {
    if (output.size() != input.size()) return "echo reply has the wrong size";
    if (!output.empty() && std::memcmp(output.data(), input.data(), input.size()) != 0)
      return "echo reply differs from the request";
  } else if (function == "noop") {
    if (!output.empty()) return "noop reply is not empty";
  }
  return nullptr;  // other functions: the status is all we can check here
}

// A core option must name a core this process may run on (checked before anything is pinned).
void check_core(int core, const char* option) {
  if (core < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return;  // let pinning report it
  if (core < CPU_SETSIZE && CPU_ISSET(core, &set)) return;
  std::string usable;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    if (!usable.empty()) usable += ',';
    usable += std::to_string(c);  // appended, not concatenated: GCC 12 -Wrestrict false alarm
  }
  throw ConfigError(std::string(option) + " " + std::to_string(core) +
                    " is not a core this process may use (usable: " + usable + ")");
}

std::string local_hostname() {
  char host[256] = {};
  return gethostname(host, sizeof(host) - 1) == 0 ? std::string(host) : "unknown";
}

client::ConnectOptions connect_options(const InvocationOverheadConfig& cfg, PollMode mode) {
  client::ConnectOptions o;
  o.hot_timeout_ms = mode == PollMode::kHot ? protocol::kHotAlways : cfg.warm_hot_timeout_ms;
  o.busy_poll = mode == PollMode::kHot || cfg.warm_client_spins;
  o.client_name = "hpcless-experiment-invocation-overhead";
  o.connect_timeout = std::chrono::milliseconds(cfg.timeout_ms);
  o.token = cfg.token;
  o.transport = cfg.transport;
  return o;
}

// Checks, before anything is written, that the executor answers, offers the function and takes
// the largest payload. Returns what it reports about itself, for metadata.json.
json preflight(const InvocationOverheadConfig& cfg) {
  auto conn = client::Connection::connect(cfg.address, connect_options(cfg, PollMode::kWarm));
  conn->function_id(cfg.function);  // throws naming the functions on offer
  const auto& info = conn->info();
  const size_t largest = cfg.sizes.back();
  if (largest > info.max_payload)
    throw ConfigError("payload size " + std::to_string(largest) +
                      " exceeds the worker's limit of " + std::to_string(info.max_payload) +
                      " bytes (start the executor with a larger --max-payload)");
  return {{"address", cfg.address},          {"node", info.node_name},
          {"package", info.package_name},    {"worker_id", info.worker_id},
          {"max_payload", info.max_payload}, {"max_inflight", info.max_inflight}};
}

// One invocation as measured in the timed loop; turned into an InvocationRecord afterwards.
struct Sample {
  uint64_t send_ns = 0;
  uint64_t recv_ns = 0;
  protocol::ServerTimestamps server;
  size_t output_bytes = 0;
  std::string error;  // empty: success (assigned only on failure, so no allocation otherwise)
};

enum class SystemKind : uint8_t { kHpcless, kRawTcp, kGrpc };

SystemKind kind_of(std::string_view system) {
  if (system == kSystemHpcless) return SystemKind::kHpcless;
  if (system == kSystemRawTcp) return SystemKind::kRawTcp;
  return SystemKind::kGrpc;  // normalized() admits nothing else
}

// Per system, mode and size: latencies of successful timed invocations and bookkeeping.
struct Series {
  std::string system;
  SystemKind kind = SystemKind::kHpcless;
  std::vector<double> latencies_us;
  size_t timed = 0;  // timed invocations attempted (successful or not)
  size_t failures = 0;
  size_t blocks = 0;
  int broken_in_a_row = 0;
  std::string last_break;
};

struct BlockPlan {
  size_t warmup = 0;
  size_t timed = 0;
};

// Everything one mode/size step needs; owns the reusable buffers.
class Runner {
 public:
  Runner(const InvocationOverheadConfig& cfg, ResultsWriter& out, ClockOffsetEstimator& clock)
      : cfg_(cfg), out_(out), clock_(clock), hostname_(local_hostname()) {
    const size_t most = std::max(cfg.warmup, cfg.later_warmup) + cfg.block;
    samples_.resize(most);
#if HPCLESS_HAVE_GRPC
    if (std::find(cfg.systems.begin(), cfg.systems.end(), kSystemGrpc) != cfg.systems.end())
      grpc_runtime_.emplace();
#endif
  }

  // Runs one mode/size step (A B C A B C blocks) and returns a summary row per system, in the
  // configured order.
  std::vector<SummaryRow> run_step(PollMode mode, size_t size) {
    std::vector<Series> series;
    for (const auto& name : cfg_.systems) {
      Series& s = series.emplace_back();
      s.system = name;
      s.kind = kind_of(name);
      s.latencies_us.reserve(cfg_.repetitions);
    }
    fill_pattern(input_, size);
    const auto unfinished = [&] {
      return std::any_of(series.begin(), series.end(),
                         [&](const Series& s) { return s.timed < cfg_.repetitions; });
    };
    while (unfinished()) {
      for (Series& s : series)
        if (s.timed < cfg_.repetitions) run_block(s, mode, size);
    }
    std::vector<SummaryRow> rows;
    rows.reserve(series.size());
    for (const Series& s : series) rows.push_back(row_of(s, mode, size));
    return rows;
  }

  const json& acked_hot_timeouts() const { return acked_; }

 private:
  client::ConnectOptions options(PollMode mode) const { return connect_options(cfg_, mode); }

  Deadline deadline() const { return Deadline::after(std::chrono::milliseconds(cfg_.timeout_ms)); }

  static bool is_hpcless(const Series& s) { return s.kind == SystemKind::kHpcless; }

  BlockPlan plan(const Series& s) const {
    BlockPlan p;
    p.warmup = s.blocks == 0 ? cfg_.warmup : std::min(cfg_.warmup, cfg_.later_warmup);
    p.timed = std::min(cfg_.block, cfg_.repetitions - s.timed);
    return p;
  }

  void run_block(Series& s, PollMode mode, size_t size) {
    const BlockPlan p = plan(s);
    BlockContext ctx;
    size_t filled = 0;
    switch (s.kind) {
      case SystemKind::kHpcless:
        filled = hpcless_block(p, mode, ctx);
        break;
      case SystemKind::kRawTcp:
        filled = raw_block(p, mode, ctx);
        break;
      case SystemKind::kGrpc:
        filled = grpc_block(p, ctx);
        break;
    }
    record_block(s, p, mode, size, filled, ctx);
  }

  struct BlockContext {
    std::optional<uint32_t> worker;
    std::string node;
    bool broken = false;
  };

  // Returns the number of samples filled (warm-up first, then timed).
  size_t hpcless_block(const BlockPlan& p, PollMode mode, BlockContext& ctx) {
    auto conn = client::Connection::connect(cfg_.address, options(mode));
    const uint32_t fid = conn->function_id(cfg_.function);
    ctx.worker = conn->info().worker_id;
    ctx.node = conn->info().node_name;
    const char* mode_name = to_string(mode);
    if (!acked_.contains(mode_name)) acked_[mode_name] = conn->info().hot_timeout_ms;
    const size_t total = p.warmup + p.timed;
    for (size_t i = 0; i < total; ++i) {
      Sample& smp = samples_[i];
      smp = Sample{};
      stamp(input_, i);
      // invoke() leaves the times alone when it answers without a round trip (payload too
      // large, too many in flight): clear them so that no stale times get recorded.
      result_.client_send_ns = result_.client_recv_ns = 0;
      result_.server = {};
      const Deadline dl = deadline();
      try {
        const auto st = conn->invoke(fid, input_, result_, dl);
        smp.send_ns = result_.client_send_ns;
        smp.recv_ns = result_.client_recv_ns;
        smp.server = result_.server;
        smp.output_bytes = result_.output.size();
        if (st != protocol::Status::kOk) {
          smp.error = result_.error_message();
        } else if (const char* why = check_reply(cfg_.function, input_, result_.output)) {
          smp.error = why;
        }
      } catch (const Error& e) {
        // Timeout or broken connection: the Connection is unusable; end the block here.
        smp.error = e.what();
        ctx.broken = true;
        return i + 1;
      }
    }
    return total;
  }

  // The echo loop of a baseline client (RawEchoClient, GrpcEchoClient). A failed round trip
  // ends the block; the next block starts on a fresh server and connection. Returns the number
  // of samples filled.
  template <class Client>
  size_t baseline_loop(const BlockPlan& p, Client& client, BlockContext& ctx) {
    ctx.node = hostname_;
    const size_t total = p.warmup + p.timed;
    size_t i = 0;
    for (; i < total; ++i) {
      Sample& smp = samples_[i];
      smp = Sample{};
      stamp(input_, i);
      const auto r = client.round_trip(input_, deadline());
      smp.send_ns = r.send_ns;
      smp.recv_ns = r.ok ? r.recv_ns : 0;
      if (!r.ok) {
        smp.error = r.error;
        ctx.broken = true;
        return i + 1;
      }
      smp.output_bytes = client.reply().size();
      if (const char* why = check_reply("echo", input_, client.reply())) smp.error = why;
    }
    return total;
  }

  size_t raw_block(const BlockPlan& p, PollMode mode, BlockContext& ctx) {
    RawEchoServer server(mode, cfg_.server_core, cfg_.sizes.back());
    std::optional<RawEchoClient> client;
    client.emplace(server.port(), mode, deadline());
    const size_t filled = baseline_loop(p, *client, ctx);
    client.reset();  // the server thread sees the close and exits
    server.stop();
    if (ctx.broken && !server.error().empty())
      samples_[filled - 1].error += " (server: " + server.error() + ")";
    return filled;
  }

  // gRPC has no hot/warm switch: the same block runs for both modes (its threads wait in epoll).
  size_t grpc_block(const BlockPlan& p, BlockContext& ctx) {
#if HPCLESS_HAVE_GRPC
    GrpcEchoServer server(cfg_.server_core, cfg_.sizes.back());
    std::optional<GrpcEchoClient> client;
    client.emplace(server.port(), deadline());
    const size_t filled = baseline_loop(p, *client, ctx);
    client.reset();  // closes the channel before the server goes
    server.stop();
    return filled;
#else
    (void)p;
    (void)ctx;
    throw ConfigError(kGrpcNotCompiledIn);  // normalized() keeps grpc out of such builds
#endif
  }

  void record_block(Series& s, const BlockPlan& p, PollMode mode, size_t size, size_t filled,
                    const BlockContext& ctx) {
    InvocationRecord rec;
    rec.system = s.system;
    rec.mode = to_string(mode);
    rec.function = is_hpcless(s) ? cfg_.function : std::string("echo");
    rec.payload_bytes = size;
    rec.transport = is_hpcless(s) ? cfg_.transport : std::string("tcp");
    rec.block = s.blocks;
    rec.worker = ctx.worker;
    rec.node = ctx.node;
    for (size_t i = 0; i < filled; ++i) {
      const Sample& smp = samples_[i];
      rec.warmup = i < p.warmup;
      rec.rep = rec.warmup ? i : s.timed;
      rec.client_send_ns = smp.send_ns;
      rec.client_recv_ns = smp.recv_ns;
      rec.output_bytes = smp.output_bytes;
      if (is_hpcless(s))
        rec.server = smp.server;
      else
        rec.server.reset();
      rec.status = smp.error.empty() ? "ok" : smp.error;
      out_.append(rec);
      const bool ok = smp.error.empty();
      if (!ok) ++s.failures;
      if (rec.warmup) continue;
      ++s.timed;
      if (ok) {
        s.latencies_us.push_back(static_cast<double>(smp.recv_ns - smp.send_ns) / 1000.0);
        if (is_hpcless(s)) clock_.add(smp.send_ns, smp.server, smp.recv_ns);
      }
    }
    out_.flush();
    ++s.blocks;
    if (ctx.broken) {
      s.last_break = samples_[filled - 1].error;
      if (++s.broken_in_a_row >= kMaxBrokenBlocks)
        throw Error(s.system + " " + to_string(mode) + " " + std::to_string(size) +
                    " B: " + std::to_string(kMaxBrokenBlocks) +
                    " blocks in a row lost their connection; last error: " + s.last_break);
      // The rest of the block was never attempted and is not counted; the limit above ends a
      // series whose blocks keep breaking (even in their warm-up).
    } else {
      s.broken_in_a_row = 0;
    }
  }

  SummaryRow row_of(const Series& s, PollMode mode, size_t size) const {
    SummaryRow r;
    r.system = s.system;
    r.transport = is_hpcless(s) ? cfg_.transport : std::string("tcp");
    r.mode = to_string(mode);
    r.payload_bytes = size;
    r.stats = summarize(s.latencies_us);
    r.failures = s.failures;
    return r;
  }

  const InvocationOverheadConfig& cfg_;
  ResultsWriter& out_;
  ClockOffsetEstimator& clock_;
  std::string hostname_;
  std::vector<Sample> samples_;
  std::vector<std::byte> input_;
  client::InvocationResult result_;
  json acked_ = json::object();
#if HPCLESS_HAVE_GRPC
  std::optional<GrpcRuntime> grpc_runtime_;  // created on the (pinned) client thread
#endif
};

std::string human_bytes(size_t b) {
  if (b >= (1u << 20) && b % (1u << 20) == 0) return std::to_string(b >> 20) + " MiB";
  if (b >= 1024 && b % 1024 == 0) return std::to_string(b >> 10) + " KiB";
  return std::to_string(b) + " B";
}

}  // namespace

json InvocationOverheadConfig::to_json() const {
  json modes_j = json::array();
  for (auto m : modes) modes_j.push_back(to_string(m));
  return {
      {"address", address},
      {"lease", lease.empty() ? nlohmann::json(nullptr) : nlohmann::json(lease)},
      {"out_dir", out_dir.string()},
      {"function", function},
      {"transport", transport},
      {"warm_client_spins", warm_client_spins},
      {"systems", systems},
      {"sizes", sizes},
      {"modes", modes_j},
      {"repetitions", repetitions},
      {"warmup", warmup},
      {"later_warmup", std::min(warmup, later_warmup)},
      {"block", block},
      {"hot_hot_timeout_ms", protocol::kHotAlways},
      {"warm_hot_timeout_ms", warm_hot_timeout_ms},
      {"client_core", client_core},
      {"server_core", server_core},
      {"timeout_ms", timeout_ms},
      {"method",
       "per mode and size, blocks of the systems alternate in the order of `systems` until each "
       "has `repetitions` timed invocations; each block opens a fresh connection, runs "
       "`warmup` (first block) or `later_warmup` warm-up invocations, then up to `block` timed "
       "ones, and closes; latency = client_recv_ns - client_send_ns; summaries use successful "
       "timed invocations; failures count every failed invocation, warm-up included"},
      {"hpcless_client",
       "hot: hot_timeout_ms -1, client busy-polls; warm: hot_timeout_ms = warm_hot_timeout_ms, "
       "client blocks in poll()"},
      {"raw_tcp_baseline",
       "loopback, 8-byte little-endian length prefix + payload, echoed back; TCP_NODELAY; "
       "server thread pinned to server_core; hot: both sides spin on recv(MSG_DONTWAIT); "
       "warm: both sides wait in poll()"},
      {"grpc_baseline",
       "unary Echo.Call(Payload{bytes data}) -> Payload, synchronous server (1 completion queue, "
       "1..2 polling threads) built on a thread pinned to server_core, insecure credentials on "
       "127.0.0.1, fresh server and channel per block; blocking stub on the client thread with a "
       "deadline; request message and ClientContext prepared before the clock starts; no "
       "hot/warm switch: the same code runs in both modes, threads waiting in epoll"},
  };
}

std::vector<size_t> size_sweep(size_t min_size, size_t max_size, size_t factor) {
  if (min_size < 1) throw ConfigError("--min-size must be at least 1 byte");
  if (max_size < min_size) throw ConfigError("--max-size must not be below --min-size");
  if (factor < 2) throw ConfigError("--factor must be at least 2");
  if (max_size > kMaxExperimentPayload)
    throw ConfigError("--max-size above " + std::to_string(kMaxExperimentPayload) + " bytes");
  std::vector<size_t> sizes;
  for (size_t s = min_size; s <= max_size; s *= factor) {
    sizes.push_back(s);
    if (s > max_size / factor) break;  // the next step would pass max (or overflow)
  }
  return sizes;
}

std::vector<size_t> default_sizes() { return size_sweep(1, size_t{1} << 20, 4); }

std::vector<std::string> available_systems() {
  std::vector<std::string> s{std::string(kSystemHpcless), std::string(kSystemRawTcp)};
  if (kGrpcBaselineCompiledIn) s.emplace_back(kSystemGrpc);
  return s;
}

InvocationOverheadConfig normalized(InvocationOverheadConfig c) {
  if (c.systems.empty()) c.systems = available_systems();
  std::vector<std::string> systems;
  for (const auto& name : c.systems) {
    if (name == kSystemGrpc && !kGrpcBaselineCompiledIn) throw ConfigError(kGrpcNotCompiledIn);
    if (name != kSystemHpcless && name != kSystemRawTcp && name != kSystemGrpc)
      throw ConfigError("unknown system '" + name + "': use hpcless, raw-tcp or grpc");
    if (std::find(systems.begin(), systems.end(), name) == systems.end()) systems.push_back(name);
  }
  c.systems = systems;
  const bool hpcless =
      std::find(c.systems.begin(), c.systems.end(), kSystemHpcless) != c.systems.end();
  if (hpcless && c.address.empty()) throw ConfigError("--address HOST:PORT is required");
  if (c.out_dir.empty()) throw ConfigError("--out DIR is required");
  if (c.function.empty()) throw ConfigError("--function must not be empty");
  if (c.sizes.empty()) c.sizes = default_sizes();
  std::sort(c.sizes.begin(), c.sizes.end());
  c.sizes.erase(std::unique(c.sizes.begin(), c.sizes.end()), c.sizes.end());
  if (c.sizes.back() > kMaxExperimentPayload)
    throw ConfigError("payload sizes above " + std::to_string(kMaxExperimentPayload) +
                      " bytes are not supported");
  if (c.modes.empty()) throw ConfigError("--modes needs at least one of hot, warm");
  std::vector<PollMode> modes;
  for (auto m : c.modes)
    if (std::find(modes.begin(), modes.end(), m) == modes.end()) modes.push_back(m);
  c.modes = modes;
  if (c.repetitions < 1) throw ConfigError("--repetitions must be at least 1");
  if (c.block < 1) throw ConfigError("--block must be at least 1");
  if (c.timeout_ms < 1) throw ConfigError("--timeout-ms must be at least 1");
  if (c.warm_hot_timeout_ms < 0)
    throw ConfigError("--warm-hot-timeout-ms must be 0 (always block) or a positive idle time");
  if (c.client_core < -1 || c.server_core < -1)
    throw ConfigError("cores are numbers from 0, or -1 for no pinning");
  return c;
}

InvocationOverheadOutcome run_invocation_overhead(const InvocationOverheadConfig& config,
                                                  std::FILE* progress) {
  const InvocationOverheadConfig cfg = normalized(config);
  const auto started = std::chrono::system_clock::now();
  check_core(cfg.client_core, "--client-core");
  check_core(cfg.server_core, "--server-core");
  const json host = host_metadata();  // before pinning, which narrows the usable cores
  ScopedPin pin(cfg.client_core);
  const bool hpcless =
      std::find(cfg.systems.begin(), cfg.systems.end(), kSystemHpcless) != cfg.systems.end();
  const json executor = hpcless ? preflight(cfg) : json(nullptr);
  if (!kGrpcBaselineCompiledIn && progress != nullptr) {
    std::fprintf(progress, "%s\n", kGrpcNotCompiledIn);
    std::fflush(progress);
  }
  ResultsWriter out(cfg.out_dir);
  ClockOffsetEstimator clock;
  Runner runner(cfg, out, clock);
  InvocationOverheadOutcome outcome;
  outcome.results_dir = out.dir();

  const auto finish = [&](const std::string& aborted) {
    out.write_summary(outcome.rows);
    json cfg_j = cfg.to_json();
    cfg_j["executor"] = executor;
    cfg_j["acked_hot_timeout_ms"] = runner.acked_hot_timeouts();
    json meta =
        make_metadata(kExperimentName, cfg_j, started, std::chrono::system_clock::now(), clock);
    meta["host"] = host;
    meta["aborted"] = aborted.empty() ? json(nullptr) : json(aborted);
    meta["records"] = out.records_written();
#if HPCLESS_HAVE_GRPC
    meta["grpc_version"] = grpc_version();
#else
    meta["grpc_version"] = nullptr;
#endif
    out.write_metadata(meta);
  };

  try {
    for (PollMode mode : cfg.modes) {
      for (size_t size : cfg.sizes) {
        auto rows = runner.run_step(mode, size);
        if (progress != nullptr) {
          std::string line;
          char cell[96];
          std::snprintf(cell, sizeof(cell), "%-4s %9s", to_string(mode), human_bytes(size).c_str());
          line += cell;
          std::string failures;
          for (const auto& r : rows) {
            std::snprintf(cell, sizeof(cell), "  %s p50 %9.2f us", r.system.c_str(), r.stats.p50);
            line += cell;
            failures += failures.empty() ? "  failures " : "/";
            failures += std::to_string(r.failures);
          }
          std::fprintf(progress, "%s%s\n", line.c_str(), failures.c_str());
          std::fflush(progress);
        }
        for (auto& r : rows) {
          outcome.failures += r.failures;
          outcome.rows.push_back(std::move(r));
        }
      }
    }
  } catch (const Error& e) {
    // Keep what was measured: summary and metadata describe the partial run.
    if (out.records_written() > 0 || !outcome.rows.empty()) {
      try {
        finish(e.what());
      } catch (const Error&) {
        // The original error is the one to report.
      }
    }
    throw;
  }
  finish({});
  outcome.records = out.records_written();
  outcome.plot = plot_latency(out.dir(), outcome.rows);
  return outcome;
}

std::string format_overhead_table(const std::vector<SummaryRow>& rows) {
  constexpr const char* kFormat = "%-5s %8s  %11s %11s  %11s %11s  %11s %11s  %11s %12s\n";
  std::string t;
  char line[256];
  std::snprintf(line, sizeof(line), kFormat, "mode", "payload", "hpcless p50", "hpcless p99",
                "raw-tcp p50", "raw-tcp p99", "grpc p50", "grpc p99", "p50 ratio", "p50 ratio");
  t += line;
  std::snprintf(line, sizeof(line), kFormat, "", "", "(us)", "(us)", "(us)", "(us)", "(us)", "(us)",
                "hpcless/raw", "grpc/hpcless");
  t += line;
  const auto cell = [](const SummaryRow* r, double Summary::*f) {
    char b[32];
    if (r == nullptr || r->stats.count == 0) return std::string("n/a");
    std::snprintf(b, sizeof(b), "%.2f", r->stats.*f);
    return std::string(b);
  };
  // p50 of `num` over p50 of `den`: grpc/hpcless > 1 says how much faster hpcless is.
  const auto ratio = [](const SummaryRow* num, const SummaryRow* den) {
    if (num == nullptr || den == nullptr || num->stats.count == 0 || den->stats.count == 0 ||
        den->stats.p50 <= 0)
      return std::string("n/a");
    char b[32];
    std::snprintf(b, sizeof(b), "%.3fx", num->stats.p50 / den->stats.p50);
    return std::string(b);
  };
  // One line per mode and size, in the order the rows were measured.
  std::vector<std::pair<std::string, size_t>> steps;
  for (const auto& r : rows) {
    const std::pair<std::string, size_t> key{r.mode, r.payload_bytes};
    if (std::find(steps.begin(), steps.end(), key) == steps.end()) steps.push_back(key);
  }
  for (const auto& step : steps) {
    const std::string& mode = step.first;
    const size_t size = step.second;
    const auto find = [&](std::string_view system) -> const SummaryRow* {
      for (const auto& q : rows)
        if (q.system == system && q.mode == mode && q.payload_bytes == size) return &q;
      return nullptr;
    };
    const SummaryRow* hp = find(kSystemHpcless);
    const SummaryRow* raw = find(kSystemRawTcp);
    const SummaryRow* grpc = find(kSystemGrpc);
    std::snprintf(line, sizeof(line), kFormat, mode.c_str(), human_bytes(size).c_str(),
                  cell(hp, &Summary::p50).c_str(), cell(hp, &Summary::p99).c_str(),
                  cell(raw, &Summary::p50).c_str(), cell(raw, &Summary::p99).c_str(),
                  cell(grpc, &Summary::p50).c_str(), cell(grpc, &Summary::p99).c_str(),
                  ratio(hp, raw).c_str(), ratio(grpc, hp).c_str());
    t += line;
  }
  return t;
}

}  // namespace hpcless::experiments
