#include "experiments/common/plot.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/base/fd.hpp"

namespace hpcless::experiments {

namespace fs = std::filesystem;

namespace {

constexpr const char* kScriptName = "latency.gp";
constexpr const char* kPngName = "latency.png";
constexpr const char* kSvgName = "latency.svg";
constexpr const char* kLogName = "latency.gnuplot.log";

struct SeriesStyle {
  const char* system;
  const char* mode;
  const char* colour;
  int point_type;
};

// Fixed order and colours so that plots of different runs compare at a glance.
// clang-format off
constexpr SeriesStyle kSeries[] = {
    {"hpcless", "hot", "#d62728", 7},
    {"raw-tcp", "hot", "#1f77b4", 5},
    {"grpc", "hot", "#9467bd", 13},
    {"hpcless", "warm", "#ff7f0e", 9},
    {"raw-tcp", "warm", "#2ca02c", 11},
    {"grpc", "warm", "#8c564b", 15},
};
// clang-format on

// Names of the systems in the plot's title.
constexpr std::pair<const char*, const char*> kSystemTitles[] = {
    {"hpcless", "hpcless"}, {"raw-tcp", "raw TCP"}, {"grpc", "gRPC"}};

std::string size_label(size_t bytes) {
  const char* units[] = {"", "K", "M", "G"};
  int u = 0;
  while (u < 3 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++u;
  }
  return std::to_string(bytes) + units[u];
}

// Absolute path of `name` on PATH, or empty. Resolved before fork() so that the child only
// calls async-signal-safe functions.
std::string find_on_path(const char* name) {
  const char* path = std::getenv("PATH");
  const std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t colon = dirs.find(':', pos);
    if (colon == std::string_view::npos) colon = dirs.size();
    const std::string_view dir = dirs.substr(pos, colon - pos);
    // Built by appending: GCC 12 warns falsely (-Wrestrict) on some string concatenations.
    std::string candidate(dir.empty() ? std::string_view(".") : dir);
    candidate += '/';
    candidate += name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    pos = colon + 1;
  }
  return {};
}

// Runs `program script` in `dir` with stdout/stderr to `log`. Returns an empty string on exit
// status 0, else a one-line reason.
std::string run_in_dir(const std::string& program, const std::string& script, const fs::path& dir,
                       const fs::path& log, std::chrono::milliseconds timeout) {
  // A close-on-exec pipe tells the parent whether exec itself failed (and why).
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return std::string("pipe2: ") + std::strerror(errno);
  UniqueFd err_read(p[0]), err_write(p[1]);
  // Absolute paths: the child opens the log after chdir(dir), where a relative path breaks.
  std::error_code ec;
  const std::string dir_s = fs::absolute(dir, ec).string();
  const std::string log_s = fs::absolute(log, ec).string();
  char* const argv[] = {const_cast<char*>(program.c_str()), const_cast<char*>(script.c_str()),
                        nullptr};
  const pid_t pid = ::fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    int err = 0;
    if (::chdir(dir_s.c_str()) != 0) err = errno;
    if (err == 0) {
      const int fd = ::open(log_s.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int null_fd = ::open("/dev/null", O_RDONLY);
      if (fd < 0 || null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0)
        err = errno;
    }
    if (err == 0) {
      ::execv(program.c_str(), argv);
      err = errno;
    } else {
      err = -err;  // negative: set-up failed before exec
    }
    (void)!::write(err_write.get(), &err, sizeof(err));
    ::_exit(127);
  }
  err_write.reset();
  int exec_err = 0;
  ssize_t n;
  do {
    n = ::read(err_read.get(), &exec_err, sizeof(exec_err));
  } while (n < 0 && errno == EINTR);
  const bool exec_failed = n == static_cast<ssize_t>(sizeof(exec_err));

  const Deadline deadline = Deadline::after(timeout);
  int status = 0;
  while (true) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return std::string("waitpid: ") + std::strerror(errno);
    if (deadline.expired()) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return program + " did not finish within " + std::to_string(timeout.count()) +
             " ms and was killed";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (exec_failed && exec_err < 0)
    return "cannot prepare " + program + " in " + dir_s + ": " + std::strerror(-exec_err);
  if (exec_failed) return "cannot run " + program + ": " + std::strerror(exec_err);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFSIGNALED(status))
    return program + " was killed by signal " + std::to_string(WTERMSIG(status));
  return program + " exited with status " + std::to_string(WEXITSTATUS(status)) + " (see " +
         log.string() + ")";
}

