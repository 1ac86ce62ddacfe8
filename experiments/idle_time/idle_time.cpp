#include "experiments/idle_time/idle_time.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "client/lib/lease_session.hpp"
#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "experiments/cold_start/lease_experiment.hpp"

namespace hpcless::experiments {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kExperimentName = "idle-time";
constexpr int kMaxUnexpectedInARow = 5;
// A lease counts as fresh for a long-gap pair when it was granted this recently.
constexpr uint64_t kFreshLeaseNs = 500'000'000;

// Display order of the states (table, summary, plot).
constexpr const char* kStates[] = {
    "hot", "warm", "lease-expired", "lease-ended", "worker-stopped", "re-lease-cold", "error"};

std::string compact_gap(double ms) {
  std::string s = format_duration_ms(ms);
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  return s;
}

bool expiry_state(const std::string& state) {
  return state == "lease-expired" || state == "lease-ended" || state == "worker-stopped";
}

nlohmann::ordered_json sample_json(const IdleSample& s) {
  return {{"schema", "hpcless.idle_time.v1"},
          {"rep", s.rep},
          {"gap_index", s.gap_index},
          {"gap_ms", s.gap_ms},
          {"state", s.state},
          {"latency_us", s.latency_us < 0 ? nlohmann::ordered_json(nullptr)
                                          : nlohmann::ordered_json(s.latency_us)},
          {"server_idle_ms", s.server_idle_ms < 0 ? nlohmann::ordered_json(nullptr)
                                                  : nlohmann::ordered_json(s.server_idle_ms)},
          {"status", s.status},
          {"lease", s.lease}};
}

class Runner {
 public:
  Runner(const IdleTimeConfig& cfg, const client::LeaseClient& manager, ResultsWriter& out,
         ClockOffsetEstimator& clock)
      : cfg_(cfg), manager_(manager), out_(out), clock_(clock) {
    pairs_.open(out.path_of("gaps.jsonl"), std::ios::binary | std::ios::trunc);
    if (!pairs_) throw ConfigError("cannot create " + out.path_of("gaps.jsonl").string());
    req_.cores = cfg.cores;
    req_.seconds = cfg.lease_seconds;
    req_.hot_timeout_ms = cfg.hot_timeout_ms;
    so_.connect.busy_poll = cfg.client_busy_poll;
    so_.connect.client_name = "hpcless-experiment-idle-time";
    so_.connect.connect_timeout = std::chrono::milliseconds(cfg.timeout_ms);
    so_.connect_deadline = std::chrono::milliseconds(cfg.timeout_ms);
  }

  // One pair for gap `gi`; appends the measured samples (the pair's second invocation, and a
  // re-lease when the lease ended in the gap) to `samples`.
  void run_pair(uint64_t rep, size_t gi, std::vector<IdleSample>& samples) {
    const double gap_ms = cfg_.gaps_ms[gi];
    const bool outlives = gap_ms + cfg_.renew_margin_ms >= cfg_.lease_seconds * 1000.0;
    if (!lease_) {
      new_lease(rep, gi, "cold", nullptr);
    } else if (outlives) {
      if (now_ns() - lease_start_ns_ > kFreshLeaseNs) new_lease(rep, gi, "cold", nullptr);
    } else if (static_cast<double>(lease_->remaining_ms()) < gap_ms + cfg_.renew_margin_ms) {
      lease_->renew(cfg_.lease_seconds);
    }

    // The first invocation of the pair.
    client::InvocationResult& prime = invoke_once(rep, gi, "prime", true);
    if (!prime.ok() || prime_error_) {
      IdleSample s = base_sample(rep, gi);
      s.state = "error";
      s.status = "first invocation of the pair failed: " + prime_text_;
      emit(s, samples);
      drop_lease();
      return;
    }
    const uint64_t prime_server_send = prime.server.send_ns;

    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(gap_ms));

