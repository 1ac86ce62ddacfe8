#include "client/cli/lease_command.hpp"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "comm/auth/lease_token.hpp"
#include "comm/base/error.hpp"

namespace hpcless::cli {

namespace {

using client::LeaseInfo;

constexpr const char* kLeaseUsage =
    "usage: hpcless lease <command> [options]\n"
    "\n"
    "commands:\n"
    "  acquire --cores C --seconds S [--memory-mb M] [--policy first-fit|spread]\n"
    "          [--hot-timeout-ms T] [--wait-s W] [--json | --quiet]  request a lease\n"
    "  renew ID --seconds S [--json]                       move its expiry to now + S\n"
    "  release ID [--json]                                 end it now\n"
    "  show ID [--json]                                    state, allocations, accounting\n"
    "  list [--state active|released|expired|failed] [--json]\n"
    "\n"
    "The manager is --manager http://HOST:PORT or $HPCLESS_MANAGER; the API token comes from\n"
    "--token-file F or $HPCLESS_API_TOKEN. Run 'hpcless lease <command> --help' for details.\n";

// "2026-11-23T14:59:00.000Z" from Unix epoch milliseconds.
std::string utc_ms(int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string cores_text(const std::vector<int>& cores) {
  std::string s;
  for (int c : cores) {
    if (!s.empty()) s += ',';
    s += std::to_string(c);
  }
  return s.empty() ? "-" : s;
}

std::string percent(double part, double whole) {
  if (whole <= 0) return "";
  char b[32];
  std::snprintf(b, sizeof(b), " (%.1f%%)", 100.0 * part / whole);
  return b;
}

void print_lease(const LeaseInfo& l, bool with_usage) {
  const int64_t now = auth::unix_now_ms();
  std::printf("lease %s %s: %d core%s", l.id.c_str(), l.state.c_str(), l.cores,
              l.cores == 1 ? "" : "s");
  if (l.memory_mb > 0) std::printf(", %" PRIu64 " MB", l.memory_mb);
  std::printf(", %s, hot timeout %d ms\n", l.transport.c_str(), l.hot_timeout_ms);
  std::printf("  created  %s\n", utc_ms(l.created_ms).c_str());
  if (l.active()) {
    std::printf("  expires  %s (in %.1f s)\n", utc_ms(l.expires_at_ms).c_str(),
                static_cast<double>(l.expires_at_ms - now) / 1000.0);
  } else {
    std::printf("  expires  %s\n", utc_ms(l.expires_at_ms).c_str());
  }
  if (l.ended_ms) std::printf("  ended    %s\n", utc_ms(*l.ended_ms).c_str());
  if (const auto od = l.raw.find("on_demand"); od != l.raw.end() && od->is_object()) {
    // Granted on an executor the manager started for it through Slurm (docs/slurm.md).
    const auto ms = [&](const char* k) { return od->value(k, int64_t{0}); };
    // The job's own start when it reported one, else squeue's first RUNNING (polled).
    const char* started =
        ms("job_started_ms") >= ms("submitted_ms") && ms("job_started_ms") <= ms("registered_ms")
            ? "job_started_ms"
            : "running_ms";
    std::printf(
        "  on demand  Slurm job %s: queue wait %.3f s, executor start %.3f s, "
        "request to grant %.3f s\n",
        od->value("job_id", std::string("?")).c_str(),
        static_cast<double>(ms(started) - ms("submitted_ms")) / 1000.0,
        static_cast<double>(ms("registered_ms") - ms(started)) / 1000.0,
        static_cast<double>(ms("granted_ms") - ms("requested_ms")) / 1000.0);
  }
  if (l.reason) std::printf("  reason   %s\n", l.reason->c_str());
  for (const auto& w : l.warnings) std::printf("  warning  %s\n", w.c_str());
  if (!l.allocations.empty()) {
    size_t wn = 4, wa = 7;
    for (const auto& a : l.allocations) {
      wn = std::max(wn, a.node.size());
      wa = std::max(wa, a.address.size());
    }
    std::printf("  %-*s  %-*s  %8s  %s\n", static_cast<int>(wn), "node", static_cast<int>(wa),
                "address", "memory", "cores");
    for (const auto& a : l.allocations) {
      const std::string mem = a.memory_mb > 0 ? std::to_string(a.memory_mb) + " MB" : "-";
      std::printf("  %-*s  %-*s  %8s  %s\n", static_cast<int>(wn), a.node.c_str(),
                  static_cast<int>(wa), a.address.c_str(), mem.c_str(),
                  cores_text(a.cores).c_str());
    }
  }
  if (with_usage) {
    const auto& u = l.usage;
    std::printf("  accounting (core-seconds, as last reported by the executors):\n");
    std::printf("    allocated    %12.3f\n", u.allocated_core_s);
    std::printf("    busy         %12.3f%s\n", u.busy_core_s,
                percent(u.busy_core_s, u.allocated_core_s).c_str());
    std::printf("    hot-polling  %12.3f%s\n", u.hot_poll_core_s,
                percent(u.hot_poll_core_s, u.allocated_core_s).c_str());
    std::printf("    idle         %12.3f%s\n", u.idle_core_s,
                percent(u.idle_core_s, u.allocated_core_s).c_str());
    std::printf("  invocations  %" PRIu64 ", errors %" PRIu64 "\n", u.invocations, u.errors);
  }
}

void print_json(const nlohmann::json& j) { std::printf("%s\n", j.dump(2).c_str()); }

// Seconds as given ("60", "1.5"); ConfigError for anything else.
double parse_seconds(const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !(v > 0) || v > 1e9)
    throw ConfigError("invalid --seconds '" + text + "': a positive number of seconds");
  return v;
}

// The positional lease id of renew/release/show.
std::string lease_id_arg(const cxxopts::ParseResult& args, const char* cmd) {
  const auto& rest = args.unmatched();
  if (rest.empty())
    throw ConfigError(std::string("give the lease id: hpcless lease ") + cmd + " ID");
  if (rest.size() > 1) throw ConfigError("unexpected argument '" + rest[1] + "'");
  client::check_lease_id(rest[0]);
  return rest[0];
}

int run(const std::string& cmd, int argc, char** argv) {
  cxxopts::Options opts("hpcless lease " + cmd, "");
  add_manager_options(opts);
  auto add = opts.add_options();
  add("json", "print the manager's answer as JSON (acquire/renew/release/show: with tokens)");
  add("h,help", "show this help");
  if (cmd == "acquire") {
    opts.custom_help("--cores C --seconds S [options]");
    add("c,cores", "cores to lease (over one or more nodes)", cxxopts::value<int>());
    add("s,seconds", "lease duration", cxxopts::value<std::string>());
    add("memory-mb", "memory limit in MB, split over the nodes by cores (0: none)",
        cxxopts::value<uint64_t>()->default_value("0"));
    add("policy", "placement: first-fit or spread (default: the manager's)",
        cxxopts::value<std::string>());
    add("hot-timeout-ms",
        "worker busy-polls until this long idle (-1 always, 0 never; default: the manager's)",
        cxxopts::value<int32_t>());
    add("transport", "tcp", cxxopts::value<std::string>()->default_value("tcp"));
    add("q,quiet", "print only the lease id");
    add("wait-s",
        "longest wait for the grant (a manager with on-demand executors answers once the "
        "executor it started has registered)",
        cxxopts::value<double>()->default_value("300"));
  } else if (cmd == "renew") {
    opts.custom_help("ID --seconds S [options]");
    add("s,seconds", "new duration from now", cxxopts::value<std::string>());
  } else if (cmd == "list") {
    add("state", "only leases in this state: active, released, expired, failed",
        cxxopts::value<std::string>()->default_value(""));
  } else {
    opts.custom_help("ID [options]");
  }
  const auto args = opts.parse(argc, argv);
  if (args.count("help")) {
    std::printf("%s\n", opts.help().c_str());
    return 0;
  }
  const bool json = args.count("json") > 0;
  client::ManagerOptions mopts = manager_options(args);
  if (cmd == "acquire") {
    const double wait_s = args["wait-s"].as<double>();
    if (!(wait_s > 0 && wait_s <= 86400))
      throw ConfigError("--wait-s must be a number of seconds above 0 and at most 86400");
    mopts.acquire_timeout = std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000));
  }
  const client::LeaseClient manager(mopts);

