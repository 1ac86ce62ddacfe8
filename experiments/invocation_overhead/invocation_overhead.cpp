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

namespace hpcless::experiments {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kExperimentName = "invocation-overhead";
constexpr const char* kHpcless = "hpcless";
constexpr const char* kRawTcp = "raw-tcp";
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
  o.busy_poll = mode == PollMode::kHot;
  o.client_name = "hpcless-experiment-invocation-overhead";
  o.connect_timeout = std::chrono::milliseconds(cfg.timeout_ms);
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

// Per system, mode and size: latencies of successful timed invocations and bookkeeping.
struct Series {
  const char* system;
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
  }

  // Runs one mode/size step (A B A B blocks) and returns its two summary rows.
  std::pair<SummaryRow, SummaryRow> run_step(PollMode mode, size_t size) {
    Series hp{kHpcless, {}, 0, 0, 0, 0, {}};
    Series raw{kRawTcp, {}, 0, 0, 0, 0, {}};
    hp.latencies_us.reserve(cfg_.repetitions);
    raw.latencies_us.reserve(cfg_.repetitions);
    fill_pattern(input_, size);
    while (hp.timed < cfg_.repetitions || raw.timed < cfg_.repetitions) {
      if (hp.timed < cfg_.repetitions) run_block(hp, mode, size);
      if (raw.timed < cfg_.repetitions) run_block(raw, mode, size);
    }
    return {row_of(hp, mode, size), row_of(raw, mode, size)};
  }

  const json& acked_hot_timeouts() const { return acked_; }

 private:
  client::ConnectOptions options(PollMode mode) const { return connect_options(cfg_, mode); }

  Deadline deadline() const { return Deadline::after(std::chrono::milliseconds(cfg_.timeout_ms)); }

  static bool is_hpcless(const Series& s) { return std::string_view(s.system) == kHpcless; }

  BlockPlan plan(const Series& s) const {
    BlockPlan p;
    p.warmup = s.blocks == 0 ? cfg_.warmup : std::min(cfg_.warmup, cfg_.later_warmup);
    p.timed = std::min(cfg_.block, cfg_.repetitions - s.timed);
    return p;
  }

  void run_block(Series& s, PollMode mode, size_t size) {
    const BlockPlan p = plan(s);
    BlockContext ctx;
    const size_t filled = is_hpcless(s) ? hpcless_block(p, mode, ctx) : raw_block(p, mode, ctx);
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

  size_t raw_block(const BlockPlan& p, PollMode mode, BlockContext& ctx) {
    RawEchoServer server(mode, cfg_.server_core, cfg_.sizes.back());
    std::optional<RawEchoClient> client;
    client.emplace(server.port(), mode, deadline());
    ctx.node = hostname_;
    const size_t total = p.warmup + p.timed;
    size_t i = 0;
    for (; i < total; ++i) {
      Sample& smp = samples_[i];
      smp = Sample{};
      stamp(input_, i);
      const auto r = client->round_trip(input_, deadline());
      smp.send_ns = r.send_ns;
      smp.recv_ns = r.ok ? r.recv_ns : 0;
      if (!r.ok) {
        smp.error = r.error;
        ctx.broken = true;
        ++i;
        break;
      }
      smp.output_bytes = client->reply().size();
      if (const char* why = check_reply("echo", input_, client->reply())) smp.error = why;
    }
    client.reset();  // the server thread sees the close and exits
    server.stop();
    if (ctx.broken && !server.error().empty())
      samples_[i - 1].error += " (server: " + server.error() + ")";
    return i;
  }

  void record_block(Series& s, const BlockPlan& p, PollMode mode, size_t size, size_t filled,
                    const BlockContext& ctx) {
    InvocationRecord rec;
    rec.system = s.system;
    rec.mode = to_string(mode);
    rec.function = is_hpcless(s) ? cfg_.function : std::string("echo");
    rec.payload_bytes = size;
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
        throw Error(std::string(s.system) + " " + to_string(mode) + " " + std::to_string(size) +
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
      {"out_dir", out_dir.string()},
      {"function", function},
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
       "per mode and size, blocks of hpcless and raw-tcp alternate (hpcless first) until each "
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

InvocationOverheadConfig normalized(InvocationOverheadConfig c) {
  if (c.address.empty()) throw ConfigError("--address HOST:PORT is required");
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
  const json executor = preflight(cfg);
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
    out.write_metadata(meta);
  };

  try {
    for (PollMode mode : cfg.modes) {
      for (size_t size : cfg.sizes) {
        auto [hp, raw] = runner.run_step(mode, size);
        if (progress != nullptr) {
          std::fprintf(progress,
                       "%-4s %9s  hpcless p50 %9.2f us  raw-tcp p50 %9.2f us  failures %zu/%zu\n",
                       to_string(mode), human_bytes(size).c_str(), hp.stats.p50, raw.stats.p50,
                       hp.failures, raw.failures);
          std::fflush(progress);
        }
        outcome.failures += hp.failures + raw.failures;
        outcome.rows.push_back(std::move(hp));
        outcome.rows.push_back(std::move(raw));
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
  std::string t;
  char line[256];
  std::snprintf(line, sizeof(line), "%-5s %10s  %12s %12s  %12s %12s  %10s\n", "mode", "payload",
                "hpcless p50", "hpcless p99", "raw-tcp p50", "raw-tcp p99", "p50 ratio");
  t += line;
  std::snprintf(line, sizeof(line), "%-5s %10s  %12s %12s  %12s %12s  %10s\n", "", "", "(us)",
                "(us)", "(us)", "(us)", "hpcless/raw");
  t += line;
  const auto cell = [](const SummaryRow* r, double Summary::*f) {
    char b[32];
    if (r == nullptr || r->stats.count == 0) return std::string("n/a");
    std::snprintf(b, sizeof(b), "%.2f", r->stats.*f);
    return std::string(b);
  };
  for (const auto& r : rows) {
    if (r.system != kHpcless) continue;
    const SummaryRow* raw = nullptr;
    for (const auto& q : rows)
      if (q.system == kRawTcp && q.mode == r.mode && q.payload_bytes == r.payload_bytes) raw = &q;
    std::string ratio = "n/a";
    if (r.stats.count > 0 && raw != nullptr && raw->stats.count > 0 && raw->stats.p50 > 0) {
      char b[32];
      std::snprintf(b, sizeof(b), "%.3fx", r.stats.p50 / raw->stats.p50);
      ratio = b;
    }
    std::snprintf(line, sizeof(line), "%-5s %10s  %12s %12s  %12s %12s  %10s\n", r.mode.c_str(),
                  human_bytes(r.payload_bytes).c_str(), cell(&r, &Summary::p50).c_str(),
                  cell(&r, &Summary::p99).c_str(), cell(raw, &Summary::p50).c_str(),
                  cell(raw, &Summary::p99).c_str(), ratio.c_str());
    t += line;
  }
  return t;
}

}  // namespace hpcless::experiments
