#include "client/cli/slurm_command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cxxopts.hpp>
#include <fstream>
#include <thread>

#include "client/cli/cluster_processes.hpp"
#include "comm/auth/lease_token.hpp"
#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/base/json.hpp"

namespace hpcless::cli {

namespace {

constexpr const char* kSlurmUsage =
    "usage: hpcless slurm submit EXPERIMENT [options] [-- EXPERIMENT-OPTIONS...]\n"
    "\n"
    "Submits slurm/hpcless-cluster.sbatch: the manager on the first node, one executor per\n"
    "node, then `hpcless experiment EXPERIMENT --out $HPCLESS_JOB_DIR/EXPERIMENT ...`.\n"
    "EXPERIMENT: invocation-overhead (on a 1-core lease), cold-start, idle-time, comm, offload,\n"
    "or `none` (bring the cluster up, check it with one invocation, tear it down).\n"
    "Prints the job id; with --wait, waits for the job and prints where the results are.\n";

const char* const kExperiments[] = {"invocation-overhead", "cold-start", "idle-time", "comm",
                                    "offload", "none"};

bool file_exists(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0;
}

// The batch script: --script, else $HPCLESS_SLURM_SCRIPT, else the source tree's.
std::string find_script(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* e = std::getenv("HPCLESS_SLURM_SCRIPT"); e != nullptr && *e != '\0') return e;
  const std::string in_tree = std::string(HPCLESS_SOURCE_DIR) + "/slurm/hpcless-cluster.sbatch";
  if (file_exists(in_tree)) return in_tree;
  throw ConfigError("cannot find hpcless-cluster.sbatch: give --script PATH");
}

std::string absolute(const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  char cwd[4096];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) throw_system_error("getcwd");
  return std::string(cwd) + "/" + p;
}

// "Submitted batch job 42" / "42" / "42;cluster" -> "42".
std::string job_id_of(const std::string& out) {
  std::string last;
  size_t pos = 0;
  while (pos < out.size()) {
    const size_t nl = out.find('\n', pos);
    std::string line = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!line.empty()) last = line;
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  const std::string id = last.substr(0, last.find(';'));
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    throw Error("sbatch answered '" + last + "' instead of a job id");
  return id;
}

// The batch script's start-up timings, one line on stderr.
void print_startup(const std::string& path) {
  std::ifstream in(path);
  if (!in) return;
  const auto j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object() || !j.value("submit_ms", nlohmann::json()).is_number()) return;
  try {
    const auto ms = [&](const char* k) { return j.at(k).get<int64_t>(); };
    std::fprintf(stderr,
                 "hpcless slurm: sbatch -> first invocation %lld ms: queue and job start %lld, "
                 "manager %lld, executors registered %lld, first invocation %lld\n",
                 static_cast<long long>(ms("first_invocation_ms") - ms("submit_ms")),
                 static_cast<long long>(ms("job_start_ms") - ms("submit_ms")),
                 static_cast<long long>(ms("manager_ready_ms") - ms("job_start_ms")),
                 static_cast<long long>(ms("executors_registered_ms") - ms("manager_ready_ms")),
                 static_cast<long long>(ms("first_invocation_ms") - ms("executors_registered_ms")));
  } catch (const std::exception&) {
  }
}

