#include "experiments/offload/offload_experiment.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "experiments/cold_start/lease_experiment.hpp"
#include "experiments/comm/comm_bench.hpp"
#include "experiments/comm/launcher.hpp"
#include "experiments/common/results.hpp"
#include "experiments/offload/tile_plan.hpp"

#ifndef HPCLESS_OFFLOAD_MPI
#define HPCLESS_OFFLOAD_MPI ""
#endif

namespace hpcless::experiments::offload {

namespace fs = std::filesystem;
using nlohmann::json;
namespace launch = comm_bench;

namespace {

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

bool is_executable(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

// `name` as given when it has a '/', else the first match on PATH; "" when there is none.
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return is_executable(name) ? name : "";
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (is_executable(candidate)) return candidate;
  }
  return "";
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}


std::string fraction_text(double f) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.10g", f);
  return b;
}

// The application's own complaint (its lines start with its name), else mpirun's last line.
std::string app_message(const fs::path& log) {
  std::istringstream in(read_text(log));
  std::string line, last, mine;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t-") == std::string::npos) continue;
    if (mine.empty() && line.rfind("hpcless-offload-mpi:", 0) == 0) mine = line;
    last = line;
  }
  return !mine.empty() ? mine : last;
}

std::string first_line_of_version(const std::vector<std::string>& mpirun, const fs::path& raw) {
  launch::LaunchOptions lo;
  lo.watchdog = std::chrono::seconds(20);
  lo.stdout_path = (raw / "mpirun-version.txt").string();
  lo.stderr_path = (raw / "mpirun-version.txt.log").string();
  lo.noun = "mpirun";
  try {
    const auto r = launch::run_processes({{mpirun.front(), "--version"}}, lo);
    if (!r.ok) return "unknown (" + r.error + ")";
    const std::string out = read_text(lo.stdout_path);
    return out.substr(0, out.find('\n'));
  } catch (const std::exception& e) {
    return std::string("unknown (") + e.what() + ")";
  }
}

uint32_t planned_offloaded_tiles(const OffloadExperimentConfig& c, double fraction) {
  uint32_t t = 0;
  const auto ranks = static_cast<uint32_t>(c.ranks);
  for (uint32_t r = 0; r < ranks; ++r)
    t += hpcless::offload::plan_rank(c.n, c.tile, ranks, r, fraction).offloaded;
  return t;
}

}  // namespace

json OffloadExperimentConfig::to_json() const {
  json j;
  j["out_dir"] = out_dir.string();
  j["manager"] = manager_url ? json(*manager_url) : json(nullptr);
  j["token_file"] = token_file ? json(*token_file) : json(nullptr);  // the path, not the token
  j["n"] = n;
  j["tile"] = tile;
  j["tiles"] = hpcless::offload::tile_count(n, tile);
  j["ranks"] = ranks;
  j["lease_cores"] = lease_cores;
  j["fractions"] = fractions;
  j["repetitions"] = repetitions;
  j["lease"] = lease.empty() ? json(nullptr) : json(lease);
  j["lease_seconds"] = lease_seconds;
  j["mpirun"] = mpirun;
  j["app"] = app;
  j["seed"] = seed;
  j["depth"] = depth;
  j["verify"] = verify;
  j["run_timeout_ms"] = run_timeout.count();
  return j;
}

std::string offload_app_path() {
  const char* env = std::getenv("HPCLESS_OFFLOAD_MPI");
  if (env != nullptr && *env != '\0') return env;
  return HPCLESS_OFFLOAD_MPI;
}

OffloadExperimentConfig normalized(OffloadExperimentConfig c) {
  if (c.out_dir.empty()) throw ConfigError("--out DIR is required");
  const auto range = [](const char* name, long long v, long long lo, long long hi) {
    if (v < lo || v > hi)
      throw ConfigError(std::string("--") + name + " must be in [" + std::to_string(lo) + ", " +
                        std::to_string(hi) + "], got " + std::to_string(v));
  };
  range("n", c.n, 1, 16384);
  range("tile", c.tile, 1, c.n);
  range("ranks", c.ranks, 1, 256);
  range("lease-cores", c.lease_cores, 1, 4096);
  range("repetitions", c.repetitions, 1, 1000);
  range("depth", c.depth, 1, 64);
  if (c.fractions.empty()) throw ConfigError("--fractions lists no fraction");
  for (double f : c.fractions)
    if (!(f >= 0 && f <= 1)) throw ConfigError("--fractions must be in [0, 1]");
  if (!(c.lease_seconds >= 1 && c.lease_seconds <= 86400))
    throw ConfigError("--lease-seconds must be in [1, 86400]");
  if (c.run_timeout.count() < 1) throw ConfigError("--timeout-ms must be positive");
  if (!c.lease.empty()) client::check_lease_id(c.lease);
  if (c.mpirun.empty()) c.mpirun = launch::kDefaultMpirun;
  const auto words = split_words(c.mpirun);
  if (words.empty()) throw ConfigError("--mpirun is empty");
  if (find_program(words.front()).empty())
    throw ConfigError("'" + words.front() +
                      "' not found: install Open MPI (openmpi-bin, scripts/install-deps.sh) or "
                      "pass --mpirun CMD");
  if (c.app.empty()) c.app = offload_app_path();
  if (c.app.empty())
    throw ConfigError("hpcless-offload-mpi is not built (Open MPI or OpenBLAS were not found at "
                      "configure time); build it or set HPCLESS_OFFLOAD_MPI");
  if (!is_executable(c.app)) throw ConfigError("'" + c.app + "' is not an executable program");
  return c;
}

