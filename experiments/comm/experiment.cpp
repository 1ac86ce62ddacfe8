#include "experiments/comm/experiment.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "comm/base/cpu.hpp"
#include "comm/base/error.hpp"
#include "experiments/comm/channels.hpp"
#include "experiments/comm/comm_bench.hpp"
#include "experiments/comm/cost_fit.hpp"
#include "experiments/comm/services.hpp"
#include "experiments/common/plot.hpp"
#include "experiments/common/results.hpp"
#include "experiments/common/stats.hpp"

namespace hpcless::experiments::comm_bench {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Fixed colours and point types so that plots of different runs compare at a glance.
struct SeriesStyle {
  const char* name;
  const char* colour;
  int point_type;
};
constexpr SeriesStyle kStyles[] = {
    {"direct", "#d62728", 7},      {"direct-spin", "#ff7f0e", 9},
    {"direct-rdma", "#9467bd", 4}, {"direct-rdma-spin", "#e377c2", 6},
    {"redis", "#8c564b", 11},      {"s3", "#7f7f7f", 13},
    {"mpi", "#1f77b4", 5},         {"mpi-spin", "#17becf", 15},
    {"gloo", "#2ca02c", 3},
};

bool is_hpcless_series(const std::string& s) {
  return s == "direct" || s == "direct-spin" || s == "direct-rdma" || s == "direct-rdma-spin" ||
         s == "redis" || s == "s3";
}

bool is_spin_series(const std::string& s) { return s == "direct-spin" || s == "direct-rdma-spin"; }

// The channel of a series: "-spin" is a waiting policy, not a channel.
std::string channel_of(const std::string& s) {
  return is_spin_series(s) ? s.substr(0, s.size() - 5) : s;
}

void write_text(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot create '" + tmp.string() + "': " + std::strerror(errno));
    out << content;
    out.flush();
    if (!out) throw Error("cannot write '" + tmp.string() + "' (disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error("cannot rename '" + tmp.string() + "': " + ec.message());
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string fmt(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string size_label(size_t bytes) {
  const char* units[] = {"", "K", "M", "G"};
  int u = 0;
  while (u < 3 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++u;
  }
  return std::to_string(bytes) + units[u];
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= line.size()) {
    size_t comma = line.find(',', pos);
    if (comma == std::string::npos) comma = line.size();
    out.push_back(line.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

struct RunRow {
  size_t bytes = 0;
  double avg_us = 0, min_us = 0, max_us = 0, mb_s = 0;
  int iterations = 0;
  std::string label;
};

// Reads the CSV a run's rank 0 wrote (osu::kCsvHeader).
std::vector<RunRow> read_run_csv(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error("the run wrote no CSV file '" + path.string() + "'");
  std::string line;
  std::getline(in, line);
  if (line != osu::kCsvHeader) throw Error("unexpected CSV header in '" + path.string() + "'");
  std::vector<RunRow> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto f = split_csv_line(line);
    if (f.size() != 9) throw Error("malformed CSV line in '" + path.string() + "': " + line);
    RunRow r;
    r.label = f[0];
    r.bytes = std::stoull(f[3]);
    if (!f[4].empty()) r.avg_us = std::stod(f[4]);
    if (!f[5].empty()) r.min_us = std::stod(f[5]);
    if (!f[6].empty()) r.max_us = std::stod(f[6]);
    r.iterations = std::stoi(f[7]);
    if (!f[8].empty()) r.mb_s = std::stod(f[8]);
    rows.push_back(r);
  }
  return rows;
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

int ranks_for(const CommExperimentConfig& c, osu::Op op) {
  return osu::is_point_to_point(op) ? 2 : c.ranks;
}

CommBenchConfig bench_config(const CommExperimentConfig& c, const std::string& series, osu::Op op) {
  CommBenchConfig b;
  b.ranks = ranks_for(c, op);
  b.bench = c.bench;
  b.bench.op = op;
  b.channel.timeout = c.timeout;
  b.mpirun = c.mpirun;
  b.self_exe = c.self_exe;
  b.launch.watchdog = c.watchdog;
  b.label = series;
  if (is_hpcless_series(series)) {
    b.system = "hpcless";
    b.channel.channel = channel_of(series);
    b.channel.config_path = c.config_path;
    b.channel.rdma_address = c.rdma_address;
    if (is_spin_series(series)) b.channel.spin = c.spin;
  } else if (series == "mpi" || series == "mpi-spin") {
    b.system = "mpi";
    b.mpi_args = std::string("--mca mpi_yield_when_idle ") + (series == "mpi" ? "1" : "0");
    if (!c.mpi_args.empty()) b.mpi_args += " " + c.mpi_args;
  } else {
    b.system = "gloo";
  }
  return b;
}

// The command line of a run's rank 0 (or mpirun), for metadata (store address elided).
std::string describe_command(const CommBenchConfig& b) {
  const auto lines = command_lines(b, "<store>", "<group>");
  std::string s;
  for (const auto& a : lines.front()) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string version_line(const std::vector<std::string>& argv, const fs::path& scratch) {
  LaunchOptions lo;
  lo.watchdog = std::chrono::seconds(20);
  lo.stdout_path = scratch.string();
  lo.noun = argv[0];
  try {
    const auto r = run_processes({argv}, lo);
    std::string out = read_text(scratch);
    std::error_code ec;
    fs::remove(scratch, ec);
    if (!r.ok) return "unknown (" + r.error + ")";
    return out.substr(0, out.find('\n'));
  } catch (const std::exception& e) {
    return std::string("unknown (") + e.what() + ")";
  }
}

std::string plot_script(const std::string& op, int ranks, int rounds,
                        const std::map<size_t, std::map<std::string, SeriesValue>>& by_size,
                        const std::vector<std::string>& series) {
  const bool bw = op == "bandwidth";
  std::string s = "# comm experiment: " + op +
                  ", median over rounds of the OSU value per size.\n"
                  "# Generated by hpcless; run `gnuplot " +
                  op +
                  ".gp` in this folder to redraw.\n"
                  "# Columns of each data block: size_bytes value\n\n";
  std::vector<std::pair<const SeriesStyle*, std::string>> blocks;
  std::vector<size_t> sizes;
  for (const auto& name : series) {
    const SeriesStyle* style = nullptr;
    for (const auto& st : kStyles)
      if (name == st.name) style = &st;
    if (style == nullptr) continue;
    std::string data;
    for (const auto& [bytes, vals] : by_size) {
      const auto it = vals.find(name);
      if (bytes == 0 || it == vals.end() || it->second.per_round.empty()) continue;
      data += std::to_string(bytes) + " " + fmt(it->second.median, 3) + "\n";
      sizes.push_back(bytes);
    }
    if (data.empty()) continue;
    std::string block = "$" + name;
    std::replace(block.begin(), block.end(), '-', '_');
    s += block + " << EOD\n" + data + "EOD\n\n";
    blocks.emplace_back(style, block);
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  s += "set logscale xy\n"
       "set xlabel 'message size (bytes)'\n";
  s += bw ? "set ylabel 'bandwidth (MB/s)'\n" : "set ylabel 'OSU avg latency (us)'\n";
  s += "set title '" + op + ", " + std::to_string(ranks) + " ranks on loopback: median of " +
       std::to_string(rounds) + " round(s)'\n" +
       "set grid xtics ytics mytics\n"
       "set format y '%g'\n"
       "set key top left box opaque\n";
  if (!sizes.empty()) {
    s += "set xtics (";
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (i > 0) s += ", ";
      s += '\'';
      s += size_label(sizes[i]);
      s += "' ";
      s += std::to_string(sizes[i]);
    }
    s += ")\n";
    char range[96];
    std::snprintf(range, sizeof(range), "set xrange [%g:%g]\n",
                  static_cast<double>(sizes.front()) / 1.5,
                  static_cast<double>(sizes.back()) * 1.5);
    s += range;
  }
  std::string plot = "plot ";
  for (size_t i = 0; i < blocks.size(); ++i) {
    char item[256];
    std::snprintf(item, sizeof(item),
                  "%s%s using 1:2 with linespoints lc rgb '%s' lw 2 pt %d ps 1 title '%s'",
                  i == 0 ? "" : ", \\\n     ", blocks[i].second.c_str(), blocks[i].first->colour,
                  blocks[i].first->point_type, blocks[i].first->name);
    plot += item;
  }
  plot += "\n";
  s += "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
       "  set terminal pngcairo size 1000,700 enhanced font 'sans,11'\n"
       "} else {\n"
       "  set terminal png size 1000,700\n"
       "}\n"
       "set output '" +
       op + ".png'\n" + plot +
       "set terminal svg size 1000,700 dynamic enhanced font 'sans,11'\n"
       "set output '" +
       op +
       ".svg'\n"
       "replot\n"
       "unset output\n";
  return s;
}

}  // namespace

json CommExperimentConfig::to_json() const {
  json j;
  j["out_dir"] = out_dir.string();
  j["ranks"] = ranks;
  std::vector<std::string> op_names;
  for (auto op : ops) op_names.push_back(osu::op_name(op));
  j["ops"] = op_names;
  j["sizes"] = bench.sizes;
  j["min_size"] = bench.min_size;
  j["max_size"] = bench.max_size;
  j["iterations"] = bench.iterations > 0 ? json(bench.iterations) : json("osu-default");
  j["warmup"] = bench.warmup >= 0 ? json(bench.warmup) : json("osu-default");
  j["series"] = series;
  j["config_path"] = config_path;
  j["start_services"] = start_services;
  j["rounds"] = rounds;
  j["mpirun"] = mpirun;
  j["mpi_args"] = mpi_args;
  j["direct_spin_us"] = spin.count();
  j["rdma_address"] = rdma_address;
  j["timeout_ms"] = timeout.count();
  j["watchdog_ms"] = watchdog.count();
  return j;
}

std::vector<std::string> known_series() {
  std::vector<std::string> out;
  for (const auto& st : kStyles) out.emplace_back(st.name);
  return out;
}

std::vector<std::string> default_series(const CommExperimentConfig& c) {
  std::vector<std::string> s = {"direct"};
  if (!c.config_path.empty() || c.start_services)
    for (const char* ch : {"redis", "s3"})
      if (channel_unavailable_reason(ch).empty()) s.emplace_back(ch);
  CommBenchConfig probe;
  probe.system = "mpi";
  probe.mpirun = c.mpirun.empty() ? kDefaultMpirun : c.mpirun;
  if (system_unavailable_reason(probe).empty()) s.emplace_back("mpi");
  probe.system = "gloo";
  if (system_unavailable_reason(probe).empty()) s.emplace_back("gloo");
  return s;
}

CommExperimentConfig normalized(CommExperimentConfig c) {
  if (c.out_dir.empty()) throw ConfigError("--out DIR is required");
  if (c.ranks < 1 || c.ranks > 256) throw ConfigError("--ranks must be 1 .. 256");
  if (c.rounds < 1 || c.rounds > 1000) throw ConfigError("--rounds must be 1 .. 1000");
  if (c.ops.empty()) throw ConfigError("--ops lists no operation");
  if (c.mpirun.empty()) c.mpirun = kDefaultMpirun;
  if (c.self_exe.empty()) c.self_exe = self_executable();
  if (c.series.empty()) c.series = default_series(c);
  std::vector<std::string> uniq;
  for (const auto& s : c.series) {
    const auto known = known_series();
    if (std::find(known.begin(), known.end(), s) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw ConfigError("unknown series '" + s + "' (one of: " + list + ")");
    }
    if ((s == "redis" || s == "s3") && c.config_path.empty() && !c.start_services)
      throw ConfigError("series '" + s +
                        "' needs --config FILE with its storage settings, or --start-services");
    if (channel_of(s) == "direct-rdma" && c.rdma_address.empty()) {
      const char* env = std::getenv("HPCLESS_RDMA_ADDRESS");
      if (env == nullptr || *env == '\0')
        throw ConfigError("series '" + s +
                          "' needs --rdma-address ADDR (or $HPCLESS_RDMA_ADDRESS): the IP "
                          "address of this host's RDMA interface");
      c.rdma_address = env;
    }
    const std::string why = system_unavailable_reason(bench_config(c, s, c.ops.front()));
    if (!why.empty()) throw ConfigError("series '" + s + "': " + why);
    if (std::find(uniq.begin(), uniq.end(), s) == uniq.end()) uniq.push_back(s);
  }
  c.series = uniq;
  std::vector<osu::Op> ops;
  for (auto op : c.ops) {
    if (std::find(ops.begin(), ops.end(), op) != ops.end()) continue;
    osu::Options o = c.bench;
    o.op = op;
    const std::string err = osu::check(o, ranks_for(c, op));
    if (!err.empty()) throw ConfigError(std::string(osu::op_name(op)) + ": " + err);
    ops.push_back(op);
  }
  c.ops = ops;
  c.bench.csv.clear();
  return c;
}

CommExperimentOutcome run_comm_experiment(const CommExperimentConfig& config, std::FILE* progress) {
  CommExperimentConfig c = normalized(config);
  CommExperimentOutcome out;
  out.results_dir = c.out_dir;
  out.series = c.series;
  std::error_code ec;
  for (const char* f : {"metadata.json", "results.csv", "raw"})
    if (fs::exists(c.out_dir / f, ec))
      throw ConfigError("results folder '" + c.out_dir.string() + "' already holds a run (" + f +
                        "); choose another --out");
  const fs::path raw = c.out_dir / "raw";
  fs::create_directories(raw, ec);
  if (ec) throw ConfigError("cannot create '" + raw.string() + "': " + ec.message());

  std::optional<LocalServices> services;
  if (c.start_services) {
    if (progress != nullptr) std::fprintf(progress, "starting redis-server and s3rver...\n");
    services.emplace(raw / "services");
    c.config_path = services->config_path().string();
  }

  const auto start = std::chrono::system_clock::now();
  const std::string load_before = loadavg();
  json runs = json::array();
  std::string results_csv =
      "series,label,op,ranks,size_bytes,round,avg_us,min_us,max_us,iterations,bandwidth_mb_s\n";

  const size_t n_series = c.series.size();
  for (int round = 0; round < c.rounds; ++round) {
    for (auto op : c.ops) {
      const std::string op_s = osu::op_name(op);
      for (size_t k = 0; k < n_series; ++k) {
        // Rotated order: round r starts with series r (mod the number of series).
        const std::string& series = c.series[(k + static_cast<size_t>(round)) % n_series];
        CommBenchConfig b = bench_config(c, series, op);
        const std::string stem = series + "-" + op_s + "-r" + std::to_string(round);
        b.bench.csv = (raw / (stem + ".csv")).string();
        b.launch.stdout_path = (raw / (stem + ".txt")).string();
        b.launch.stderr_path = (raw / (stem + ".log")).string();
        if (progress != nullptr) {
          std::fprintf(progress, "[round %d/%d] %s %s (%d ranks)...", round + 1, c.rounds,
                       series.c_str(), op_s.c_str(), b.ranks);
          std::fflush(progress);
        }
        json run;
        run["series"] = series;
        run["op"] = op_s;
        run["round"] = round;
        run["ranks"] = b.ranks;
        run["command"] = describe_command(b);
        std::string error;
        LaunchResult res;
        try {
          res = run_comm_bench(b);
          if (!res.ok) error = res.error;
        } catch (const std::exception& e) {
          error = e.what();
        }
        std::vector<RunRow> rows;
        if (error.empty()) {
          try {
            rows = read_run_csv(b.bench.csv);
          } catch (const std::exception& e) {
            error = e.what();
          }
        }
        run["seconds"] = res.seconds;
        run["ok"] = error.empty();
        if (!error.empty()) {
          run["error"] = error;
          out.failures.push_back(stem + ": " + error + " (see " + b.launch.stderr_path + ")");
        }
        runs.push_back(run);
        if (progress != nullptr) {
          std::fprintf(progress, " %s (%.1f s)\n", error.empty() ? "ok" : "FAILED", res.seconds);
          if (!error.empty()) std::fprintf(progress, "  %s\n", error.c_str());
        }
        for (const auto& r : rows) {
          const bool bw = op == osu::Op::kBandwidth;
          SeriesValue& v = out.values[op_s][r.bytes][series];
          v.per_round.push_back(bw ? r.mb_s : r.avg_us);
          v.label = r.label;
          results_csv += series + "," + r.label + "," + op_s + "," + std::to_string(b.ranks) + "," +
                         std::to_string(r.bytes) + "," + std::to_string(round) + "," +
                         (bw ? "" : fmt(r.avg_us, 3)) + "," + (bw ? "" : fmt(r.min_us, 3)) + "," +
                         (bw ? "" : fmt(r.max_us, 3)) + "," + std::to_string(r.iterations) + "," +
                         (bw ? fmt(r.mb_s, 3) : "") + "\n";
        }
      }
    }
    write_text(c.out_dir / "results.csv", results_csv);  // after each round: partial results
  }

  // Medians over rounds.
  for (auto& [op, by_size] : out.values)
    for (auto& [bytes, by_series] : by_size)
      for (auto& [series, v] : by_series) v.median = summarize(v.per_round).p50;

  // <op>.csv: a column per series.
  for (const auto& [op, by_size] : out.values) {
    std::string csv = "size_bytes";
    for (const auto& s : c.series) csv += "," + s;
    csv += "\n";
    for (const auto& [bytes, by_series] : by_size) {
      csv += std::to_string(bytes);
      for (const auto& s : c.series) {
        const auto it = by_series.find(s);
        csv += ",";
        if (it != by_series.end() && !it->second.per_round.empty())
          csv += fmt(it->second.median, 3);
      }
      csv += "\n";
    }
    write_text(c.out_dir / (op + ".csv"), csv);
  }

  // summary.csv and the table.
  const bool have_mpi = std::find(c.series.begin(), c.series.end(), "mpi") != c.series.end();
  std::string summary = "op,size_bytes,series,label,unit,rounds,median,best,worst,ratio_to_mpi\n";
  std::string table;
  {
    const unsigned cores = std::thread::hardware_concurrency();
    table += "# comm experiment: " + std::to_string(c.ranks) + " ranks as processes on " +
             std::to_string(cores) + " cores" +
             (static_cast<unsigned>(c.ranks) > cores ? " (oversubscribed)" : "") +
             ", loopback TCP" +
             (c.rdma_address.empty() ? std::string()
                                     : " (direct-rdma: RDMA at " + c.rdma_address + ")") +
             ", " + std::to_string(c.rounds) + " round(s)\n";
    table += "# value: median over rounds of OSU Avg Latency (us); bandwidth: MB/s\n";
    char head[512];
    int n = std::snprintf(head, sizeof(head), "%-10s %10s", "# op", "size");
    std::string h(head, static_cast<size_t>(n));
    for (const auto& s : c.series) {
      std::snprintf(head, sizeof(head), " %12s", s.c_str());
      h += head;
    }
    if (have_mpi)
      for (const auto& s : c.series)
        if (s != "mpi") {
          std::snprintf(head, sizeof(head), " %12s", (s + "/mpi").c_str());
          h += head;
        }
    table += h + "\n";
  }
  for (const auto& [op, by_size] : out.values) {
    for (const auto& [bytes, by_series] : by_size) {
      const auto mpi = by_series.find("mpi");
      const bool mpi_ok =
          mpi != by_series.end() && !mpi->second.per_round.empty() && mpi->second.median > 0;
      char cell[128];
      int n =
          std::snprintf(cell, sizeof(cell), "%-10s %10s", op.c_str(), size_label(bytes).c_str());
      std::string line(cell, static_cast<size_t>(n));
      for (const auto& s : c.series) {
        const auto it = by_series.find(s);
        const bool ok = it != by_series.end() && !it->second.per_round.empty();
        std::snprintf(cell, sizeof(cell), " %12s", ok ? fmt(it->second.median).c_str() : "-");
        line += cell;
        if (!ok) continue;
        const auto& v = it->second;
        const auto st = summarize(v.per_round);
        const bool bw = op == "bandwidth";
        summary += op + "," + std::to_string(bytes) + "," + s + "," + v.label + "," +
                   (bw ? "MB/s" : "us") + "," + std::to_string(v.per_round.size()) + "," +
                   fmt(v.median, 3) + "," + fmt(bw ? st.max : st.min, 3) + "," +
                   fmt(bw ? st.min : st.max, 3) + "," +
                   (mpi_ok ? fmt(v.median / mpi->second.median, 3) : "") + "\n";
      }
      if (have_mpi)
        for (const auto& s : c.series) {
          if (s == "mpi") continue;
          const auto it = by_series.find(s);
          const bool ok = mpi_ok && it != by_series.end() && !it->second.per_round.empty();
          std::snprintf(cell, sizeof(cell), " %12s",
                        ok ? fmt(it->second.median / mpi->second.median).c_str() : "-");
          line += cell;
        }
      table += line + "\n";
    }
  }
  out.table = table;
  write_text(c.out_dir / "summary.csv", summary);
  write_text(c.out_dir / "summary.txt", table);

  // cost_model.json: alpha-beta fits of these medians, for CommOptions::channel = kAuto.
  std::vector<std::string> fitted;
  const comm::CostModel model = fit_cost_model(out, c, &fitted);
  write_text(c.out_dir / "cost_model.json",
             model.to_json("hpcless experiment comm, " + std::to_string(c.ranks) +
                           " ranks; fitted: " +
                           (fitted.empty() ? std::string("none (defaults)") : [&] {
                             std::string f;
                             for (const auto& x : fitted) f += (f.empty() ? "" : ", ") + x;
                             return f;
                           }())));

  // Plots: one per operation with sizes above 0 (a log axis has no 0; barrier is in the CSVs).
  for (const auto& [op, by_size] : out.values) {
    const bool plottable =
        std::any_of(by_size.begin(), by_size.end(), [](const auto& kv) { return kv.first > 0; });
    if (!plottable) {
      out.plot_messages.push_back(op + ": no plot (only size 0)");
      continue;
    }
    const auto opv = osu::parse_op(op);
    const int ranks = opv ? ranks_for(c, *opv) : c.ranks;
    const PlotResult p =
        run_gnuplot_script(c.out_dir, op, plot_script(op, ranks, c.rounds, by_size, c.series));
    if (!p.ok) out.plot_messages.push_back(op + ": " + p.message);
  }

  // metadata.json
  const auto end = std::chrono::system_clock::now();
  json m;
  m["experiment"] = "comm";
  m["start_utc"] = utc_timestamp(start);
  m["end_utc"] = utc_timestamp(end);
  m["duration_s"] = std::chrono::duration<double>(end - start).count();
  m["host"] = host_metadata();
  m["build"] = build_metadata();
  m["git_revision"] = m["build"]["git_revision"];
  m["config"] = c.to_json();
  json cond;
  const unsigned cores = std::thread::hardware_concurrency();
  cond["cores_online"] = cores;
  cond["cores_usable"] = usable_core_count();
  cond["oversubscribed"] = static_cast<unsigned>(c.ranks) > cores;
  cond["loadavg_before"] = load_before;
  cond["loadavg_after"] = loadavg();
  cond["transport"] =
      "TCP over loopback (127.0.0.1) for every system, except the direct-rdma "
      "series: RDMA (RC queue pairs) on the device at " +
      (c.rdma_address.empty() ? std::string("-") : c.rdma_address);
  cond["waiting"] = {
      {"direct", "hpcless direct channel: waits sleep in ppoll at once (DirectOptions::spin 0)"},
      {"direct-spin", "hpcless direct channel: polls with sched_yield for " +
                          std::to_string(c.spin.count()) + " us before sleeping"},
      {"direct-rdma",
       "hpcless direct channel over RDMA: waits sleep in epoll on the completion "
       "channels at once"},
      {"direct-rdma-spin",
       "hpcless direct channel over RDMA: polls the completion queues with "
       "sched_yield for " +
           std::to_string(c.spin.count()) + " us before sleeping"},
      {"mpi", "Open MPI ob1/tcp: progress loop polls, sched_yield when idle (yield_when_idle 1)"},
      {"mpi-spin", "Open MPI ob1/tcp: progress loop polls without yielding (yield_when_idle 0)"},
      {"gloo", "Gloo tcp: a device thread runs epoll; the caller blocks on a condition variable"}};
  cond["binding"] = "none for every system (mpirun --bind-to none; ranks unpinned)";
  m["conditions"] = cond;
  json versions;
  versions["mpirun"] = version_line({"mpirun", "--version"}, raw / "mpirun-version.txt");
#ifdef HPCLESS_GLOO_VERSION
  versions["gloo"] = HPCLESS_GLOO_VERSION;
#endif
  m["versions"] = versions;
  json cmds;
  for (const auto& s : c.series) cmds[s] = describe_command(bench_config(c, s, c.ops.front()));
  m["commands"] = cmds;
  m["runs"] = runs;
  m["failures"] = out.failures;
  write_text(c.out_dir / "metadata.json", m.dump(2) + "\n");
  return out;
}

}  // namespace hpcless::experiments::comm_bench
