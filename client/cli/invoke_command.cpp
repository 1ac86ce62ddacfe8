#include "client/cli/invoke_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cxxopts.hpp>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "client/cli/lease_command.hpp"
#include "client/lib/connection.hpp"
#include "client/lib/lease_session.hpp"
#include "comm/base/error.hpp"

namespace hpcless::cli {

namespace {

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read '" + path + "'");
  std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(data.size());
  // An empty vector's data() may be null, which memcpy must not get even for 0 bytes.
  if (!data.empty()) std::memcpy(out.data(), data.data(), data.size());
  return out;
}

// One line on stderr: count and nearest-rank percentiles of the round trips.
void print_latency(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  auto q = [&](double p) { return us[static_cast<size_t>(p * static_cast<double>(us.size() - 1))]; };
  double sum = 0;
  for (double v : us) sum += v;
  std::fprintf(stderr,
               "%zu invocations: p50 %.2f us, p90 %.2f us, p99 %.2f us, min %.2f us, max %.2f us, "
               "mean %.2f us\n",
               us.size(), q(0.5), q(0.9), q(0.99), us.front(), us.back(),
               sum / static_cast<double>(us.size()));
}

// One line per rank: "rank R node N thread T: ok <output>" or "...: FAILED <why>"; the output's
// line breaks become " | " so that each rank stays on one line.
int print_group(const client::GroupResult& g) {
  for (const auto& r : g.ranks) {
    std::string text = r.message();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    std::string flat;
    for (char ch : text) {
      if (ch == '\n')
        flat += " | ";
      else
        flat += ch;
    }
    std::printf("rank %d node %s thread %u: %s %s\n", r.rank, r.node.c_str(), r.worker_thread,
                r.ok() ? "ok" : "FAILED", flat.c_str());
  }
  std::fflush(stdout);
  size_t failed = 0;
  for (const auto& r : g.ranks) failed += r.ok() ? 0 : 1;
  if (failed != 0)
    std::fprintf(stderr, "hpcless invoke: group %s: %zu of %zu ranks failed\n", g.group.c_str(),
                 failed, g.ranks.size());
  return failed == 0 ? 0 : 1;
}

}  // namespace