OffloadOutcome run_offload_experiment(const OffloadExperimentConfig& config, std::FILE* progress) {
  const OffloadExperimentConfig c = normalized(config);
  OffloadOutcome out;
  out.results_dir = c.out_dir;
  std::error_code ec;
  for (const char* f : {"runs.jsonl", "metadata.json", "summary.csv"})
    if (fs::exists(c.out_dir / f, ec))
      throw ConfigError("results folder '" + c.out_dir.string() + "' already holds a run (" + f +
                        "); choose another --out");
  const fs::path raw = c.out_dir / "raw";
  fs::create_directories(raw, ec);
  if (ec) throw ConfigError("cannot create '" + raw.string() + "': " + ec.message());

  // The manager, when some fraction offloads at all.
  const bool offloading = std::any_of(c.fractions.begin(), c.fractions.end(),
                                      [&](double f) { return planned_offloaded_tiles(c, f) > 0; });
  std::optional<client::LeaseClient> manager;
  std::optional<client::ManagerOptions> manager_opts;
  LeaseExperimentStart start{std::chrono::system_clock::now(), json(nullptr), load_average()};
  int shared_lease_cores = 0;
  if (offloading) {
    manager_opts = client::ManagerOptions::resolve(c.manager_url, c.token_file);
    manager.emplace(*manager_opts);
    start = start_lease_experiment(start.started, *manager, progress);
    if (!c.lease.empty()) {
      const client::LeaseInfo info = manager->get(c.lease);
      if (!info.active())
        throw ConfigError("lease " + c.lease + " is " + info.state + ", not active");
      shared_lease_cores = info.cores;
    }
  } else {
    warn_if_loaded(start.load_start, progress);
  }

  const std::vector<std::string> mpirun = split_words(c.mpirun);
  std::ofstream runs_file(c.out_dir / "runs.jsonl", std::ios::app);
  if (!runs_file) throw Error("cannot create '" + (c.out_dir / "runs.jsonl").string() + "'");
  std::string example_command;
  std::vector<std::string> failures;

  const size_t nf = c.fractions.size();
  for (int rep = 0; rep < c.repetitions; ++rep) {
    for (size_t k = 0; k < nf; ++k) {
      // Round r starts with fraction r (mod the count): no fraction always runs first.
      const double f = c.fractions[(k + static_cast<size_t>(rep)) % nf];
      OffloadRun r;
      r.fraction = f;
      r.repetition = rep;
      r.ranks = c.ranks;
      const std::string stem = "f" + fraction_text(f) + "-r" + std::to_string(rep);
      if (progress != nullptr) {
        std::fprintf(progress, "[round %d/%d] fraction %s, %d rank(s)...", rep + 1,
                     c.repetitions, fraction_text(f).c_str(), c.ranks);
        std::fflush(progress);
      }

      const bool uses_lease = planned_offloaded_tiles(c, f) > 0;
      std::string acquired;  // a lease taken for this run only
      uint64_t lease_t0 = 0;
      if (uses_lease && c.lease.empty()) {
        try {
          client::LeaseRequest req;
          req.cores = c.lease_cores;
          req.seconds = c.lease_seconds;
          req.hot_timeout_ms = 0;  // warm: an idle worker must not spin on a core the ranks need
          lease_t0 = now_ns();
          const client::LeaseInfo info = manager->acquire(req);
          acquired = info.id;
          r.lease = info.id;
          r.lease_cores = info.cores;
        } catch (const std::exception& e) {
          r.error = std::string("lease: ") + e.what();
        }
      } else if (uses_lease) {
        r.lease = c.lease;
        r.lease_cores = shared_lease_cores;
      }

      std::vector<std::string> argv = mpirun;
      argv.insert(argv.end(),
                  {"-np", std::to_string(c.ranks), c.app, "--n", std::to_string(c.n), "--tile",
                   std::to_string(c.tile), "--fraction", fraction_text(f), "--seed",
                   std::to_string(c.seed), "--depth", std::to_string(c.depth), "--timeout-ms",
                   std::to_string(c.run_timeout.count())});
      if (uses_lease) {
        argv.insert(argv.end(), {"--lease", r.lease, "--manager", manager->url()});
        if (c.token_file) argv.insert(argv.end(), {"--token-file", *c.token_file});
      }
      if (c.verify) argv.emplace_back("--verify");
      if (example_command.empty() && uses_lease)
        for (const auto& a : argv) example_command += (example_command.empty() ? "" : " ") + a;

      const fs::path out_path = raw / (stem + ".out"), log_path = raw / (stem + ".log");
      if (r.error.empty()) {
        launch::LaunchOptions lo;
        // The application's own deadline is run_timeout; the watchdog leaves it time to report.
        lo.watchdog = c.run_timeout + std::chrono::seconds(30);
        lo.stdout_path = out_path.string();
        lo.stderr_path = log_path.string();
        lo.noun = "mpirun";
        try {
          const launch::LaunchResult res = launch::run_processes({argv}, lo);
          r.wall_s = res.seconds;
          if (!res.ok) r.error = res.error + ": " + app_message(log_path);
        } catch (const std::exception& e) {
          r.error = e.what();
        }
      }
      if (!acquired.empty()) {
        try {
          manager->release(acquired);
        } catch (const std::exception& e) {
          // The lease expires by itself; the run's numbers stand, but say so.
          if (progress != nullptr)
            std::fprintf(progress, " (warning: releasing lease %s failed: %s)", acquired.c_str(),
                         e.what());
        }
        r.lease_held_s = static_cast<double>(now_ns() - lease_t0) / 1e9;
      } else if (!r.lease.empty()) {
        r.lease_held_s = r.wall_s;
      }

      if (r.error.empty()) {
        const auto line = find_result_line(read_text(out_path));
        if (!line) {
          r.error = "no result line in " + out_path.string();
        } else {
          r.app = *line;
          r.time_to_solution_s = line->value("time_to_solution_s", 0.0);
          r.local_compute_s = line->value("local_compute_s", 0.0);
          r.offload_s = line->value("offload_s", 0.0);
          r.tiles_offloaded = line->value("tiles_offloaded", uint64_t{0});
          r.ok = true;
        }
      }
      account(r);
      runs_file << run_to_json(r).dump() << "\n";
      runs_file.flush();
      if (!runs_file) throw Error("cannot write runs.jsonl (disk full?)");
      if (progress != nullptr) {
        if (r.ok)
          std::fprintf(progress, " ok: %.2f ms to solution, %llu tiles offloaded (%.2f s wall)\n",
                       r.time_to_solution_s * 1e3,
                       static_cast<unsigned long long>(r.tiles_offloaded), r.wall_s);
        else
          std::fprintf(progress, " FAILED\n  %s\n", r.error.c_str());
        std::fflush(progress);
      }
      if (!r.ok) failures.push_back(stem + ": " + r.error);
      out.runs.push_back(std::move(r));
    }
  }
  out.failures = failures.size();

  out.rows = summarize_runs(out.runs, c.fractions);
  char title[256];
  std::snprintf(title, sizeof(title),
                "offload: C = A*B, n=%u, tile %u (%u tiles), %d MPI rank(s), lease of %d core(s), "
                "%d repetition(s)",
                c.n, c.tile, hpcless::offload::tile_count(c.n, c.tile), c.ranks,
                c.lease.empty() ? c.lease_cores : shared_lease_cores, c.repetitions);
  out.table = format_offload_table(out.rows, title);
  write_file_atomically(c.out_dir / "summary.csv", offload_summary_csv(out.rows));
  out.plot = run_gnuplot_script(c.out_dir, "offload",
                                offload_gnuplot_script(out.rows, out.runs, title));

  json cfg = c.to_json();
  cfg["manager_state"] = start.manager_state;
  json meta = make_metadata("offload", cfg, start.started, std::chrono::system_clock::now(),
                            ClockOffsetEstimator{});
  meta.erase("invocation_schema");
  meta["clock_offset"] = "not measured (no per-invocation records in this experiment)";
  meta["run_schema"] = "hpcless.offload.run.v1";
  meta["runs"] = out.runs.size();
  meta["failures"] = failures;
  meta["load_average_start"] = start.load_start;
  meta["load_average_end"] = load_average();
  meta["versions"] = {{"mpirun", first_line_of_version(mpirun, raw)}};
  meta["example_command"] = example_command;
  meta["accounting"] = {
      {"mpi_core_s", "MPI ranks x wall time of the run (mpirun start to exit)"},
      {"lease_core_s",
       c.lease.empty() ? "leased cores x time the run's own lease was held (acquire to release)"
                       : "leased cores of --lease x wall time of the run"},
      {"core_s", "mpi_core_s + lease_core_s"},
      {"solution_core_s",
       "(ranks + leased cores when tiles were offloaded) x time to solution"},
      {"time_to_solution",
       "rank 0: barrier after set-up (matrices generated, workers connected, package loaded) "
       "to C gathered on rank 0"}};
  write_file_atomically(c.out_dir / "metadata.json", meta.dump(2) + "\n");
  return out;
}

}  // namespace hpcless::experiments::offload