// "hpcless vs raw TCP vs gRPC", for the systems that have a series.
std::string title_systems(const std::vector<std::pair<const SeriesStyle*, std::string>>& blocks) {
  std::string t;
  for (const auto& entry : kSystemTitles) {
    const bool present = std::any_of(blocks.begin(), blocks.end(), [&](const auto& b) {
      return std::string_view(b.first->system) == entry.first;
    });
    if (!present) continue;
    if (!t.empty()) t += " vs ";
    t += entry.second;
  }
  return t;
}

}  // namespace

std::string latency_gnuplot_script(std::span<const SummaryRow> rows) {
  std::string s;
  s += "# Invocation overhead: round-trip latency against payload size.\n"
       "# Generated by hpcless; run `gnuplot " +
       std::string(kScriptName) +
       "` in this folder to redraw.\n"
       "# Columns of each data block: payload_bytes p50_us p99_us\n\n";

  std::vector<size_t> sizes;
  std::vector<std::pair<const SeriesStyle*, std::string>> blocks;  // style, datablock name
  for (const auto& style : kSeries) {
    std::vector<const SummaryRow*> pts;
    for (const auto& r : rows)
      // Zero-byte payloads cannot sit on a log axis; they stay in summary.csv.
      if (r.system == style.system && r.mode == style.mode && r.stats.count > 0 &&
          r.payload_bytes > 0)
        pts.push_back(&r);
    if (pts.empty()) continue;
    std::sort(pts.begin(), pts.end(),
              [](auto* a, auto* b) { return a->payload_bytes < b->payload_bytes; });
    std::string name = std::string("$") + style.system + "_" + style.mode;
    std::replace(name.begin(), name.end(), '-', '_');
    s += name + " << EOD\n";
    for (const auto* r : pts) {
      char line[128];
      std::snprintf(line, sizeof(line), "%zu %.3f %.3f\n", r->payload_bytes, r->stats.p50,
                    r->stats.p99);
      s += line;
      sizes.push_back(r->payload_bytes);
    }
    s += "EOD\n\n";
    blocks.emplace_back(&style, name);
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());

  s += "set logscale xy\n"
       "set xlabel 'payload (bytes)'\n"
       "set ylabel 'round-trip latency (us)'\n"
       "set title 'Invocation overhead over TCP: " +
       title_systems(blocks) +
       " (p50 solid, p99 dashed)'\n"
       "set grid xtics ytics mytics\n"
       "set format y '%g'\n";
  // One key column per mode (hot, then warm), so that the key stays short and clear of the data.
  size_t per_mode = 0;
  for (const char* mode : {"hot", "warm"}) {
    const auto n = std::count_if(blocks.begin(), blocks.end(), [&](const auto& b) {
      return std::string_view(b.first->mode) == mode;
    });
    per_mode = std::max(per_mode, 2 * static_cast<size_t>(n));  // p50 and p99 each
  }
  s +=
      "set key top left box opaque maxrows " + std::to_string(std::max<size_t>(per_mode, 1)) + "\n";
  if (!sizes.empty()) {
    // Payload sizes as tick labels (1, 4, 16, ..., 1M).
    s += "set xtics (";
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (i > 0) s += ", ";
      s += '\'';  // appended piecewise: GCC 12 -Wrestrict false alarm on "'" + string
      s += size_label(sizes[i]);
      s += "' ";
      s += std::to_string(sizes[i]);
    }
    s += ")\n";
    // A little margin around the sizes measured; autoscale would pad a log axis by a decade.
    const size_t lo = sizes.front();
    char range[96];
    std::snprintf(range, sizeof(range), "set xrange [%g:%g]\n", static_cast<double>(lo) / 1.5,
                  static_cast<double>(sizes.back()) * 1.5);
    s += range;
  }
  s += "\n";

  std::string plot = "plot ";
  bool first = true;
  for (const auto& [style, name] : blocks) {
    for (int q = 0; q < 2; ++q) {
      char item[512];
      std::snprintf(item, sizeof(item),
                    "%s%s using 1:%d with linespoints lc rgb '%s' lw 2 dt %d pt %d ps 0.8 "
                    "title '%s %s p%s'",
                    first ? "" : ", \\\n     ", name.c_str(), q == 0 ? 2 : 3, style->colour,
                    q == 0 ? 1 : 2, style->point_type, style->system, style->mode,
                    q == 0 ? "50" : "99");
      plot += item;
      first = false;
    }
  }
  plot += "\n";

  s += "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
       "  set terminal pngcairo size 1100,750 enhanced font 'sans,11'\n"
       "} else {\n"
       "  set terminal png size 1100,750\n"
       "}\n"
       "set output '" +
       std::string(kPngName) + "'\n" + plot +
       "set terminal svg size 1100,750 dynamic enhanced font 'sans,11'\n"
       "set output '" +
       kSvgName + "'\n" +
       "replot\n"
       "unset output\n";
  return s;
}

