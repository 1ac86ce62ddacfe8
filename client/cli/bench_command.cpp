// hpcless bench: the benchmark suite (docs/benchmarks.md).
//   hpcless bench list
//   hpcless bench prepare NAME|all --size S --config FILE
//   hpcless bench run NAME|all --size S --repetitions N --address HOST:PORT [--config FILE] ...
#include "client/cli/bench_command.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <cxxopts.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "client/lib/lease_client.hpp"
#include "client/lib/lease_session.hpp"
#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "experiments/bench/bench_runner.hpp"
#include "experiments/common/results.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/storage_session.hpp"

#ifndef HPCLESS_PACKAGES_DIR
#define HPCLESS_PACKAGES_DIR "packages"
#endif

namespace hpcless::cli {

namespace {

using bench::SizeClass;

void bench_usage(FILE* out) {
  std::fprintf(out,
               "usage: hpcless bench <command> [options]\n\n"
               "commands:\n"
               "  list                       the benchmarks, their size classes and needs\n"
               "  prepare NAME|all --size S  generate inputs and upload them to storage\n"
               "  run NAME|all --size S      invoke, validate and write a results folder\n\n"
               "Run 'hpcless bench <command> --help' for the options of a command.\n");
}

int list_main() {
  std::printf("%-22s %-26s %-18s %-8s %s\n", "benchmark", "package", "function", "storage",
              "description");
  for (const auto& s : bench::all_benchmarks().all())
    std::printf("%-22s %-26s %-18s %-8s %s\n", s.name.c_str(), s.package.c_str(),
                s.function.c_str(), s.needs_storage ? "yes" : "no", s.description.c_str());
  std::printf("\nsize classes: test, small, large (docs/benchmarks.md)\n");
  return 0;
}

// --config, else $HPCLESS_STORAGE_CONFIG (exported by `cluster up --storage`), else none.
std::string storage_config_arg(const cxxopts::ParseResult& args) {
  const std::string c = args["config"].as<std::string>();
  if (!c.empty()) return c;
  const char* e = std::getenv("HPCLESS_STORAGE_CONFIG");
  return e != nullptr ? e : "";
}

int prepare_main(int argc, char** argv) {
  cxxopts::Options opts("hpcless bench prepare",
                        "Generate the inputs of benchmarks (deterministically) and upload what "
                        "they read to the configured storage.");
  opts.positional_help("NAME|all ...");
  opts.add_options()("size", "size class: test, small or large",
                     cxxopts::value<std::string>()->default_value("test"))(
      "config",
      "JSON file with a \"storage\" section (e.g. config/local.json; default "
      "$HPCLESS_STORAGE_CONFIG, set by a cluster started with --storage)",
      cxxopts::value<std::string>()->default_value(""))(
      "names", "benchmarks", cxxopts::value<std::vector<std::string>>())("h,help",
                                                                         "show this help");
  opts.parse_positional({"names"});
  auto args = opts.parse(argc, argv);
  if (args.count("help")) {
    std::printf("%s\n", opts.help().c_str());
    return 0;
  }
  const SizeClass size = bench::parse_size_class(args["size"].as<std::string>());
  const auto specs = bench::select_benchmarks(
      bench::all_benchmarks(), args.count("names") ? args["names"].as<std::vector<std::string>>()
                                                   : std::vector<std::string>{});
  auto storage = bench::StorageSession::from_file(storage_config_arg(args));
  int failed = 0;
  for (const auto* s : specs) {
    try {
      const auto t0 = std::chrono::steady_clock::now();
      const auto in = s->prepare(size, storage.access());
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%-22s %-6s prepared in %8.1f ms, input %zu bytes\n", s->name.c_str(),
                  std::string(bench::to_string(size)).c_str(), ms, in.payload.size());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hpcless bench prepare: %s: %s\n", s->name.c_str(), e.what());
      ++failed;
    }
  }
  return failed == 0 ? 0 : 1;
}

// Invocations on a lease's workers (attached, not released afterwards), round-robin. A lease's
// workers are fresh processes, so the first invocation of a benchmark on each is cold.
class LeaseTarget final : public bench::InvocationTarget {
 public:
  LeaseTarget(std::shared_ptr<const client::LeaseClient> manager, std::string id, bool hot,
              std::chrono::milliseconds timeout)
      : manager_(std::move(manager)), id_(std::move(id)), hot_(hot), timeout_(timeout) {}