int submit(int argc, char** argv) {
  cxxopts::Options opts("hpcless slurm submit", "");
  opts.custom_help("EXPERIMENT [options] [-- EXPERIMENT-OPTIONS...]");
  opts.add_options()("nodes", "nodes (one executor each)", cxxopts::value<int>()->default_value("1"))(
      "cpus-per-node", "cores per node the executors lend (sbatch --cpus-per-task)",
      cxxopts::value<int>())("time", "time limit in minutes (sbatch --time)",
                             cxxopts::value<int>())(
      "partition", "partition (sbatch --partition)", cxxopts::value<std::string>())(
      "results", "results root on a shared filesystem (the job writes RESULTS/slurm-<job>/)",
      cxxopts::value<std::string>()->default_value("results"))(
      "build", "build tree with the binaries (default: the one this hpcless belongs to)",
      cxxopts::value<std::string>())(
      "script", "batch script (default: slurm/hpcless-cluster.sbatch of the source tree)",
      cxxopts::value<std::string>()->default_value(""))(
      "sbatch", "sbatch program", cxxopts::value<std::string>()->default_value("sbatch"))(
      "sbatch-arg", "extra sbatch argument (repeatable)", cxxopts::value<std::vector<std::string>>())(
      "wait", "wait for the job to end; exit with its status")(
      "timeout-s", "deadline of --wait", cxxopts::value<double>()->default_value("3600"))(
      "h,help", "show this help");
  // Everything after "--" goes to the experiment untouched.
  std::vector<std::string> exp_args;
  int own = argc;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--") {
      own = i;
      for (int k = i + 1; k < argc; ++k) exp_args.emplace_back(argv[k]);
      break;
    }
  const auto args = opts.parse(own, argv);
  if (args.count("help")) {
    std::printf("%s\n%s\n", kSlurmUsage, opts.help().c_str());
    return 0;
  }
  const auto& rest = args.unmatched();
  if (rest.size() != 1) throw ConfigError("give one EXPERIMENT (see --help)");
  const std::string experiment = rest[0];
  const int nodes = args["nodes"].as<int>();
  if (nodes < 1 || nodes > 4096) throw ConfigError("--nodes must be 1 .. 4096");

  const std::string build = absolute(args.count("build") ? args["build"].as<std::string>()
                                                          : self_dir() + "/../..");
  const std::string hpcless = build + "/client/cli/hpcless";
  const std::string script = absolute(find_script(args["script"].as<std::string>()));
  const std::string results = absolute(args["results"].as<std::string>());
  const std::string command = experiment_command(hpcless, experiment, exp_args);

  // run_command execs without a PATH search.
  auto program = [](const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const std::string found = find_program(name);
    if (found.empty()) throw ConfigError(name + " not found on PATH: is this a Slurm login node?");
    return found;
  };
  std::vector<std::string> cmd = {program(args["sbatch"].as<std::string>()), "--parsable",
                                  "--nodes=" + std::to_string(nodes), "--ntasks-per-node=1",
                                  "--job-name=hpcless-" + experiment,
                                  "--output=" + results + "/slurm-%j.out"};
  if (args.count("cpus-per-node"))
    cmd.push_back("--cpus-per-task=" + std::to_string(args["cpus-per-node"].as<int>()));
  if (args.count("time")) cmd.push_back("--time=" + std::to_string(args["time"].as<int>()));
  if (args.count("partition")) cmd.push_back("--partition=" + args["partition"].as<std::string>());
  if (args.count("sbatch-arg"))
    for (const auto& a : args["sbatch-arg"].as<std::vector<std::string>>()) cmd.push_back(a);
  cmd.push_back(script);
  if (experiment != "none") cmd.push_back(command);

  // The job inherits this environment (sbatch --export=ALL, the default).
  const int64_t submit_ms = auth::unix_now_ms();
  setenv("HPCLESS_SUBMIT_MS", std::to_string(submit_ms).c_str(), 1);
  setenv("HPCLESS_BUILD", build.c_str(), 1);
  setenv("HPCLESS_RESULTS", results.c_str(), 1);
  if (::mkdir(results.c_str(), 0755) != 0 && errno != EEXIST)
    throw ConfigError("cannot create " + results + ": " + std::strerror(errno));
  const CommandResult r = run_command(cmd, Deadline::after(std::chrono::seconds(60)));
  if (r.exit_code != 0)
    throw Error("sbatch failed (" + (r.exit_code < 0 ? std::string("no answer within 60 s")
                                                       : "exit " + std::to_string(r.exit_code)) +
                "): " + r.output.substr(0, 2000));
  const std::string job = job_id_of(r.output);
  const std::string job_dir = results + "/slurm-" + job;
  std::printf("%s\n", job.c_str());
  std::fprintf(stderr, "hpcless slurm: submitted job %s; results in %s, log %s/slurm-%s.out\n",
               job.c_str(), job_dir.c_str(), results.c_str(), job.c_str());
  if (!args.count("wait")) return 0;

  // Waits until squeue no longer lists the job, then reads the command's status.
  const auto deadline = Deadline::after(
      std::chrono::milliseconds(static_cast<int64_t>(args["timeout-s"].as<double>() * 1000)));
  while (true) {
    const CommandResult q =
        run_command({program("squeue"), "-h", "-j", job, "-o", "%T"},
                    Deadline::after(std::chrono::seconds(30)));
    if (q.exit_code == 0 && q.output.find_first_not_of(" \n") == std::string::npos) break;
    if (q.exit_code != 0 && q.output.find("Invalid job id") != std::string::npos) break;
    if (deadline.expired())
      throw TimeoutError("job " + job + " still in the queue after --timeout-s; it keeps running");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  print_startup(job_dir + "/startup.json");
  FILE* f = std::fopen((job_dir + "/command.json").c_str(), "r");
  if (f == nullptr) {
    std::fprintf(stderr, "hpcless slurm: job %s ended without running its command; see %s/slurm-%s.out\n",
                 job.c_str(), results.c_str(), job.c_str());
    return 1;
  }
  int status = 1;
  if (std::fscanf(f, "{\"status\": %d", &status) != 1) status = 1;
  std::fclose(f);
  std::fprintf(stderr, "hpcless slurm: job %s ended, command status %d; results in %s\n",
               job.c_str(), status, job_dir.c_str());
  return status == 0 ? 0 : 1;
}

}  // namespace

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string experiment_command(const std::string& hpcless, const std::string& experiment,
                               const std::vector<std::string>& args) {
  bool known = false;
  for (const char* e : kExperiments) known = known || experiment == e;
  if (!known) throw ConfigError("unknown experiment '" + experiment + "' (see --help)");
  std::string extra;
  for (const auto& a : args) extra += " " + shell_quote(a);
  const std::string h = shell_quote(hpcless);
  const std::string out = "--out \"$HPCLESS_JOB_DIR/" + experiment + "\"";
  if (experiment == "none") return "true";
  if (experiment == "invocation-overhead")
    return "lease=$(" + h + " lease acquire --cores 1 --seconds 3600 --quiet) || exit 1; " + h +
           " experiment invocation-overhead --lease \"$lease\" " + out + extra + "; rc=$?; " + h +
           " lease release \"$lease\" > /dev/null; exit $rc";
  return h + " experiment " + experiment + " " + out + extra;
}

int slurm_main(int argc, char** argv) {
  try {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
      std::fputs(kSlurmUsage, argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
    if (std::string(argv[1]) != "submit") {
      std::fprintf(stderr, "hpcless slurm: unknown command '%s'\n%s", argv[1], kSlurmUsage);
      return 2;
    }
    return submit(argc - 1, argv + 1);
  } catch (const cxxopts::exceptions::exception& e) {
    std::fprintf(stderr, "hpcless slurm: %s (see --help)\n", e.what());
    return 2;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "hpcless slurm: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpcless slurm: %s\n", e.what());
    return 1;
  }
}

}  // namespace hpcless::cli
