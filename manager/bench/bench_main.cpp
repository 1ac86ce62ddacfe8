// hpcless-manager-bench: lease grant latency under N concurrent clients.
//
// Each client thread loops: POST /v1/leases (timed: the grant latency), DELETE the lease (timed:
// the release latency), over its own keep-alive HTTP connection. The bench registers its own
// nodes (and heartbeats them) so that the manager has capacity, then prints one row per client
// count: percentiles in microseconds and grants per second.
//
//   hpcless-manager-bench --address 127.0.0.1:7000 --token T --clients 1,50 --seconds 5
//   hpcless-manager-bench --clients 1,50            # no --address: an in-process manager
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cxxopts.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/base/json.hpp"
#include "comm/base/log.hpp"
#include "manager/config/manager_config.hpp"
#include "manager/manager.hpp"

using namespace hpcless;
using nlohmann::json;

namespace {

struct Options {
  std::string host;
  int port = 0;
  std::string token;
  double seconds = 5;
  double warmup = 0.5;
  int cores = 1;
  int nodes = 3;
  int node_cores = 64;
  bool keep_alive = true;
};

httplib::Headers auth(const Options& o) { return {{"Authorization", "Bearer " + o.token}}; }

std::unique_ptr<httplib::Client> client(const Options& o) {
  auto c = std::make_unique<httplib::Client>(o.host, o.port);
  c->set_keep_alive(o.keep_alive);
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(10, 0);
  c->set_write_timeout(10, 0);
  return c;
}

std::vector<std::string> node_names(const Options& o) {
  std::vector<std::string> out;
  for (int i = 0; i < o.nodes; ++i) out.push_back("bench-n" + std::to_string(i));
  return out;
}

void register_nodes(const Options& o) {
  auto c = client(o);
  for (const auto& name : node_names(o)) {
    std::vector<int> cores(static_cast<size_t>(o.node_cores));
    for (int i = 0; i < o.node_cores; ++i) cores[static_cast<size_t>(i)] = i;
    json body = {{"name", name}, {"address", "127.0.0.1:9"}, {"cores", cores}, {"memory_mb", 0}};
    auto r = c->Post("/v1/nodes", auth(o), body.dump(), "application/json");
    if (!r || r->status != 200)
      throw Error("registering node " + name + " failed: " +
                  (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error())));
  }
}

struct Samples {
  std::vector<double> grant_us, release_us;
  uint64_t refused = 0, errors = 0;
};

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i =
      std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