  void open(std::span<const std::byte> package, const std::string& function) override {
    const auto deadline = Deadline::after(timeout_);
    if (!lease_) {
      client::SessionOptions so = client::Lease::attach_defaults();
      so.connect.client_name = "hpcless-bench";
      so.connect.connect_timeout = timeout_;
      so.connect.hot_timeout_ms = hot_ ? protocol::kHotAlways : protocol::kWarmAlways;
      so.connect.busy_poll = hot_;
      so.use_lease_hot_timeout = false;  // the run's mode decides, and is recorded
      so.connect_deadline = timeout_;
      lease_.emplace(client::Lease::attach(*manager_, id_, so));
    } else {
      lease_->disconnect();
      lease_->connect(deadline);
    }
    if (lease_->workers() == 0) throw ConfigError("lease " + id_ + " has no workers");
    const uint64_t t0 = now_ns();
    lease_->load_package(package, deadline);
    load_us_ = static_cast<double>(now_ns() - t0) / 1000.0;
    ids_.clear();
    for (size_t i = 0; i < lease_->workers(); ++i)
      ids_.push_back(lease_->worker(i).function_id(function));
    cursor_ = 0;
  }
  client::Connection& next(uint32_t& function_id) override {
    const size_t i = cursor_++ % ids_.size();
    function_id = ids_[i];
    return lease_->worker(i);
  }
  double load_us() const override { return load_us_; }
  std::string describe() const override {
    return "lease " + id_ + " (" + std::to_string(lease_ ? lease_->workers() : 0) + " workers)";
  }