PlotResult plot_latency(const fs::path& dir, std::span<const SummaryRow> rows,
                        std::chrono::milliseconds timeout) {
  PlotResult res;
  res.script = dir / kScriptName;
  res.png = dir / kPngName;
  res.svg = dir / kSvgName;
  const bool any = std::any_of(rows.begin(), rows.end(), [](const SummaryRow& r) {
    return r.stats.count > 0 && r.payload_bytes > 0;
  });
  {
    std::ofstream out(res.script, std::ios::trunc);
    if (!out) throw Error("cannot create '" + res.script.string() + "': " + std::strerror(errno));
    out << latency_gnuplot_script(rows);
    if (!out.flush()) throw Error("cannot write '" + res.script.string() + "'");
  }
  if (!any) {
    res.message = "no successful samples to plot";
    return res;
  }
  const std::string gnuplot = find_on_path("gnuplot");
  if (gnuplot.empty()) {
    res.message =
        "gnuplot not found on PATH (install the Debian package gnuplot-nox); the script "
        "is kept at " +
        res.script.string();
    return res;
  }
  const std::string why = run_in_dir(gnuplot, kScriptName, dir, dir / kLogName, timeout);
  if (!why.empty()) {
    res.message = why + "; the script is kept at " + res.script.string();
    return res;
  }
  std::error_code ec;
  if (!fs::exists(res.png, ec)) {
    res.message = "gnuplot ran but wrote no " + std::string(kPngName) + " (see " +
                  (dir / kLogName).string() + ")";
    return res;
  }
  res.ok = true;
  return res;
}

PlotResult run_gnuplot_script(const fs::path& dir, const std::string& name,
                              const std::string& script, std::chrono::milliseconds timeout) {
  PlotResult res;
  res.script = dir / (name + ".gp");
  res.png = dir / (name + ".png");
  res.svg = dir / (name + ".svg");
  {
    std::ofstream out(res.script, std::ios::trunc);
    if (!out) throw Error("cannot create '" + res.script.string() + "': " + std::strerror(errno));
    out << script;
    if (!out.flush()) throw Error("cannot write '" + res.script.string() + "'");
  }
  const std::string gnuplot = find_on_path("gnuplot");
  if (gnuplot.empty()) {
    res.message = "gnuplot not found on PATH (install the Debian package gnuplot-nox); the script "
                  "is kept at " + res.script.string();
    return res;
  }
  const fs::path log = dir / (name + ".gnuplot.log");
  const std::string why = run_in_dir(gnuplot, res.script.filename().string(), dir, log, timeout);
  if (!why.empty()) {
    res.message = why + "; the script is kept at " + res.script.string();
    return res;
  }
  std::error_code ec;
  if (!fs::exists(res.png, ec)) {
    res.message = "gnuplot ran but wrote no " + res.png.filename().string() + " (see " +
                  log.string() + ")";
    return res;
  }
  res.ok = true;
  return res;
}

}  // namespace hpcless::experiments