void run_row(const Options& o, int clients) {
  std::atomic<bool> measuring{false}, stop{false};
  std::vector<Samples> per(static_cast<size_t>(clients));
  std::vector<std::thread> threads;
  const std::string body = json{{"cores", o.cores}, {"seconds", 60}}.dump();
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      auto c = client(o);
      Samples& s = per[static_cast<size_t>(t)];
      while (!stop.load(std::memory_order_relaxed)) {
        const uint64_t t0 = now_ns();
        auto r = c->Post("/v1/leases", auth(o), body, "application/json");
        const uint64_t t1 = now_ns();
        const bool m = measuring.load(std::memory_order_relaxed);
        if (!r) {
          if (m) ++s.errors;
          continue;
        }
        if (r->status == 409) {
          if (m) ++s.refused;
          continue;
        }
        if (r->status != 201) {
          if (m) ++s.errors;
          continue;
        }
        if (m) s.grant_us.push_back(static_cast<double>(t1 - t0) / 1000.0);
        const std::string id = json::parse(r->body).at("id").get<std::string>();
        const uint64_t t2 = now_ns();
        auto d = c->Delete("/v1/leases/" + id, auth(o));
        const uint64_t t3 = now_ns();
        if (m && d && d->status == 200)
          s.release_us.push_back(static_cast<double>(t3 - t2) / 1000.0);
        else if (m)
          ++s.errors;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  measuring = true;
  const uint64_t start = now_ns();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  measuring = false;
  const double elapsed = static_cast<double>(now_ns() - start) / 1e9;
  stop = true;
  for (auto& th : threads) th.join();

  Samples all;
  for (auto& s : per) {
    all.grant_us.insert(all.grant_us.end(), s.grant_us.begin(), s.grant_us.end());
    all.release_us.insert(all.release_us.end(), s.release_us.begin(), s.release_us.end());
    all.refused += s.refused;
    all.errors += s.errors;
  }
  const size_t grants = all.grant_us.size();
  std::printf(
      "%7d %8zu %7llu %6llu %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f\n", clients, grants,
      static_cast<unsigned long long>(all.refused), static_cast<unsigned long long>(all.errors),
      pct(all.grant_us, 50), pct(all.grant_us, 90), pct(all.grant_us, 99), pct(all.grant_us, 100),
      pct(all.release_us, 50), pct(all.release_us, 99), static_cast<double>(grants) / elapsed);
  std::fflush(stdout);
}

std::vector<int> parse_counts(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const int n = std::stoi(item);
    if (n < 1 || n > 1000) throw ConfigError("--clients: counts must be 1..1000");
    out.push_back(n);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  log::set_program("hpcless-manager-bench");
  cxxopts::Options opts("hpcless-manager-bench", "lease grant latency with concurrent clients");
  opts.add_options()("address", "HOST:PORT of a running manager (default: start one in-process)",
                     cxxopts::value<std::string>())(
      "token", "API token (default: $HPCLESS_API_TOKEN)", cxxopts::value<std::string>())(
      "clients", "comma-separated client counts, one row each",
      cxxopts::value<std::string>()->default_value("1,50"))(
      "seconds", "measured seconds per row", cxxopts::value<double>()->default_value("5"))(
      "cores", "cores per lease", cxxopts::value<int>()->default_value("1"))(
      "nodes", "nodes the bench registers", cxxopts::value<int>()->default_value("3"))(
      "node-cores", "cores per registered node", cxxopts::value<int>()->default_value("64"))(
      "db", "state file of the in-process manager",
      cxxopts::value<std::string>()->default_value(""))(
      "no-keep-alive", "a new TCP connection per request")("h,help", "show this help");
  std::unique_ptr<manager::Manager> local;
  std::string tmp_db;
  try {
    auto args = opts.parse(argc, argv);
    if (args.count("help")) {
      std::printf("%s\n", opts.help().c_str());
      return 0;
    }
    Options o;
    o.seconds = args["seconds"].as<double>();
    o.cores = args["cores"].as<int>();
    o.nodes = args["nodes"].as<int>();
    o.node_cores = args["node-cores"].as<int>();
    o.keep_alive = !args.count("no-keep-alive");
    if (args.count("token"))
      o.token = args["token"].as<std::string>();
    else if (const char* t = std::getenv("HPCLESS_API_TOKEN"))
      o.token = t;
    const auto counts = parse_counts(args["clients"].as<std::string>());

    if (args.count("address")) {
      const auto hp = manager::parse_host_port(args["address"].as<std::string>(), "--address");
      o.host = hp.host;
      o.port = hp.port;
      if (o.token.empty()) throw ConfigError("--token or HPCLESS_API_TOKEN is required");
    } else {
      log::set_level(log::Level::kWarn);
      manager::ManagerConfig c;
      c.listen = "127.0.0.1:0";
      tmp_db = args["db"].as<std::string>();
      if (tmp_db.empty())
        tmp_db = "/tmp/hpcless-manager-bench-" + std::to_string(::getpid()) + ".db";
      c.db = tmp_db;
      c.api_token = o.token.empty() ? "bench-api-token" : o.token;
      c.token_secret = "bench-token-secret-0123456789";
      c.dead_after_ms = 600000;
      o.token = c.api_token;
      local = std::make_unique<manager::Manager>();
      o.host = "127.0.0.1";
      o.port = local->start(c);
    }
    register_nodes(o);
    // Keep the bench's nodes alive for the whole run.
    std::atomic<bool> done{false};
    std::thread heart([&] {
      auto c = client(o);
      while (!done) {
        for (const auto& name : node_names(o))
          c->Post("/v1/nodes/" + name + "/heartbeat", auth(o), "{\"leases\": []}",
                  "application/json");
        for (int i = 0; i < 20 && !done; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
    std::printf("manager %s:%d, %d nodes x %d cores, %d core(s) per lease, %s, %.1f s per row\n",
                o.host.c_str(), o.port, o.nodes, o.node_cores, o.cores,
                o.keep_alive ? "keep-alive" : "new connection per request", o.seconds);
    std::printf("%7s %8s %7s %6s %9s %9s %9s %9s %9s %9s %9s\n", "clients", "grants", "refused",
                "errors", "grant_p50", "grant_p90", "grant_p99", "grant_max", "rel_p50", "rel_p99",
                "grants/s");
    std::printf("%7s %8s %7s %6s %9s %9s %9s %9s %9s %9s %9s\n", "", "", "", "", "us", "us", "us",
                "us", "us", "us", "");
    for (int n : counts) run_row(o, n);
    done = true;
    heart.join();
    if (local) local->stop();
    if (!tmp_db.empty() && args["db"].as<std::string>().empty()) {
      for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((tmp_db + suffix).c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpcless-manager-bench: %s\n", e.what());
    return 1;
  }
}