 private:
  std::shared_ptr<const client::LeaseClient> manager_;
  std::string id_;
  bool hot_;
  std::chrono::milliseconds timeout_;
  std::optional<client::Lease> lease_;
  std::vector<uint32_t> ids_;
  size_t cursor_ = 0;
  double load_us_ = 0;
};

std::string default_out_dir(SizeClass size) {
  std::string stamp = experiments::utc_timestamp(std::chrono::system_clock::now());
  for (char& c : stamp)
    if (c == ':') c = '-';
  return "results/bench-" + std::string(bench::to_string(size)) + "-" + stamp;
}

int run_main(int argc, char** argv) {
  cxxopts::Options opts("hpcless bench run",
                        "Invoke benchmarks on an executor, validate every output, and write a "
                        "results folder (invocations.jsonl, summary.csv, metadata.json, "
                        "phases.png).");
  opts.positional_help("NAME|all ...");
  auto add = opts.add_options();
  add("size", "size class: test, small or large",
      cxxopts::value<std::string>()->default_value("test"));
  add("r,repetitions", "invocations per benchmark (the first on a fresh worker is cold)",
      cxxopts::value<long long>()->default_value("10"));
  add("a,address", "executor HOST:PORT", cxxopts::value<std::string>()->default_value(""));
  add("lease", "run on the workers of this (active) lease instead of --address",
      cxxopts::value<std::string>());
  add("manager", "manager URL for --lease (default: $HPCLESS_MANAGER)",
      cxxopts::value<std::string>());
  add("token-file", "API token file for --lease (default: $HPCLESS_API_TOKEN)",
      cxxopts::value<std::string>());
  add("config",
      "JSON file with a \"storage\" section (e.g. config/local.json; default "
      "$HPCLESS_STORAGE_CONFIG)",
      cxxopts::value<std::string>()->default_value(""));
  add("o,out", "results folder to create (default: results/bench-SIZE-TIME)",
      cxxopts::value<std::string>());
  add("packages", "folder of the benchmark packages",
      cxxopts::value<std::string>()->default_value(HPCLESS_PACKAGES_DIR));
  add("hot", "busy-poll on both sides (default: warm, blocking waits)");
  add("timeout-ms", "deadline of connecting, loading a package and each invocation",
      cxxopts::value<long long>()->default_value("120000"));
  add("names", "benchmarks", cxxopts::value<std::vector<std::string>>());
  add("h,help", "show this help");
  opts.parse_positional({"names"});
  auto args = opts.parse(argc, argv);
  if (args.count("help")) {
    std::printf("%s\n", opts.help().c_str());
    return 0;
  }
  bench::BenchRunOptions o;
  if (args.count("names")) o.benchmarks = args["names"].as<std::vector<std::string>>();
  o.size = bench::parse_size_class(args["size"].as<std::string>());
  const long long reps = args["repetitions"].as<long long>();
  if (reps < 1 || reps > 10'000'000) throw ConfigError("--repetitions must be 1 .. 10000000");
  o.repetitions = static_cast<size_t>(reps);
  o.address = args["address"].as<std::string>();
  if (args.count("lease") && !o.address.empty())
    throw ConfigError("give --address or --lease, not both");
  o.storage_config = storage_config_arg(args);
  o.out_dir = args.count("out") ? args["out"].as<std::string>() : default_out_dir(o.size);
  o.packages_dir = args["packages"].as<std::string>();
  o.hot = args.count("hot") > 0;
  const long long timeout = args["timeout-ms"].as<long long>();
  if (timeout < 1 || timeout > 86'400'000) throw ConfigError("--timeout-ms must be 1 .. 86400000");
  o.timeout = std::chrono::milliseconds(timeout);
  if (args.count("lease")) {
    const std::string id = args["lease"].as<std::string>();
    client::check_lease_id(id);
    std::optional<std::string> url, token;
    if (args.count("manager")) url = args["manager"].as<std::string>();
    if (args.count("token-file")) token = args["token-file"].as<std::string>();
    auto manager =
        std::make_shared<const client::LeaseClient>(client::ManagerOptions::resolve(url, token));
    const bool hot = o.hot;
    const auto t = o.timeout;
    o.target = [manager, id, hot, t] { return std::make_unique<LeaseTarget>(manager, id, hot, t); };
  }

  const auto result = bench::run_benchmarks(bench::all_benchmarks(), o, stderr);
  std::printf("%-22s %-5s %6s %5s %5s %12s %12s %12s %12s %12s\n", "benchmark", "kind", "valid",
              "fail", "bad", "p50_us", "function_us", "download_us", "compute_us", "upload_us");
  for (const auto& r : result.rows)
    std::printf("%-22s %-5s %6zu %5zu %5zu %12.1f %12.1f %12.1f %12.1f %12.1f\n",
                r.benchmark.c_str(), r.kind.c_str(), r.latency.count, r.failures, r.invalid,
                r.latency.p50, r.function_p50_us, r.phase_p50_us[0], r.phase_p50_us[1],
                r.phase_p50_us[2]);
  std::printf("\n%zu invocations, %zu failed, %zu wrong outputs; results in %s\n", result.records,
              result.failures, result.invalid, o.out_dir.string().c_str());
  return result.failures == 0 && result.invalid == 0 ? 0 : 1;
}

}  // namespace

int bench_main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    bench_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "list") return list_main();
    if (cmd == "prepare") return prepare_main(argc - 1, argv + 1);
    if (cmd == "run") return run_main(argc - 1, argv + 1);
    std::fprintf(stderr, "hpcless bench: unknown command '%s' (list, prepare, run)\n", argv[1]);
    return 2;
  } catch (const cxxopts::exceptions::exception& e) {
    std::fprintf(stderr, "hpcless bench %s: %s (see --help)\n", cmd.c_str(), e.what());
    return 2;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "hpcless bench %s: %s\n", cmd.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpcless bench %s: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}

}  // namespace hpcless::cli
