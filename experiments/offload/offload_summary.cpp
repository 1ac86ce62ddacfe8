#include "experiments/offload/offload_summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "comm/base/error.hpp"
#include "experiments/common/stats.hpp"

namespace hpcless::experiments::offload {

using nlohmann::json;

namespace {

std::string fmt(double v, int decimals) {
  char b[64];
  std::snprintf(b, sizeof(b), "%.*f", decimals, v);
  return b;
}

std::string opt_fmt(const std::optional<double>& v, int decimals) {
  return v ? fmt(*v, decimals) : std::string();
}

double median_of(const std::vector<const OffloadRun*>& runs, double OffloadRun::*field) {
  std::vector<double> v;
  v.reserve(runs.size());
  for (const auto* r : runs) v.push_back(r->*field);
  return summarize(v).p50;
}

bool same_fraction(double a, double b) { return std::fabs(a - b) < 1e-9; }

}  // namespace

void account(OffloadRun& r) {
  r.mpi_core_s = r.ranks * r.wall_s;
  r.lease_core_s = r.lease.empty() ? 0.0 : r.lease_cores * r.lease_held_s;
  r.core_s = r.mpi_core_s + r.lease_core_s;
  const int solution_cores = r.ranks + (r.tiles_offloaded > 0 ? r.lease_cores : 0);
  r.solution_core_s = r.ok ? solution_cores * r.time_to_solution_s : 0.0;
}

nlohmann::ordered_json run_to_json(const OffloadRun& r) {
  nlohmann::ordered_json j;
  j["schema"] = "hpcless.offload.run.v1";
  j["fraction"] = r.fraction;
  j["repetition"] = r.repetition;
  j["ok"] = r.ok;
  j["error"] = r.ok ? json(nullptr) : json(r.error);
  j["ranks"] = r.ranks;
  j["lease"] = r.lease.empty() ? json(nullptr) : json(r.lease);
  j["lease_cores"] = r.lease_cores;
  j["wall_s"] = r.wall_s;
  j["lease_held_s"] = r.lease_held_s;
  j["time_to_solution_s"] = r.ok ? json(r.time_to_solution_s) : json(nullptr);
  j["local_compute_s"] = r.ok ? json(r.local_compute_s) : json(nullptr);
  j["offload_s"] = r.ok ? json(r.offload_s) : json(nullptr);
  j["tiles_offloaded"] = r.tiles_offloaded;
  j["mpi_core_s"] = r.mpi_core_s;
  j["lease_core_s"] = r.lease_core_s;
  j["core_s"] = r.core_s;
  j["solution_core_s"] = r.ok ? json(r.solution_core_s) : json(nullptr);
  j["app"] = r.app.is_null() ? json(nullptr) : r.app;
  return j;
}

std::vector<OffloadRow> summarize_runs(const std::vector<OffloadRun>& runs,
                                       const std::vector<double>& fractions) {
  std::vector<OffloadRow> rows;
  for (double f : fractions) {
    OffloadRow row;
    row.fraction = f;
    std::vector<const OffloadRun*> ok;
    for (const auto& r : runs) {
      if (!same_fraction(r.fraction, f)) continue;
      if (r.ok)
        ok.push_back(&r);
      else
        ++row.failures;
    }
    row.runs = ok.size();
    if (!ok.empty()) {
      row.tiles_offloaded = ok.front()->tiles_offloaded;
      std::vector<double> tts;
      for (const auto* r : ok) tts.push_back(r->time_to_solution_s);
      const Summary s = summarize(tts);
      row.time_to_solution_s = s.p50;
      row.tts_min_s = s.min;
      row.tts_max_s = s.max;
      row.local_compute_s = median_of(ok, &OffloadRun::local_compute_s);
      row.offload_s = median_of(ok, &OffloadRun::offload_s);
      row.wall_s = median_of(ok, &OffloadRun::wall_s);
      row.core_s = median_of(ok, &OffloadRun::core_s);
      row.solution_core_s = median_of(ok, &OffloadRun::solution_core_s);
    }
    rows.push_back(row);
  }
  const auto base = std::find_if(rows.begin(), rows.end(), [](const OffloadRow& r) {
    return same_fraction(r.fraction, 0) && r.runs > 0;
  });
  if (base != rows.end()) {
    const OffloadRow b = *base;
    for (auto& r : rows) {
      if (r.runs == 0) continue;
      if (r.time_to_solution_s > 0) r.speedup = b.time_to_solution_s / r.time_to_solution_s;
      if (b.core_s > 0) r.core_s_ratio = r.core_s / b.core_s;
      if (b.solution_core_s > 0) r.solution_core_s_ratio = r.solution_core_s / b.solution_core_s;
    }
  }
  return rows;
}

std::string offload_summary_csv(const std::vector<OffloadRow>& rows) {
  std::string s = std::string(kOffloadSummaryHeader) + "\n";
  for (const auto& r : rows) {
    const bool have = r.runs > 0;
    const auto v = [&](double x, int d) { return have ? fmt(x, d) : std::string(); };
    s += fmt(r.fraction, 4) + "," + std::to_string(r.runs) + "," + std::to_string(r.failures) +
         "," + (have ? std::to_string(r.tiles_offloaded) : "") + "," + v(r.time_to_solution_s, 6) +
         "," + v(r.tts_min_s, 6) + "," + v(r.tts_max_s, 6) + "," + opt_fmt(r.speedup, 4) + "," +
         v(r.local_compute_s, 6) + "," + v(r.offload_s, 6) + "," + v(r.wall_s, 6) + "," +
         v(r.core_s, 6) + "," + opt_fmt(r.core_s_ratio, 4) + "," + v(r.solution_core_s, 6) + "," +
         opt_fmt(r.solution_core_s_ratio, 4) + "\n";
  }
  return s;
}

std::string format_offload_table(const std::vector<OffloadRow>& rows, const std::string& title) {
  std::string t = "# " + title + "\n";
  t += "# medians over runs; speedup = tts(0)/tts(f); core-s = ranks x wall + lease cores x held;\n"
       "# solution core-s = occupied cores x tts; ratios = value(f)/value(0)\n";
  char line[512];
  std::snprintf(line, sizeof(line), "%-9s %5s %9s %10s %8s %10s %10s %9s %7s %10s %7s\n",
                "# fraction", "runs", "offloaded", "tts_ms", "speedup", "local_ms", "offload_ms",
                "core_s", "ratio", "sol_core_s", "ratio");
  t += line;
  const auto cell = [](const std::optional<double>& v, int d) {
    return v ? fmt(*v, d) : std::string("-");
  };
  for (const auto& r : rows) {
    if (r.runs == 0) {
      std::snprintf(line, sizeof(line), "%-9s %5zu %9s %10s   (all %zu runs failed)\n",
                    fmt(r.fraction, 2).c_str(), r.runs, "-", "-", r.failures);
      t += line;
      continue;
    }
    const std::string failed =
        r.failures > 0 ? "  (" + std::to_string(r.failures) + " failed)" : std::string();
    std::snprintf(line, sizeof(line),
                  "%-9s %5zu %9llu %10.2f %8s %10.2f %10.2f %9.3f %7s %10.3f %7s%s\n",
                  fmt(r.fraction, 2).c_str(), r.runs,
                  static_cast<unsigned long long>(r.tiles_offloaded), r.time_to_solution_s * 1e3,
                  cell(r.speedup, 3).c_str(), r.local_compute_s * 1e3, r.offload_s * 1e3, r.core_s,
                  cell(r.core_s_ratio, 3).c_str(), r.solution_core_s,
                  cell(r.solution_core_s_ratio, 3).c_str(), failed.c_str());
    t += line;
  }
  return t;
}

std::string offload_gnuplot_script(const std::vector<OffloadRow>& rows,
                                   const std::vector<OffloadRun>& runs, const std::string& title) {
  std::string s =
      "# hpcless experiment offload. Generated by hpcless; run `gnuplot offload.gp` in this "
      "folder to redraw.\n"
      "# $rows: fraction tts_median_ms tts_min_ms tts_max_ms core_s solution_core_s\n"
      "# $runs: fraction tts_ms\n\n$rows << EOD\n";
  char b[256];
  size_t n_rows = 0;
  for (const auto& r : rows) {
    if (r.runs == 0) continue;
    std::snprintf(b, sizeof(b), "%.4f %.4f %.4f %.4f %.5f %.5f\n", r.fraction,
                  r.time_to_solution_s * 1e3, r.tts_min_s * 1e3, r.tts_max_s * 1e3, r.core_s,
                  r.solution_core_s);
    s += b;
    ++n_rows;
  }
  s += "EOD\n\n$runs << EOD\n";
  for (const auto& r : runs) {
    if (!r.ok) continue;
    std::snprintf(b, sizeof(b), "%.4f %.4f\n", r.fraction, r.time_to_solution_s * 1e3);
    s += b;
  }
  s += "EOD\n\n";
  std::string t = title;
  std::replace(t.begin(), t.end(), '\'', ' ');
  const std::string draw =
      "set multiplot layout 1,2 title '" + t + "'\n"
      "set xlabel 'offload fraction'\n"
      "set xrange [-0.05:1.05]\n"
      "set grid\n"
      "set key bottom right box opaque\n"
      "set ylabel 'milliseconds'\n"
      "set yrange [0:*]\n"
      "set title 'time to solution (median, min-max; dots: every run)'\n" +
      (n_rows == 0 ? std::string("plot 0 notitle\n")
                   : std::string("plot $rows using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb "
                                 "'#1f77b4' title 'median', \\\n"
                                 "     $runs using 1:2 with points pt 6 lc rgb '#7f7f7f' "
                                 "title 'runs'\n")) +
      "set ylabel 'core-seconds'\n"
      "set title 'core-seconds (median)'\n" +
      (n_rows == 0 ? std::string("plot 0 notitle\n")
                   : std::string("plot $rows using 1:5 with linespoints lw 2 pt 7 lc rgb "
                                 "'#d62728' title 'job: ranks x wall + lease cores x held', \\\n"
                                 "     $rows using 1:6 with linespoints lw 2 pt 5 lc rgb "
                                 "'#2ca02c' title 'solution: cores x time to solution'\n")) +
      "unset multiplot\n";
  s += "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
       "  set terminal pngcairo size 1300,600 enhanced font 'sans,11'\n"
       "} else {\n"
       "  set terminal png size 1300,600\n"
       "}\n"
       "set output 'offload.png'\n" +
       draw +
       "set terminal svg size 1300,600 dynamic enhanced font 'sans,11'\n"
       "set output 'offload.svg'\n" +
       draw + "unset output\n";
  return s;
}

std::vector<double> parse_fractions(const std::string& text) {
  std::vector<double> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    double v = -1;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || !(v >= 0 && v <= 1))
      throw ConfigError("invalid --fractions entry '" + item +
                        "': a comma-separated list of numbers in [0, 1], e.g. 0,0.25,0.5,0.75,1");
    if (std::none_of(out.begin(), out.end(), [&](double x) { return same_fraction(x, v); }))
      out.push_back(v);
  }
  if (out.empty()) throw ConfigError("--fractions lists no fraction");
  return out;
}

std::optional<json> find_result_line(const std::string& output) {
  std::optional<json> found;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() != '{') continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.value("schema", "") == "hpcless.offload.v1") found = std::move(j);
  }
  return found;
}

}  // namespace hpcless::experiments::offload