    // The measured invocation.
    IdleSample s = base_sample(rep, gi);
    InvocationRecord rec = record(rep, gi, false);
    lease_payload(input_, cfg_.payload, rep * 2 + 1);
    result_.client_send_ns = result_.client_recv_ns = 0;
    result_.server = {};
    const uint64_t t0 = now_ns();
    try {
      client::Connection& c = lease_->worker(0);
      const auto st = c.invoke(c.function_id(cfg_.function), input_, result_, deadline());
      const uint64_t t1 = now_ns();
      rec.client_send_ns = result_.client_send_ns != 0 ? result_.client_send_ns : t0;
      rec.client_recv_ns = result_.client_recv_ns != 0 ? result_.client_recv_ns : t1;
      rec.server = result_.server;
      rec.output_bytes = result_.output.size();
      s.latency_us = static_cast<double>(rec.client_recv_ns - rec.client_send_ns) / 1000.0;
      if (st == protocol::Status::kOk) {
        if (const char* why = check_function_reply(cfg_.function, input_, result_.output)) {
          s.state = "error";
          s.status = why;
        } else {
          if (result_.server.recv_ns != 0 && prime_server_send != 0 &&
              result_.server.recv_ns >= prime_server_send)
            s.server_idle_ms =
                static_cast<double>(result_.server.recv_ns - prime_server_send) / 1e6;
          const double idle = s.server_idle_ms >= 0 ? s.server_idle_ms : gap_ms;
          const bool warm =
              cfg_.hot_timeout_ms == 0 || (cfg_.hot_timeout_ms > 0 && idle >= cfg_.hot_timeout_ms);
          s.state = warm ? "warm" : "hot";
          clock_.add(result_.client_send_ns, result_.server, result_.client_recv_ns);
        }
      } else if (st == protocol::Status::kTokenExpired) {
        s.state = "lease-expired";
        s.status = result_.error_message();
      } else if (st == protocol::Status::kLeaseEnded) {
        s.state = "lease-ended";
        s.status = result_.error_message();
      } else {
        s.state = "error";
        s.status = result_.error_message();
      }
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& e) {
      // The worker stopped (expiry + grace) and closed the connection, or did not answer.
      const uint64_t t1 = now_ns();
      rec.client_send_ns = t0;
      rec.client_recv_ns = 0;
      s.latency_us = static_cast<double>(t1 - t0) / 1000.0;
      s.state = outlives ? "worker-stopped" : "error";
      s.status = e.what();
    }
    rec.mode = s.state;
    rec.status = s.state == "hot" || s.state == "warm" ? "ok" : s.status;
    out_.append(rec);
    emit(s, samples);

    if (expiry_state(s.state)) {
      new_lease(rep, gi, "re-lease-cold", &samples);
    } else if (s.state == "error") {
      drop_lease();
    }
  }

  void finish() {
    lease_.reset();  // releases the last lease
    out_.flush();
  }

 private:
  Deadline deadline() const { return Deadline::after(std::chrono::milliseconds(cfg_.timeout_ms)); }

  IdleSample base_sample(uint64_t rep, size_t gi) const {
    IdleSample s;
    s.rep = rep;
    s.gap_index = gi;
    s.gap_ms = cfg_.gaps_ms[gi];
    s.lease = lease_ ? lease_->id() : std::string();
    return s;
  }

  InvocationRecord record(uint64_t rep, size_t gi, bool warmup) const {
    InvocationRecord rec;
    rec.system = "hpcless";
    rec.function = cfg_.function;
    rec.payload_bytes = cfg_.payload;
    rec.rep = rep;
    rec.block = gi;  // the gap's index in config.gaps_ms
    rec.warmup = warmup;
    if (lease_ && lease_->connected()) {
      rec.worker = lease_->worker(0).info().worker_id;
      rec.node = lease_->node_of(0);
    }
    return rec;
  }