  if (cmd == "acquire") {
    if (!args.unmatched().empty())
      throw ConfigError("unexpected argument '" + args.unmatched().front() + "'");
    if (!args.count("cores")) throw ConfigError("--cores C is required");
    if (!args.count("seconds")) throw ConfigError("--seconds S is required");
    if (json && args.count("quiet")) throw ConfigError("give --json or --quiet, not both");
    client::LeaseRequest r;
    r.cores = args["cores"].as<int>();
    r.seconds = parse_seconds(args["seconds"].as<std::string>());
    r.memory_mb = args["memory-mb"].as<uint64_t>();
    if (args.count("hot-timeout-ms")) r.hot_timeout_ms = args["hot-timeout-ms"].as<int32_t>();
    r.transport = args["transport"].as<std::string>();
    if (args.count("policy")) r.policy = args["policy"].as<std::string>();
    const LeaseInfo l = manager.acquire(r);
    if (json) {
      print_json(l.raw);
    } else if (args.count("quiet")) {
      std::printf("%s\n", l.id.c_str());
    } else {
      print_lease(l, false);
    }
    return 0;
  }
  if (cmd == "list") {
    if (!args.unmatched().empty())
      throw ConfigError("unexpected argument '" + args.unmatched().front() + "'");
    const auto leases = manager.list(args["state"].as<std::string>());
    if (json) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& l : leases) arr.push_back(l.redacted());
      print_json({{"leases", arr}});
      return 0;
    }
    if (leases.empty()) {
      std::printf("no leases\n");
      return 0;
    }
    std::printf("%-10s %-9s %5s  %-24s  %s\n", "id", "state", "cores", "expires", "nodes");
    for (const auto& l : leases) {
      std::string nodes;
      for (const auto& a : l.allocations) nodes += (nodes.empty() ? "" : ",") + a.node;
      std::printf("%-10s %-9s %5d  %-24s  %s\n", l.id.c_str(), l.state.c_str(), l.cores,
                  utc_ms(l.expires_at_ms).c_str(), nodes.empty() ? "-" : nodes.c_str());
    }
    return 0;
  }
  const std::string id = lease_id_arg(args, cmd.c_str());
  LeaseInfo l;
  if (cmd == "renew") {
    if (!args.count("seconds")) throw ConfigError("--seconds S is required");
    l = manager.renew(id, parse_seconds(args["seconds"].as<std::string>()));
  } else if (cmd == "release") {
    l = manager.release(id);
  } else {
    l = manager.get(id);
  }
  if (json)
    print_json(l.raw);
  else
    print_lease(l, cmd == "show");
  return 0;
}

}  // namespace

