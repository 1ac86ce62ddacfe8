#include "experiments/cold_start/cold_start.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "client/lib/lease_session.hpp"
#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "experiments/cold_start/lease_experiment.hpp"

namespace hpcless::experiments {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kExperimentName = "cold-start";
constexpr int kMaxFailuresInARow = 3;

double us_between(uint64_t a, uint64_t b) { return static_cast<double>(b - a) / 1000.0; }

std::vector<std::byte> read_package(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read --package-file '" + path.string() + "'");
  const std::vector<char> data((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
  std::vector<std::byte> out(data.size());
  std::transform(data.begin(), data.end(), out.begin(), [](char c) { return std::byte(c); });
  return out;
}

nlohmann::ordered_json sample_json(const ColdStartSample& s) {
  const auto v = [](double us) {
    return us < 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(us);
  };
  return {{"schema", "hpcless.cold_start.v1"},
          {"rep", s.rep},
          {"warmup", s.warmup},
          {"lease", s.lease},
          {"nodes", s.nodes},
          {"grant_us", v(s.grant_us)},
          {"connect_spawn_us", v(s.connect_us)},
          {"spawn_us", v(s.spawn_us)},
          {"worker_package_load_us", v(s.worker_package_us)},
          {"connect_us", v(s.connect_only_us())},
          {"rdma_device_us", v(s.rdma_device_us)},
          {"rdma_register_us", v(s.rdma_register_us)},
          {"rdma_qp_connect_us", v(s.rdma_qp_connect_us)},
          {"package_load_us", v(s.package_us)},
          {"first_invocation_us", v(s.first_us)},
          {"total_us", v(s.total_us)},
          {"on_demand_job",
           s.job_id.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s.job_id)},
          {"submit_us", v(s.submit_us)},
          {"queue_wait_us", v(s.queue_wait_us)},
          {"executor_start_us", v(s.executor_start_us)},
          {"release_us", v(s.release_us)},
          {"status", s.error.empty() ? "ok" : s.error}};
}

// The grant's phases from the lease's "on_demand" record (all on the manager's clock). A lease
// without one was placed on an existing node: that repetition did not measure the on-demand path.
void read_on_demand(const json& lease, ColdStartSample& s) {
  const auto od = lease.find("on_demand");
  if (od == lease.end() || !od->is_object()) {
    s.error =
        "lease granted on an existing node, not on a new on-demand executor (is the pool "
        "empty? do executors of earlier runs still idle?)";
    return;
  }
  const auto ms = [&](const char* k) { return od->value(k, int64_t{0}); };
  const auto span_us = [](int64_t a, int64_t b) {
    return a > 0 && b >= a ? static_cast<double>(b - a) * 1000.0 : -1.0;
  };
  s.job_id = od->value("job_id", std::string());
  s.submit_us = span_us(ms("requested_ms"), ms("submitted_ms"));
  // The job's own start (its script's first clock reading) splits the wait precisely; squeue's
  // polled RUNNING is the fallback (up to a poll interval late). A start outside submission ..
  // registration means the node's clock is off: not used.
  int64_t started = ms("job_started_ms");
  if (started < ms("submitted_ms") || started > ms("registered_ms")) started = ms("running_ms");
  s.queue_wait_us = span_us(ms("submitted_ms"), started);
  s.executor_start_us = span_us(started, ms("registered_ms"));
}

class Runner {
 public:
  Runner(const ColdStartConfig& cfg, const client::LeaseClient& manager, ResultsWriter& out,
         ClockOffsetEstimator& clock)
      : cfg_(cfg), manager_(manager), out_(out), clock_(clock) {
    if (!cfg.package_file.empty()) package_ = read_package(cfg.package_file);
    phases_.open(out.path_of("phases.jsonl"), std::ios::binary | std::ios::trunc);
    if (!phases_) throw ConfigError("cannot create " + out.path_of("phases.jsonl").string());
  }

  // Before an on-demand repetition: the executors of earlier ones must have left (they exit
  // when idle), or the lease would land on one of them without a new job. Not timed.
  void wait_for_on_demand_nodes_to_leave(std::FILE* progress) {
    if (!cfg_.on_demand) return;
    const Deadline d = Deadline::after(std::chrono::duration<double>(cfg_.on_demand_leave_s));
    bool told = false;
    while (true) {
      std::vector<std::string> alive;
      for (const auto& n : manager_.nodes())
        if (n.state == "alive" && n.name.rfind("slurm-", 0) == 0) alive.push_back(n.name);
      if (alive.empty()) return;
      if (d.expired())
        throw Error("on-demand executor " + alive.front() + " is still registered after " +
                    std::to_string(static_cast<int>(cfg_.on_demand_leave_s)) +
                    " s: start the executors with a short --exit-when-idle-s (on_demand."
                    "executor_args), or raise --on-demand-leave-s");
      if (!told && progress != nullptr) {
        std::fprintf(progress, "waiting for %zu idle on-demand executor(s) to leave (%s ...)\n",
                     alive.size(), alive.front().c_str());
        std::fflush(progress);
        told = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  ColdStartSample run_once(uint64_t rep, bool warmup) {
    ColdStartSample s;
    s.rep = rep;
    s.warmup = warmup;
    InvocationRecord rec;
    rec.system = "hpcless";
    rec.mode = "cold";
    rec.function = cfg_.function;
    rec.payload_bytes = cfg_.payload;
    rec.rep = rep;
    rec.warmup = warmup;
    rec.cold = true;
    lease_payload(input_, cfg_.payload, rep);

    client::LeaseRequest req;
    req.cores = cfg_.cores;
    req.seconds = cfg_.lease_seconds;
    req.memory_mb = cfg_.memory_mb;
    req.policy = cfg_.policy;
    req.hot_timeout_ms = cfg_.hot_timeout_ms;
    req.transport = cfg_.transport;
    client::SessionOptions so;
    so.connect_now = false;
    so.connect.busy_poll = cfg_.client_busy_poll;
    so.connect.client_name = "hpcless-experiment-cold-start";
    so.connect.connect_timeout = std::chrono::milliseconds(cfg_.timeout_ms);
    const auto deadline = [&] {
      return Deadline::after(std::chrono::milliseconds(cfg_.timeout_ms));
    };
    bool recorded = false;
    try {
      // --- timed part: nothing but the phases between t0 and t_first ---
      const uint64_t t0 = now_ns();
      client::Lease lease = client::Lease::acquire(manager_, req, so);
      const uint64_t t_grant = now_ns();
      const auto& timing = lease.connect(deadline());
      const uint64_t t_conn = now_ns();
      if (!package_.empty()) lease.load_package(package_, deadline());
      const uint64_t t_pkg = now_ns();
      lease.invoke(cfg_.function, input_, result_, deadline());
      const uint64_t t_first = now_ns();
      // --- end of the timed part ---
      s.lease = lease.id();
      for (const auto& a : lease.allocations()) s.nodes.push_back(a.node);
      s.grant_us = us_between(t0, t_grant);
      if (cfg_.on_demand) read_on_demand(lease.info().raw, s);
      s.connect_us = us_between(timing.start_ns, timing.end_ns);
      for (size_t i = 0; i < lease.workers(); ++i) {
        const auto& info = lease.worker(i).info();
        if (info.fresh_worker == 0 || info.worker_spawn_ns == 0) continue;
        s.spawn_us = std::max(s.spawn_us, info.worker_spawn_ns / 1e3);
        s.worker_package_us = std::max(s.worker_package_us, info.worker_package_ns / 1e3);
      }
      for (size_t i = 0; i < lease.workers(); ++i) {
        const auto& t = lease.worker(i).connect_times();
        if (lease.worker(i).transport() != "rdma") continue;
        const double total = (t.rdma_resolve_ns + t.rdma_register_ns + t.rdma_connect_ns) / 1e3;
        if (total <= s.rdma_device_us + s.rdma_register_us + s.rdma_qp_connect_us) continue;
        s.rdma_device_us = t.rdma_resolve_ns / 1e3;
        s.rdma_register_us = t.rdma_register_ns / 1e3;
        s.rdma_qp_connect_us = t.rdma_connect_ns / 1e3;
      }
      (void)t_conn;
      s.package_us = package_.empty() ? -1 : us_between(t_conn, t_pkg);
      s.first_us = us_between(t_pkg, t_first);
      s.total_us = us_between(t0, t_first);
      rec.client_send_ns = result_.client_send_ns;
      rec.client_recv_ns = result_.client_recv_ns;
      rec.server = result_.server;
      rec.output_bytes = result_.output.size();
      rec.worker = lease.worker(0).info().worker_id;
      rec.node = lease.node_of(0);
      if (!result_.ok()) {
        s.error = result_.error_message();
      } else if (const char* why = check_function_reply(cfg_.function, input_, result_.output)) {
        s.error = why;
      } else {
        clock_.add(result_.client_send_ns, result_.server, result_.client_recv_ns);
      }
      rec.status = s.error.empty() ? "ok" : s.error;
      out_.append(rec);
      recorded = true;
      lease.disconnect();
      const uint64_t t_rel = now_ns();
      lease.release();
      s.release_us = us_between(t_rel, now_ns());
    } catch (const ConfigError&) {
      throw;  // unknown function, bad package: no point repeating
    } catch (const Error& e) {
      s.error = e.what();
      if (!recorded) {
        rec.status = s.error;
        out_.append(rec);
      }
    }
    out_.flush();
    phases_ << sample_json(s).dump() << '\n';
    phases_.flush();
    if (!phases_) throw Error("cannot write " + out_.path_of("phases.jsonl").string());
    return s;
  }

 private:
  const ColdStartConfig& cfg_;
  const client::LeaseClient& manager_;
  ResultsWriter& out_;
  ClockOffsetEstimator& clock_;
  std::ofstream phases_;
  std::vector<std::byte> package_;
  std::vector<std::byte> input_;
  client::InvocationResult result_;
};

std::vector<SummaryRow> summarize_phases(const ColdStartConfig& cfg,
                                         const std::vector<ColdStartSample>& samples) {
  std::vector<SummaryRow> rows;
  for (const char* phase : kColdPhases) {
    const std::string p = phase;
    if (p == "package-load" && cfg.package_file.empty()) continue;
    if ((p == "submit" || p == "queue-wait" || p == "executor-start") && !cfg.on_demand) continue;
    if (p.rfind("rdma-", 0) == 0 && cfg.transport != "rdma") continue;
    std::vector<double> v;
    size_t failures = 0;
    for (const auto& s : samples) {
      if (!s.error.empty()) {
        ++failures;
        continue;
      }
      if (s.warmup) continue;
      const double x = s.phase(p);
      if (x >= 0) v.push_back(x);
    }
    SummaryRow r;
    r.system = "hpcless";
    r.transport = cfg.transport;
    r.mode = p;
    r.payload_bytes = cfg.payload;
    r.stats = summarize(v);
    r.failures = failures;
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace

json ColdStartConfig::to_json() const {
  return {{"manager", manager.url},
          {"out_dir", out_dir.string()},
          {"repetitions", repetitions},
          {"warmup", warmup},
          {"cores", cores},
          {"lease_seconds", lease_seconds},
          {"memory_mb", memory_mb},
          {"policy", policy.empty() ? json(nullptr) : json(policy)},
          {"hot_timeout_ms", hot_timeout_ms},
          {"client_busy_poll", client_busy_poll},
          {"transport", transport},
          {"function", function},
          {"payload_bytes", payload},
          {"package_file", package_file.empty() ? json(nullptr) : json(package_file.string())},
          {"pause_ms", pause_ms},
          {"timeout_ms", timeout_ms},
          {"on_demand", on_demand},
          {"on_demand_leave_s", on_demand ? json(on_demand_leave_s) : json(nullptr)},
          {"method",
           "per repetition, a fresh lease: grant = POST /v1/leases until 201; connect-spawn = "
           "TCP connect to hello-ack on every allocation in parallel (the executor spawns the "
           "lease's worker on the first connection; the slowest allocation counts); spawn = "
           "the worker's own report (hello-ack) of fork to ready, which includes "
           "worker-package-load (its initial package); connect = connect-spawn - spawn (TCP, "
           "hello, token checks, hand-off); "
           "package-load = shipping package_file to the workers; first-invocation = the first "
           "invocation's round trip; total = grant start to first result; release = DELETE "
           "after the result. Summaries are over successful timed repetitions (warm-up "
           "repetitions are recorded but not summarized). On demand (on_demand true): every "
           "lease is granted on a new executor the manager starts through Slurm; submit, "
           "queue-wait and executor-start split the grant by the lease's on_demand record "
           "(request -> sbatch answered -> the job's script started (job_started_ms; else "
           "squeue's first RUNNING, polled) -> executor registered)."}};
}

ColdStartConfig normalized(ColdStartConfig c) {
  if (c.out_dir.empty()) throw ConfigError("--out DIR is required");
  if (c.repetitions < 1) throw ConfigError("--repetitions must be at least 1");
  if (c.cores < 1) throw ConfigError("--cores must be at least 1");
  if (!(c.lease_seconds > 0)) throw ConfigError("--lease-seconds must be positive");
  if (c.hot_timeout_ms < -1) throw ConfigError("--hot-timeout-ms must be -1, 0 or positive");
  if (c.function.empty()) throw ConfigError("--function must not be empty");
  if (c.pause_ms < 0) throw ConfigError("--pause-ms must not be negative");
  if (c.timeout_ms < 1) throw ConfigError("--timeout-ms must be positive");
  if (c.payload > (size_t{1} << 30)) throw ConfigError("--payload above 1 GiB");
  if (!(c.on_demand_leave_s > 0 && c.on_demand_leave_s <= 3600))
    throw ConfigError("--on-demand-leave-s must be 0..3600 seconds");
  return c;
}

ColdStartOutcome run_cold_start(const ColdStartConfig& config, std::FILE* progress) {
  const ColdStartConfig cfg = normalized(config);
  const auto started = std::chrono::system_clock::now();
  const client::LeaseClient manager(cfg.manager);
  const LeaseExperimentStart start = start_lease_experiment(started, manager, progress);
  ResultsWriter out(cfg.out_dir);
  ClockOffsetEstimator clock;
  Runner runner(cfg, manager, out, clock);
  ColdStartOutcome outcome;
  outcome.results_dir = out.dir();

  const auto finish = [&](const std::string& aborted) {
    outcome.rows = summarize_phases(cfg, outcome.samples);
    out.write_summary(outcome.rows);
    write_lease_metadata(out, kExperimentName, cfg.to_json(), start, clock, aborted,
                         {{"phases_file", "phases.jsonl"}});
  };

  int failed_in_a_row = 0;
  try {
    const size_t total = cfg.warmup + cfg.repetitions;
    for (size_t i = 0; i < total; ++i) {
      const bool warmup = i < cfg.warmup;
      runner.wait_for_on_demand_nodes_to_leave(progress);
      ColdStartSample s = runner.run_once(i, warmup);
      if (progress != nullptr) {
        if (s.error.empty() && cfg.on_demand)
          std::fprintf(progress,
                       "%s %3zu  %s  job %s  grant %8.1f ms (submit %6.1f, queue %7.1f, executor "
                       "start %7.1f)  connect %6.0f us  first %6.0f us  total %8.1f ms\n",
                       warmup ? "warmup" : "rep   ", i, s.lease.c_str(), s.job_id.c_str(),
                       s.grant_us / 1e3, s.submit_us / 1e3, s.queue_wait_us / 1e3,
                       s.executor_start_us / 1e3, s.connect_only_us(), s.first_us,
                       s.total_us / 1e3);
        else if (s.error.empty())
          std::fprintf(progress,
                       "%s %3zu  %s  grant %7.0f us  spawn %7.0f us  connect %6.0f us  first "
                       "%6.0f us  total %7.0f us  release %6.0f us\n",
                       warmup ? "warmup" : "rep   ", i, s.lease.c_str(), s.grant_us, s.spawn_us,
                       s.connect_only_us(), s.first_us, s.total_us, s.release_us);
        else
          std::fprintf(progress, "%s %3zu  failed: %s\n", warmup ? "warmup" : "rep   ", i,
                       s.error.c_str());
        std::fflush(progress);
      }
      if (!s.error.empty()) {
        ++outcome.failures;
        if (++failed_in_a_row >= kMaxFailuresInARow)
          throw Error(std::to_string(kMaxFailuresInARow) +
                      " repetitions in a row failed; last error: " + s.error);
      } else {
        failed_in_a_row = 0;
      }
      outcome.samples.push_back(std::move(s));
      if (cfg.pause_ms > 0 && i + 1 < total)
        std::this_thread::sleep_for(std::chrono::milliseconds(cfg.pause_ms));
    }
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
  outcome.plot = run_gnuplot_script(out.dir(), "cold_start",
                                    cold_start_gnuplot_script(outcome.rows, outcome.samples));
  return outcome;
}

std::string format_cold_start_table(const std::vector<SummaryRow>& rows) {
  std::string t;
  char line[256];
  std::snprintf(line, sizeof(line), "%-19s %6s %10s %10s %10s %10s %10s %8s\n", "phase", "count",
                "p50 (ms)", "p90 (ms)", "p99 (ms)", "mean (ms)", "max (ms)", "failures");
  t += line;
  for (const auto& r : rows) {
    if (r.stats.count == 0) {
      std::snprintf(line, sizeof(line), "%-19s %6zu %10s %10s %10s %10s %10s %8zu\n",
                    r.mode.c_str(), r.stats.count, "n/a", "n/a", "n/a", "n/a", "n/a", r.failures);
    } else {
      std::snprintf(line, sizeof(line), "%-19s %6zu %10.3f %10.3f %10.3f %10.3f %10.3f %8zu\n",
                    r.mode.c_str(), r.stats.count, r.stats.p50 / 1000, r.stats.p90 / 1000,
                    r.stats.p99 / 1000, r.stats.mean / 1000, r.stats.max / 1000, r.failures);
    }
    t += line;
  }
  return t;
}

std::string cold_start_gnuplot_script(const std::vector<SummaryRow>& rows,
                                      const std::vector<ColdStartSample>& samples) {
  // The stacked phases: everything in `total` except release.
  struct Stack {
    const char* phase;
    const char* title;
    const char* colour;
  };
  static constexpr Stack kStack[] = {{"grant", "grant (HTTP)", "#1f77b4"},
                                     {"spawn", "worker spawn", "#d62728"},
                                     {"connect", "connect + hello", "#9467bd"},
                                     {"package-load", "package load", "#2ca02c"},
                                     {"first-invocation", "first invocation", "#ff7f0e"}};
  const auto row = [&](const char* phase) -> const SummaryRow* {
    for (const auto& r : rows)
      if (r.mode == phase && r.stats.count > 0) return &r;
    return nullptr;
  };
  std::vector<const Stack*> present;
  for (const auto& st : kStack)
    if (row(st.phase) != nullptr) present.push_back(&st);

  std::string s =
      "# Cold start (lease -> first result) by phase. Generated by hpcless; run `gnuplot "
      "cold_start.gp` in this folder to redraw.\n# Values in milliseconds.\n\n$pct << EOD\n";
  char buf[256];
  for (const char* q : {"p50", "p99"}) {
    s += q;
    for (const auto* st : present) {
      const SummaryRow* r = row(st->phase);
      std::snprintf(buf, sizeof(buf), " %.4f",
                    (std::string(q) == "p50" ? r->stats.p50 : r->stats.p99) / 1000.0);
      s += buf;
    }
    s += "\n";
  }
  s += "EOD\n\n$reps << EOD\n";
  size_t n = 0;
  for (const auto& smp : samples) {
    if (!smp.error.empty() || smp.warmup) continue;
    std::snprintf(buf, sizeof(buf), "%zu", ++n);
    s += buf;
    for (const auto* st : present) {
      const std::string p = st->phase;
      const double us = smp.phase(p);
      std::snprintf(buf, sizeof(buf), " %.4f", std::max(0.0, us) / 1000.0);
      s += buf;
    }
    s += "\n";
  }
  s += "EOD\n\n";
  const SummaryRow* total = row("total");
  if (total != nullptr) {
    std::snprintf(buf, sizeof(buf),
                  "total_label = 'total p50 %.2f ms, p99 %.2f ms (%zu repetitions)'\n",
                  total->stats.p50 / 1000, total->stats.p99 / 1000, total->stats.count);
    s += buf;
  } else {
    s += "total_label = 'no successful repetitions'\n";
  }
  std::string plot_pct = "plot ", plot_reps = "plot ";
  for (size_t i = 0; i < present.size(); ++i) {
    const auto* st = present[i];
    std::snprintf(buf, sizeof(buf), "%s%s using %zu%s lc rgb '%s' title '%s'",
                  i == 0 ? "" : ", \\\n     ", i == 0 ? "$pct" : "''", i + 2,
                  i == 0 ? ":xtic(1)" : "", st->colour, st->title);
    plot_pct += buf;
    std::snprintf(buf, sizeof(buf), "%s%s using %zu lc rgb '%s' notitle",
                  i == 0 ? "" : ", \\\n     ", i == 0 ? "$reps" : "''", i + 2, st->colour);
    plot_reps += buf;
  }
  const std::string draw =
      "set multiplot layout 1,2 title 'Cold start: lease -> first result (' . total_label . ')'\n"
      "unset xlabel\n"
      "set autoscale x\n"
      "set style data histograms\n"
      "set style histogram rowstacked\n"
      "set style fill solid 0.85 border -1\n"
      "set boxwidth 0.6 relative\n"
      "set grid ytics\n"
      "set ylabel 'milliseconds'\n"
      "set yrange [0:*]\n"
      "set key top left box opaque\n"
      "set title 'phases, p50 and p99 (each phase''s percentile, stacked)'\n" +
      (present.empty() ? std::string("plot 0 notitle\n") : plot_pct + "\n") +
      "set title 'phases of every repetition'\n"
      "set xlabel 'repetition'\n"
      "set xtics nomirror rotate by 0 autofreq\n"
      "set xrange [-1:" +
      std::to_string(n) +
      "]\n"
      "unset key\n" +
      (present.empty() || n == 0 ? std::string("plot 0 notitle\n") : plot_reps + "\n") +
      "unset multiplot\n";
  s += "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
       "  set terminal pngcairo size 1300,650 enhanced font 'sans,11'\n"
       "} else {\n"
       "  set terminal png size 1300,650\n"
       "}\n"
       "set output 'cold_start.png'\n" +
       draw +
       "set terminal svg size 1300,650 dynamic enhanced font 'sans,11'\n"
       "set output 'cold_start.svg'\n" +
       draw + "unset output\n";
  return s;
}

double ColdStartSample::phase(const std::string& p) const {
  if (p == "grant") return grant_us;
  if (p == "submit") return submit_us;
  if (p == "queue-wait") return queue_wait_us;
  if (p == "executor-start") return executor_start_us;
  if (p == "spawn") return spawn_us;
  if (p == "worker-package-load") return worker_package_us;
  if (p == "connect") return connect_only_us();
  if (p == "rdma-device") return rdma_device_us;
  if (p == "rdma-register") return rdma_register_us;
  if (p == "rdma-qp-connect") return rdma_qp_connect_us;
  if (p == "connect-spawn") return connect_us;
  if (p == "package-load") return package_us;
  if (p == "first-invocation") return first_us;
  if (p == "total") return total_us;
  return release_us;
}

}  // namespace hpcless::experiments