  // Invokes once on worker 0 and records it (mode `mode`). Sets prime_error_/prime_text_ on
  // failure instead of throwing (except for ConfigError).
  client::InvocationResult& invoke_once(uint64_t rep, size_t gi, const char* mode, bool warmup) {
    prime_error_ = false;
    prime_text_.clear();
    InvocationRecord rec = record(rep, gi, warmup);
    rec.mode = mode;
    lease_payload(input_, cfg_.payload, rep * 2);
    prime_.client_send_ns = prime_.client_recv_ns = 0;
    prime_.server = {};
    try {
      client::Connection& c = lease_->worker(0);
      const auto st = c.invoke(c.function_id(cfg_.function), input_, prime_, deadline());
      if (st != protocol::Status::kOk) {
        prime_error_ = true;
        prime_text_ = prime_.error_message();
      } else if (const char* why = check_function_reply(cfg_.function, input_, prime_.output)) {
        prime_error_ = true;
        prime_text_ = why;
      }
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& e) {
      prime_error_ = true;
      prime_text_ = e.what();
      prime_.status = protocol::Status::kInternal;
    }
    rec.client_send_ns = prime_.client_send_ns;
    rec.client_recv_ns = prime_.client_recv_ns;
    rec.server = prime_.server;
    rec.output_bytes = prime_.output.size();
    rec.status = prime_error_ ? prime_text_ : "ok";
    out_.append(rec);
    return prime_;
  }

  // Replaces the lease by a fresh one (acquire, connect, first invocation). With `samples`, the
  // whole way (request -> first result) is a measured sample of state `state`.
  void new_lease(uint64_t rep, size_t gi, const char* state, std::vector<IdleSample>* samples) {
    drop_lease();
    IdleSample s = base_sample(rep, gi);
    s.state = state;
    const uint64_t t0 = now_ns();
    try {
      lease_.emplace(client::Lease::acquire(manager_, req_, so_));
      lease_start_ns_ = now_ns();
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& e) {
      lease_.reset();
      s.state = "error";
      s.status = std::string("new lease: ") + e.what();
      if (samples != nullptr) emit(s, *samples);
      throw Error(s.status);  // without a lease the run cannot go on
    }
    s.lease = lease_->id();
    client::InvocationResult& r = invoke_once(rep, gi, state, samples == nullptr);
    if (samples == nullptr) {
      if (prime_error_) throw Error("first invocation on a new lease failed: " + prime_text_);
      return;
    }
    // The record written by invoke_once has the invocation's own times; the sample (and a
    // second record, below) carry the whole way from the lease request.
    s.latency_us = r.client_recv_ns != 0 ? static_cast<double>(r.client_recv_ns - t0) / 1000.0 : -1;
    if (prime_error_) {
      s.state = "error";
      s.status = "first invocation on the new lease failed: " + prime_text_;
    }
    emit(s, *samples);
  }

  void drop_lease() { lease_.reset(); }

  void emit(const IdleSample& s, std::vector<IdleSample>& samples) {
    pairs_ << sample_json(s).dump() << '\n';
    pairs_.flush();
    if (!pairs_) throw Error("cannot write " + out_.path_of("gaps.jsonl").string());
    samples.push_back(s);
  }

  const IdleTimeConfig& cfg_;
  const client::LeaseClient& manager_;
  ResultsWriter& out_;
  ClockOffsetEstimator& clock_;
  std::ofstream pairs_;
  client::LeaseRequest req_;
  client::SessionOptions so_;
  std::optional<client::Lease> lease_;
  uint64_t lease_start_ns_ = 0;
  std::vector<std::byte> input_;
  client::InvocationResult prime_;
  client::InvocationResult result_;
  bool prime_error_ = false;
  std::string prime_text_;
};

