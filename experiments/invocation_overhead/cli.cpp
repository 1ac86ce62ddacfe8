#include "experiments/invocation_overhead/cli.hpp"

#include <charconv>
#include <cstdio>
#include <cxxopts.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/lib/lease_client.hpp"
#include "comm/base/error.hpp"
#include "experiments/common/cli_main.hpp"
#include "experiments/invocation_overhead/invocation_overhead.hpp"

namespace hpcless::experiments {

namespace {

constexpr const char* kProgram = "hpcless experiment invocation-overhead";

// "64", "4K", "1M" (binary units) -> bytes.
size_t parse_size(std::string_view text, std::string_view option) {
  std::string_view digits = text;
  size_t unit = 1;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'k':
      case 'K':
        unit = size_t{1} << 10;
        break;
      case 'm':
      case 'M':
        unit = size_t{1} << 20;
        break;
      case 'g':
      case 'G':
        unit = size_t{1} << 30;
        break;
      default:
        break;
    }
    if (unit != 1) digits.remove_suffix(1);
  }
  size_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() ||
      v > kMaxExperimentPayload / unit)
    throw ConfigError("invalid " + std::string(option) + " value '" + std::string(text) +
                      "': expected a byte count up to 1G such as 64, 4K or 1M");
  return v * unit;
}

std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> items;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    items.push_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return items;
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) {
    if (!s.empty()) s += ',';
    s += i;
  }
  return s;
}

template <class T>
T non_negative(const cxxopts::ParseResult& args, const char* name) {
  const auto v = args[name].as<long long>();
  if (v < 0) throw ConfigError(std::string("--") + name + " must not be negative");
  return static_cast<T>(v);
}

InvocationOverheadConfig parse(const cxxopts::ParseResult& args) {
  if (!args.unmatched().empty())
    throw ConfigError("unexpected argument '" + args.unmatched().front() + "'");
  InvocationOverheadConfig c;
  if (!args.count("out")) throw ConfigError("--out DIR is required");
  // --address is checked by normalized(): only the hpcless system needs it.
  if (args.count("address")) c.address = args["address"].as<std::string>();
  c.transport = args["transport"].as<std::string>();
  c.warm_client_spins = args.count("warm-client-spins") > 0;
  if (c.transport != "tcp" && c.transport != "rdma")
    throw ConfigError("--transport must be tcp or rdma (got '" + c.transport + "')");
  if (args.count("lease")) {
    // A managed executor: the lease's first worker, with its token (manager from --manager or
    // $HPCLESS_MANAGER, API token from $HPCLESS_API_TOKEN).
    if (args.count("address")) throw ConfigError("give --address or --lease, not both");
    std::optional<std::string> url;
    if (args.count("manager")) url = args["manager"].as<std::string>();
    const client::LeaseClient manager(client::ManagerOptions::resolve(url, std::nullopt));
    const auto lease = manager.get(args["lease"].as<std::string>());
    if (!lease.active() || lease.allocations.empty())
      throw ConfigError("lease " + lease.id + " is " + lease.state + "; acquire a new one");
    c.address = lease.allocations.front().address;
    c.token = lease.allocations.front().token;
    if (!args.count("transport")) c.transport = lease.transport;  // what the lease grants
    c.lease = lease.id;
  }
  if (args.count("systems")) {
    for (auto item : split_list(args["systems"].as<std::string>()))
      c.systems.emplace_back(item);  // normalized() rejects unknown (and empty) names
  }
  c.out_dir = args["out"].as<std::string>();
  c.function = args["function"].as<std::string>();

  const bool sweep = args.count("min-size") || args.count("max-size") || args.count("factor");
  if (args.count("sizes")) {
    if (sweep) throw ConfigError("give either --sizes or --min-size/--max-size/--factor");
    for (auto item : split_list(args["sizes"].as<std::string>()))
      c.sizes.push_back(parse_size(item, "--sizes"));
  } else {
    const size_t factor = non_negative<size_t>(args, "factor");
    c.sizes = size_sweep(parse_size(args["min-size"].as<std::string>(), "--min-size"),
                         parse_size(args["max-size"].as<std::string>(), "--max-size"), factor);
  }

  c.modes.clear();
  for (auto item : split_list(args["modes"].as<std::string>())) {
    if (item == "hot")
      c.modes.push_back(PollMode::kHot);
    else if (item == "warm")
      c.modes.push_back(PollMode::kWarm);
    else
      throw ConfigError("invalid --modes entry '" + std::string(item) +
                        "': use hot, warm or hot,warm");
  }
  c.repetitions = non_negative<size_t>(args, "repetitions");
  c.warmup = non_negative<size_t>(args, "warmup");
  c.block = non_negative<size_t>(args, "block");
  c.warm_hot_timeout_ms = non_negative<int32_t>(args, "warm-hot-timeout-ms");
  c.client_core = args["client-core"].as<int>();
  c.server_core = args["server-core"].as<int>();
  const auto timeout = args["timeout-ms"].as<long long>();
  if (timeout < 1 || timeout > 3'600'000) throw ConfigError("--timeout-ms must be 1 .. 3600000");
  c.timeout_ms = static_cast<int>(timeout);
  return normalized(std::move(c));
}

}  // namespace