int invoke_main(int argc, char** argv) {
  cxxopts::Options opts("hpcless invoke", "Invoke one function on a worker and print its output.");
  add_manager_options(opts);  // for --lease
  opts.add_options()("a,address", "worker HOST:PORT", cxxopts::value<std::string>())(
      "lease", "invoke on this lease's workers (round-robin) instead of --address",
      cxxopts::value<std::string>())(
      "f,function", "function name", cxxopts::value<std::string>())(
      "i,input", "input text", cxxopts::value<std::string>())(
      "input-file", "read the input from a file", cxxopts::value<std::string>())(
      "o,output-file", "write the output to a file instead of stdout",
      cxxopts::value<std::string>())(
      "package-file", "ship this function package to the worker first",
      cxxopts::value<std::string>())(
      "warm", "let the worker block instead of busy-polling (hot timeout 0)")(
      "hot", "busy-poll on both sides (hot timeout -1, the client spins too)")(
      "transport", "with --address: tcp or rdma (with --lease: what the lease grants)",
      cxxopts::value<std::string>()->default_value("tcp"))(
      "repeat", "invoke N times (prints the last output, latency percentiles on stderr)",
      cxxopts::value<uint64_t>()->default_value("1"))(
      "timeout-ms", "deadline for connecting and for the invocation",
      cxxopts::value<int>()->default_value("30000"))(
      "group", "with --lease: invoke FUNCTION once per leased core, as the ranks of one "
      "communicator, and print one line per rank",
      cxxopts::value<std::string>())(
      "channel", "with --group: direct, direct-rdma (workers started with --rdma-address), "
      "redis, s3 or auto",
      cxxopts::value<std::string>()->default_value("direct"))(
      "message-bytes", "with --group --channel auto: expected bytes per collective",
      cxxopts::value<uint64_t>()->default_value("0"))(
      "rendezvous", "with --group: http://HOST:PORT or tcp://HOST:PORT (default: the manager)",
      cxxopts::value<std::string>())("h,help", "show this help");
  try {
    auto args = opts.parse(argc, argv);
    if (args.count("help")) {
      std::printf("%s\n", opts.help().c_str());
      return 0;
    }
    if (args.count("group") && !args.count("lease"))
      throw ConfigError("--group needs --lease ID (a group runs on every core of a lease)");
    if (!args.count("address") && !args.count("lease"))
      throw ConfigError("--address HOST:PORT or --lease ID is required");
    if (args.count("address") && args.count("lease"))
      throw ConfigError("give --address or --lease, not both");
    const bool group = args.count("group") > 0;
    if (group && args.count("function"))
      throw ConfigError("give the function with --group FUNCTION, not --function as well");
    if (group && (args.count("repeat") && args["repeat"].as<uint64_t>() != 1))
      throw ConfigError("--repeat does not apply to --group");
    if (group && args.count("package-file"))
      throw ConfigError("--package-file does not apply to --group (serve the package from the "
                        "executors: hpcless-executor --package)");
    if (group && args.count("output-file"))
      throw ConfigError("--output-file does not apply to --group (one line per rank on stdout)");
    if (!group && (args.count("channel") || args.count("message-bytes") ||
                   args.count("rendezvous")))
      throw ConfigError("--channel, --message-bytes and --rendezvous need --group");
    if (!group && !args.count("function")) throw ConfigError("--function NAME is required");
    if (args.count("input") && args.count("input-file"))
      throw ConfigError("give either --input or --input-file, not both");
    std::vector<std::byte> input;
    if (args.count("input")) {
      const auto& s = args["input"].as<std::string>();
      input.resize(s.size());
      if (!s.empty()) std::memcpy(input.data(), s.data(), s.size());
    } else if (args.count("input-file")) {
      input = read_file(args["input-file"].as<std::string>());
    }
    const auto timeout = std::chrono::milliseconds(args["timeout-ms"].as<int>());
    client::ConnectOptions co;
    co.client_name = "hpcless-cli";
    co.connect_timeout = timeout;
    if (args.count("hot") && args.count("warm")) throw ConfigError("give --hot or --warm, not both");
    const uint64_t repeat = args["repeat"].as<uint64_t>();
    if (repeat == 0) throw ConfigError("--repeat must be at least 1");
    // A one-shot call has nothing to gain from spinning; --hot is for measuring.
    co.busy_poll = args.count("hot") > 0;
    co.hot_timeout_ms = args.count("hot") ? -1 : args.count("warm") ? 0 : 1000;
    // With --lease: every worker of the lease, round-robin; the lease is not released here.
    std::optional<client::LeaseClient> manager;
    std::optional<client::Lease> lease;
    std::unique_ptr<client::Connection> single;
    if (args.count("lease")) {
      manager.emplace(manager_options(args));
      client::SessionOptions so = client::Lease::attach_defaults();
      so.connect = co;
      so.use_lease_hot_timeout = !args.count("hot") && !args.count("warm");
      so.connect_deadline = timeout;
      so.connect_now = !group;  // a group opens its own connections, one per core
      lease.emplace(client::Lease::attach(*manager, args["lease"].as<std::string>(), so));
    } else {
      co.transport = args["transport"].as<std::string>();
      single = client::Connection::connect(args["address"].as<std::string>(), co);
    }
    const auto deadline = Deadline::after(timeout);
    if (group) {
      client::GroupOptions go;
      go.channel = args["channel"].as<std::string>();
      go.message_bytes = args["message-bytes"].as<uint64_t>();
      if (args.count("rendezvous")) go.rendezvous = args["rendezvous"].as<std::string>();
      return print_group(lease->invoke_group(args["group"].as<std::string>(), input, deadline, go));
    }
    if (args.count("package-file")) {
      const auto package = read_file(args["package-file"].as<std::string>());
      if (lease)
        lease->load_package(package, deadline);
      else
        single->load_package(package, deadline);
    }
    const std::string function = args["function"].as<std::string>();
    (lease ? lease->worker(0) : *single).function_id(function);  // fails early, naming the offer
    client::InvocationResult result;
    std::vector<double> latency_us;
    if (repeat > 1) latency_us.reserve(repeat);
    for (uint64_t i = 0; i < repeat; ++i) {
      // Each repetition has the full timeout; the first one also covers connecting.
      client::Connection& conn = lease ? lease->next_worker() : *single;
      conn.invoke(conn.function_id(function), input, result,
                  i == 0 ? deadline : Deadline::after(timeout));
      if (!result.ok()) {
        std::fprintf(stderr, "hpcless invoke: %s%s\n", result.error_message().c_str(),
                     repeat > 1 ? (" (repetition " + std::to_string(i + 1) + ")").c_str() : "");
        return 1;
      }
      if (repeat > 1)
        latency_us.push_back(static_cast<double>(result.client_recv_ns - result.client_send_ns) /
                             1000.0);
    }
    if (repeat > 1) print_latency(latency_us);
    if (args.count("output-file")) {
      const auto path = args["output-file"].as<std::string>();
      std::ofstream out(path, std::ios::binary);
      out.write(reinterpret_cast<const char*>(result.output.data()),
                static_cast<std::streamsize>(result.output.size()));
      if (!out) throw ConfigError("cannot write '" + path + "'");
    } else {
      if (!result.output.empty())
        std::fwrite(result.output.data(), 1, result.output.size(), stdout);
      if (!result.output.empty() && result.output.back() != std::byte{'\n'} &&
          isatty(fileno(stdout)))
        std::fputc('\n', stdout);
    }
    return 0;
  } catch (const cxxopts::exceptions::exception& e) {
    std::fprintf(stderr, "hpcless invoke: %s (see --help)\n", e.what());
    return 2;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "hpcless invoke: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpcless invoke: %s\n", e.what());
    return 1;
  }
}

}  // namespace hpcless::cli