std::vector<SummaryRow> summary_rows(const IdleTimeConfig& cfg,
                                     const std::vector<IdleSample>& samples) {
  std::vector<SummaryRow> rows;
  for (size_t gi = 0; gi < cfg.gaps_ms.size(); ++gi) {
    for (const char* state : kStates) {
      std::vector<double> v;
      size_t n = 0, failures = 0;
      for (const auto& s : samples) {
        if (s.gap_index != gi || s.state != state) continue;
        ++n;
        if (s.state == "error")
          ++failures;
        else if (s.latency_us >= 0 && s.state != "worker-stopped")
          v.push_back(s.latency_us);
      }
      if (n == 0) continue;
      SummaryRow r;
      r.system = "hpcless";
      r.mode = std::string(state) + "@" + compact_gap(cfg.gaps_ms[gi]);
      r.payload_bytes = cfg.payload;
      r.stats = summarize(v);
      r.failures = failures;
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

void write_idle_csv(const fs::path& path, const IdleTimeConfig& cfg,
                    const std::vector<IdleSample>& samples) {
  std::ofstream out(path, std::ios::trunc);
  out << "gap_ms,state,count,p50_us,p90_us,p99_us,mean_us,min_us,max_us\n";
  for (size_t gi = 0; gi < cfg.gaps_ms.size(); ++gi) {
    for (const char* state : kStates) {
      std::vector<double> v;
      size_t n = 0;
      for (const auto& s : samples)
        if (s.gap_index == gi && s.state == state) {
          ++n;
          if (s.latency_us >= 0) v.push_back(s.latency_us);
        }
      if (n == 0) continue;
      const Summary st = summarize(v);
      char line[256];
      std::snprintf(line, sizeof(line), "%g,%s,%zu,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f\n",
                    cfg.gaps_ms[gi], state, n, st.p50, st.p90, st.p99, st.mean, st.min, st.max);
      out << line;
    }
  }
  if (!out.flush()) throw Error("cannot write '" + path.string() + "'");
}

}  // namespace

json IdleTimeConfig::to_json() const {
  return {{"manager", manager.url},
          {"out_dir", out_dir.string()},
          {"gaps_ms", gaps_ms},
          {"repetitions", repetitions},
          {"hot_timeout_ms", hot_timeout_ms},
          {"lease_seconds", lease_seconds},
          {"renew_margin_ms", renew_margin_ms},
          {"cores", cores},
          {"function", function},
          {"payload_bytes", payload},
          {"client_busy_poll", client_busy_poll},
          {"timeout_ms", timeout_ms},
          {"method",
           "per gap, `repetitions` pairs on worker 0 of a lease: invoke, sleep the gap, invoke "
           "again (measured). Gaps with gap + renew_margin < lease duration share one lease, "
           "renewed when less than gap + margin is left; longer gaps get a fresh lease right "
           "before each pair. State of the second invocation: hot / warm from the worker's idle "
           "time (server_recv of the second - server_send of the first) against "
           "hot_timeout_ms; lease-expired (status 11), lease-ended (15), worker-stopped "
           "(connection closed); after those, re-lease-cold = new lease + connect + first "
           "invocation, timed from the lease request. Records: invocations.jsonl (mode = "
           "state, block = gap index; prime = first invocation of a pair), gaps.jsonl (one line "
           "per measured sample), idle_time.csv (per gap and state)."}};
}

IdleTimeConfig normalized(IdleTimeConfig c) {
  if (c.out_dir.empty()) throw ConfigError("--out DIR is required");
  if (c.gaps_ms.empty()) throw ConfigError("--gaps needs at least one gap");
  for (double g : c.gaps_ms)
    if (!(g >= 0) || g > 3.6e6) throw ConfigError("gaps must be 0 .. 1 hour");
  if (c.repetitions < 1) throw ConfigError("--repetitions must be at least 1");
  if (c.hot_timeout_ms < -1) throw ConfigError("--hot-timeout-ms must be -1, 0 or positive");
  if (!(c.lease_seconds > 0)) throw ConfigError("--lease-seconds must be positive");
  if (c.renew_margin_ms < 0) throw ConfigError("--renew-margin-ms must not be negative");
  if (c.cores < 1) throw ConfigError("--cores must be at least 1");
  if (c.function.empty()) throw ConfigError("--function must not be empty");
  if (c.timeout_ms < 1) throw ConfigError("--timeout-ms must be positive");
  return c;
}

IdleTimeOutcome run_idle_time(const IdleTimeConfig& config, std::FILE* progress) {
  const IdleTimeConfig cfg = normalized(config);
  const auto started = std::chrono::system_clock::now();
  const client::LeaseClient manager(cfg.manager);
  const LeaseExperimentStart start = start_lease_experiment(started, manager, progress);
  ResultsWriter out(cfg.out_dir);
  ClockOffsetEstimator clock;
  Runner runner(cfg, manager, out, clock);
  IdleTimeOutcome outcome;
  outcome.results_dir = out.dir();

  const auto finish = [&](const std::string& aborted) {
    outcome.rows = summary_rows(cfg, outcome.samples);
    out.write_summary(outcome.rows);
    write_idle_csv(out.path_of("idle_time.csv"), cfg, outcome.samples);
    write_lease_metadata(out, kExperimentName, cfg.to_json(), start, clock, aborted,
                         {{"samples_file", "gaps.jsonl"}});
  };

  int unexpected_in_a_row = 0;
  try {
    uint64_t rep = 0;
    for (size_t gi = 0; gi < cfg.gaps_ms.size(); ++gi) {
      for (size_t r = 0; r < cfg.repetitions; ++r, ++rep) {
        const size_t before = outcome.samples.size();
        runner.run_pair(rep, gi, outcome.samples);
        bool unexpected = false;
        for (size_t i = before; i < outcome.samples.size(); ++i) {
          const auto& s = outcome.samples[i];
          if (s.state == "error") {
            unexpected = true;
            ++outcome.failures;
          }
          if (progress != nullptr) {
            std::fprintf(progress, "gap %-7s rep %2zu  %-14s %10.1f us%s%s\n",
                         format_duration_ms(s.gap_ms).c_str(), r, s.state.c_str(), s.latency_us,
                         s.status == "ok" ? "" : "  ", s.status == "ok" ? "" : s.status.c_str());
            std::fflush(progress);
          }
        }
        unexpected_in_a_row = unexpected ? unexpected_in_a_row + 1 : 0;
        if (unexpected_in_a_row >= kMaxUnexpectedInARow)
          throw Error(std::to_string(kMaxUnexpectedInARow) +
                      " pairs in a row failed; last error: " + outcome.samples.back().status);
      }
    }
    runner.finish();
  } catch (const Error& e) {
    if (!outcome.samples.empty()) {
      try {
        finish(e.what());
      } catch (const Error&) {
        // the original error is the one to report
      }
    }
    throw;
  }
  finish({});
  outcome.plot = run_gnuplot_script(
      out.dir(), "idle_time",
      idle_time_gnuplot_script(outcome.samples, cfg.hot_timeout_ms, cfg.lease_seconds));
  return outcome;
}

std::string format_idle_time_table(const std::vector<IdleSample>& samples) {
  std::string t;
  char line[320];
  std::snprintf(line, sizeof(line), "%-8s %-14s %5s %11s %11s %11s  %s\n", "gap", "state", "count",
                "p50 (us)", "p99 (us)", "max (us)", "status");
  t += line;
  std::vector<std::pair<double, size_t>> gaps;  // gap_ms, gap_index in order of appearance
  for (const auto& s : samples)
    if (std::find(gaps.begin(), gaps.end(), std::make_pair(s.gap_ms, s.gap_index)) == gaps.end())
      gaps.emplace_back(s.gap_ms, s.gap_index);
  for (const auto& [gap_ms, gi] : gaps) {
    for (const char* state : kStates) {
      std::vector<double> v;
      std::set<std::string> statuses;
      size_t n = 0;
      for (const auto& s : samples) {
        if (s.gap_index != gi || s.state != state) continue;
        ++n;
        if (s.latency_us >= 0) v.push_back(s.latency_us);
        std::string st = s.status;
        if (st.size() > 60) st = st.substr(0, 57) + "...";
        statuses.insert(st);
      }
      if (n == 0) continue;
      const Summary sum = summarize(v);
      // Statuses differ by lease id only: show one and how many distinct ones there were.
      std::string st_text = statuses.empty() ? std::string() : *statuses.begin();
      if (statuses.size() > 1) st_text += " (+" + std::to_string(statuses.size() - 1) + " similar)";
      std::snprintf(line, sizeof(line), "%-8s %-14s %5zu %11.1f %11.1f %11.1f  ",
                    format_duration_ms(gap_ms).c_str(), state, n, sum.p50, sum.p99, sum.max);
      t += line;
      t += st_text;
      t += '\n';
    }
  }
  return t;
}

std::string idle_time_gnuplot_script(const std::vector<IdleSample>& samples, int32_t hot_timeout_ms,
                                     double lease_seconds) {
  struct Style {
    const char* state;
    const char* colour;
    int point;
  };
  static constexpr Style kStyles[] = {{"hot", "#d62728", 7},
                                      {"warm", "#ff7f0e", 9},
                                      {"lease-expired", "#9467bd", 5},
                                      {"lease-ended", "#8c564b", 11},
                                      {"worker-stopped", "#7f7f7f", 13},
                                      {"re-lease-cold", "#1f77b4", 15},
                                      {"error", "#000000", 2}};
  std::string s =
      "# Idle time: latency of an invocation after an idle gap. Generated by hpcless; run "
      "`gnuplot idle_time.gp` in this folder to redraw.\n# Columns: gap_ms latency_us "
      "(points spread a little along x so that repetitions stay visible)\n\n";
  std::vector<const Style*> present;
  double min_gap = 1e18, max_gap = 0;
  char buf[512];
  for (const auto& st : kStyles) {
    std::string block;
    size_t k = 0;
    for (const auto& smp : samples) {
      if (smp.state != st.state || smp.latency_us <= 0 || smp.gap_ms <= 0) continue;
      // A small deterministic spread along x: ±8% by repetition.
      const double x = smp.gap_ms * (1.0 + 0.04 * (static_cast<double>(k++ % 5) - 2.0));
      std::snprintf(buf, sizeof(buf), "%.6g %.3f\n", x, smp.latency_us);
      block += buf;
      min_gap = std::min(min_gap, smp.gap_ms);
      max_gap = std::max(max_gap, smp.gap_ms);
    }
    if (block.empty()) continue;
    std::string name = std::string("$") + st.state;
    std::replace(name.begin(), name.end(), '-', '_');
    s += name + " << EOD\n" + block + "EOD\n\n";
    present.push_back(&st);
  }
  s += "set logscale xy\n"
       "set xlabel 'idle gap before the invocation'\n"
       "set ylabel 'latency (us; re-lease-cold: lease request -> first result)'\n"
       "set grid xtics ytics\n"
       "set format y '%g'\n"
       "set key outside right top box\n";
  std::snprintf(buf, sizeof(buf), "set title 'Idle time: hot timeout %d ms, lease %g s'\n",
                hot_timeout_ms, lease_seconds);
  s += buf;
  if (max_gap > 0) {
    std::snprintf(buf, sizeof(buf), "set xrange [%g:%g]\n", min_gap / 2, max_gap * 2);
    s += buf;
    s += "set xtics ('1 us' 0.001, '10 us' 0.01, '100 us' 0.1, '1 ms' 1, '10 ms' 10, "
         "'100 ms' 100, '1 s' 1000, '10 s' 10000, '100 s' 100000, '1000 s' 1000000)\n";
  }
  if (hot_timeout_ms > 0) {
    std::snprintf(buf, sizeof(buf),
                  "set arrow from %d, graph 0 to %d, graph 1 nohead dt 2 lc rgb '#d62728'\n"
                  "set label 'hot timeout' at %d, graph 0.95 offset 0.5,0 tc rgb '#d62728'\n",
                  hot_timeout_ms, hot_timeout_ms, hot_timeout_ms);
    s += buf;
  }
  std::snprintf(
      buf, sizeof(buf),
      "set arrow from %g, graph 0 to %g, graph 1 nohead dt 2 lc rgb '#9467bd'\n"
      "set label 'lease duration' at %g, graph 0.88 right offset -0.5,0 tc rgb '#9467bd'\n",
      lease_seconds * 1000, lease_seconds * 1000, lease_seconds * 1000);
  s += buf;
  std::string plot = "plot ";
  if (present.empty()) plot += "1 notitle";
  for (size_t i = 0; i < present.size(); ++i) {
    std::string name = std::string("$") + present[i]->state;
    std::replace(name.begin(), name.end(), '-', '_');
    std::snprintf(buf, sizeof(buf),
                  "%s%s using 1:2 with points lc rgb '%s' pt %d ps 1.2 title '%s'",
                  i == 0 ? "" : ", \\\n     ", name.c_str(), present[i]->colour, present[i]->point,
                  present[i]->state);
    plot += buf;
  }
  plot += "\n";
  s += "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
       "  set terminal pngcairo size 1100,700 enhanced font 'sans,11'\n"
       "} else {\n"
       "  set terminal png size 1100,700\n"
       "}\n"
       "set output 'idle_time.png'\n" +
       plot +
       "set terminal svg size 1100,700 dynamic enhanced font 'sans,11'\n"
       "set output 'idle_time.svg'\n"
       "replot\n"
       "unset output\n";
  return s;
}

}  // namespace hpcless::experiments