int invocation_overhead_main(int argc, char** argv) {
  cxxopts::Options opts(kProgram,
                        "hpcless hot/warm invocation latency against a raw TCP ping-pong and a "
                        "gRPC unary call of the same payload on the same cores, in one run.\n"
                        "Needs a running executor, "
                        "e.g. hpcless-executor --standalone --listen 127.0.0.1:7000 --package "
                        "PKG --workers 1 --cores 1");
  // One statement per option keeps the list readable (and clang-format stable).
  auto add = opts.add_options();
  add("a,address", "executor HOST:PORT (required unless --systems leaves out hpcless)",
      cxxopts::value<std::string>());
  add("lease", "instead of --address: the first worker of this lease (a managed executor)",
      cxxopts::value<std::string>());
  add("manager", "manager URL for --lease (default: $HPCLESS_MANAGER)",
      cxxopts::value<std::string>());
  add("o,out", "results folder to create (required; must not hold a run)",
      cxxopts::value<std::string>());
  add("warm-client-spins", "in warm mode only the worker blocks; the client busy-polls "
      "(rFaaS's warm benchmark; default: both block)");
  add("transport", "what hpcless invocations travel over: tcp, or rdma (the executor runs with "
      "--rdma-address; the baselines stay TCP: compare RDMA with ib_write_lat)",
      cxxopts::value<std::string>()->default_value("tcp"));
  add("f,function", "function to invoke (validated for echo and noop)",
      cxxopts::value<std::string>()->default_value("echo"));
  add("sizes", "payload sizes, e.g. 1,64,1K,1M (default: 1 B to 1 MiB by powers of 4)",
      cxxopts::value<std::string>());
  add("min-size", "smallest payload of a geometric sweep",
      cxxopts::value<std::string>()->default_value("1"));
  add("max-size", "largest payload of a geometric sweep",
      cxxopts::value<std::string>()->default_value("1M"));
  add("factor", "step of a geometric sweep", cxxopts::value<long long>()->default_value("4"));
  add("modes", "hot, warm or hot,warm", cxxopts::value<std::string>()->default_value("hot,warm"));
  add("systems",
      "systems to compare, in block order: hpcless, raw-tcp, grpc (default: all compiled in: " +
          join(available_systems()) + ")",
      cxxopts::value<std::string>());
  add("r,repetitions", "timed invocations per mode, size and system",
      cxxopts::value<long long>()->default_value("1000"));
  add("warmup", "warm-up invocations in the first block of a series (later blocks: up to 10)",
      cxxopts::value<long long>()->default_value("100"));
  add("block", "timed invocations per connection block (systems alternate by block)",
      cxxopts::value<long long>()->default_value("100"));
  add("warm-hot-timeout-ms", "worker hot timeout in warm mode (0: always block)",
      cxxopts::value<long long>()->default_value("0"));
  add("client-core", "core for the client thread (-1: no pinning)",
      cxxopts::value<int>()->default_value("0"));
  add("server-core",
      "core for the raw TCP and gRPC servers' threads; use the worker's core (-1: no pinning)",
      cxxopts::value<int>()->default_value("1"));
  add("timeout-ms", "deadline of each connect and invocation",
      cxxopts::value<long long>()->default_value("10000"));
  add("h,help", "show this help");

  InvocationOverheadConfig config;
  try {
    const auto args = opts.parse(argc, argv);
    if (args.count("help")) {
      std::printf("%s\n", opts.help().c_str());
      return 0;
    }
    config = parse(args);
  } catch (const cxxopts::exceptions::exception& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", kProgram, e.what());
    return 2;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", kProgram, e.what());
    return 2;
  } catch (const std::exception& e) {  // --lease: the manager refused or cannot be reached
    std::fprintf(stderr, "%s: %s\n", kProgram, e.what());
    return 1;
  }

  return run_reporting_errors(kProgram, [&] {
    const auto outcome = run_invocation_overhead(config, stderr);
    std::printf("%s", format_overhead_table(outcome.rows).c_str());
    report_results(kProgram, outcome.results_dir, outcome.plot, outcome.failures,
                   "failed invocations (status in invocations.jsonl)");
    return 0;
  });
}

}  // namespace hpcless::experiments