void add_manager_options(cxxopts::Options& opts) {
  opts.add_options("manager")("manager", "manager URL http://HOST:PORT (default: $HPCLESS_MANAGER)",
                              cxxopts::value<std::string>())(
      "token-file", "file holding the API token (default: $HPCLESS_API_TOKEN)",
      cxxopts::value<std::string>())("manager-timeout-ms",
                                     "connect and answer timeout for manager requests",
                                     cxxopts::value<int>()->default_value("10000"));
}

client::ManagerOptions manager_options(const cxxopts::ParseResult& args) {
  std::optional<std::string> url, token_file;
  if (args.count("manager")) url = args["manager"].as<std::string>();
  if (args.count("token-file")) token_file = args["token-file"].as<std::string>();
  auto o = client::ManagerOptions::resolve(url, token_file);
  const int t = args["manager-timeout-ms"].as<int>();
  if (t < 1) throw ConfigError("--manager-timeout-ms must be positive");
  o.request_timeout = std::chrono::milliseconds(t);
  o.connect_timeout = std::min(o.connect_timeout, o.request_timeout);
  return o;
}

int lease_main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kLeaseUsage, stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::fputs(kLeaseUsage, stdout);
    return 0;
  }
  if (cmd != "acquire" && cmd != "renew" && cmd != "release" && cmd != "show" && cmd != "list") {
    std::fprintf(stderr, "hpcless lease: unknown command '%s'\n\n%s", cmd.c_str(), kLeaseUsage);
    return 2;
  }
  const std::string prog = "hpcless lease " + cmd;
  try {
    return run(cmd, argc - 1, argv + 1);
  } catch (const cxxopts::exceptions::exception& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", prog.c_str(), e.what());
    return 2;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s: %s\n", prog.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", prog.c_str(), e.what());
    return 1;
  }
}

}  // namespace hpcless::cli
