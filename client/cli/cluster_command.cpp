#include "client/cli/cluster_command.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <cxxopts.hpp>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/cli/cluster_netns.hpp"
#include "client/cli/cluster_processes.hpp"
#include "client/cli/cluster_state.hpp"
#include "client/cli/cluster_storage.hpp"
#include "client/lib/lease_client.hpp"
#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"

namespace hpcless::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kClusterUsage =
    "usage: hpcless cluster <command> [options]\n"
    "\n"
    "commands:\n"
    "  up --nodes N [--cores-per-node K] [--netns] [--storage] [--dir DIR] [--package P]\n"
    "     [--rdma-address ADDR]\n"
    "                 start a manager and N executors on this machine (in the background)\n"
    "  down [--dir DIR]   stop everything `up` started in DIR and remove its namespaces\n"
    "  status [--dir DIR] processes and the nodes the manager sees\n"
    "\n"
    "DIR defaults to $HPCLESS_CLUSTER_DIR, else /tmp/hpcless-cluster-<uid>.\n"
    "Run 'hpcless cluster <command> --help' for details.\n";

fs::path default_dir() {
  if (const char* d = std::getenv("HPCLESS_CLUSTER_DIR"); d != nullptr && *d != 0) return d;
  return "/tmp/hpcless-cluster-" + std::to_string(::getuid());
}

fs::path dir_arg(const cxxopts::ParseResult& args) {
  const fs::path d = args.count("dir") ? fs::path(args["dir"].as<std::string>()) : default_dir();
  std::error_code ec;
  const fs::path abs = fs::absolute(d, ec);
  return ec ? d : abs.lexically_normal();
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  size_t got = 0;
  while (got < bytes) {
    const ssize_t n = ::getrandom(b.data() + got, bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_system_error("getrandom");
    got += static_cast<size_t>(n);
  }
  static const char* const kHex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

std::string read_trimmed(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  if (in) std::getline(in, s);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The last `lines` lines of a log, indented, for error reports.
std::string log_tail(const std::string& path, size_t lines = 15) {
  std::ifstream in(path);
  if (!in) return "    (no log at " + path + ")\n";
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  if (tail.empty()) return "    (" + path + " is empty)\n";
  std::string s;
  for (const auto& l : tail) s += "    " + l + "\n";
  return s;
}

// A binary next to this one, in the build tree, or on PATH.
std::string locate_binary(const cxxopts::ParseResult& args, const char* flag, const char* env,
                          const char* name, const char* build_subdir) {
  if (args.count(flag)) {
    const std::string p = args[flag].as<std::string>();
    if (::access(p.c_str(), X_OK) != 0)
      throw ConfigError(std::string("--") + flag + " '" + p + "' is not an executable file");
    return fs::absolute(p).string();
  }
  if (const char* e = std::getenv(env); e != nullptr && *e != 0) {
    if (::access(e, X_OK) != 0)
      throw ConfigError(std::string(env) + "='" + e + "' is not an executable file");
    return fs::absolute(e).string();
  }
  const std::string self = self_dir();
  // build/client/cli/hpcless -> build/<subdir>/<name>; installed: side by side.
  for (const fs::path& p :
       {fs::path(self) / ".." / ".." / build_subdir / name, fs::path(self) / name}) {
    std::error_code ec;
    if (fs::exists(p, ec) && ::access(p.c_str(), X_OK) == 0)
      return fs::weakly_canonical(p, ec).string();
  }
  const std::string on_path = find_program(name);
  if (!on_path.empty()) return on_path;
  throw ConfigError(std::string("cannot find ") + name + ": build it, or give --" + flag +
                    " PATH (or set " + env + ")");
}

std::string locate_package(const cxxopts::ParseResult& args) {
  if (args.count("package")) {
    const std::string p = args["package"].as<std::string>();
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) throw ConfigError("--package '" + p + "' is not a file");
    return fs::absolute(p).string();
  }
  const fs::path p =
      fs::path(self_dir()) / ".." / ".." / "packages" / "libhpcless_core_functions.so";
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return fs::weakly_canonical(p, ec).string();
  throw ConfigError(
      "no function package: give --package PATH (e.g. "
      "build/packages/libhpcless_core_functions.so)");
}

// Cores this process may use, in order.
std::vector<int> usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cores;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cores.push_back(c);
  if (cores.empty()) cores.push_back(0);
  return cores;
}

// Node k (0-based) gets K consecutive usable cores, wrapping around: nodes share the machine.
std::string cores_of_node(const std::vector<int>& usable, int node, int per_node) {
  std::string s;
  for (int j = 0; j < per_node; ++j) {
    if (!s.empty()) s += ',';
    s += std::to_string(usable[static_cast<size_t>(node * per_node + j) % usable.size()]);
  }
  return s;
}

std::string node_name(int k) { return "n" + std::to_string(k); }

std::string strip_scheme(std::string a) {
  if (a.rfind("http://", 0) == 0) a = a.substr(7);
  while (!a.empty() && a.back() == '/') a.pop_back();
  return a;
}

// Stops the processes (executors first, newest first, then the manager), kills whatever is left
// in the cluster's namespaces and removes them. Returns the problems (empty: all gone).
std::vector<std::string> teardown(const ClusterState& s, std::chrono::milliseconds grace,
                                  size_t* stopped) {
  std::vector<std::string> problems;
  std::vector<const ClusterProcess*> order;
  for (auto it = s.processes.rbegin(); it != s.processes.rend(); ++it)
    if (it->role != "manager") order.push_back(&*it);
  for (const auto& p : s.processes)
    if (p.role == "manager") order.push_back(&p);
  // Executors stop in parallel: each may take its grace to end its workers.
  std::vector<std::thread> threads;
  std::vector<char> ok(order.size(), 1);
  size_t alive = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    if (!daemon_alive(order[i]->id)) continue;
    ++alive;
    if (order[i]->role == "manager") continue;
    threads.emplace_back([&, i] { ok[i] = stop_daemon(order[i]->id, grace) ? 1 : 0; });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < order.size(); ++i)
    if (order[i]->role == "manager" && daemon_alive(order[i]->id))
      ok[i] = stop_daemon(order[i]->id, grace) ? 1 : 0;
  for (size_t i = 0; i < order.size(); ++i)
    if (!ok[i])
      problems.push_back(order[i]->role + " " + order[i]->name + " (pid " +
                         std::to_string(order[i]->id.pid) + ") did not stop");
  if (stopped != nullptr) *stopped = alive;

  if (s.netns) {
    const NetnsPlan plan = plan_netns(s.net_id, std::max(1, s.nodes));
    // Anything still running inside our namespaces (a worker whose executor was killed) was
    // started by this cluster: end it before the namespace goes.
    for (const auto& n : plan.nodes) {
      if (!netns_exists(n.netns)) continue;
      const std::string ip = find_program("ip");
      if (ip.empty()) break;
      for (int round = 0; round < 2; ++round) {
        const auto r =
            run_command({ip, "netns", "pids", n.netns}, Deadline::after(std::chrono::seconds(5)));
        if (r.exit_code != 0 || r.output.empty()) break;
        size_t pos = 0;
        while (pos < r.output.size()) {
          size_t end = r.output.find('\n', pos);
          if (end == std::string::npos) end = r.output.size();
          const int pid = std::atoi(r.output.substr(pos, end - pos).c_str());
          if (pid > 1) ::kill(pid, round == 0 ? SIGTERM : SIGKILL);
          pos = end + 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(round == 0 ? 500 : 100));
      }
    }
    for (auto& p : remove_netns(plan)) problems.push_back(std::move(p));
  }
  return problems;
}

int cluster_up(const cxxopts::ParseResult& args) {
  if (!args.count("nodes")) throw ConfigError("--nodes N is required");
  const int nodes = args["nodes"].as<int>();
  const int per_node = args["cores-per-node"].as<int>();
  const bool netns = args.count("netns") > 0;
  const int net_id = args["net-id"].as<int>();
  const auto timeout = std::chrono::milliseconds(args["timeout-ms"].as<int>());
  if (nodes < 1 || nodes > kMaxNetnsNodes)
    throw ConfigError("--nodes must be 1 .. " + std::to_string(kMaxNetnsNodes));
  const std::vector<int> usable = usable_cores();
  if (per_node < 1 || static_cast<size_t>(per_node) > usable.size())
    throw ConfigError("--cores-per-node must be 1 .. " + std::to_string(usable.size()) +
                      " (the cores this machine lets us use)");
  if (timeout.count() < 1) throw ConfigError("--timeout-ms must be positive");
  std::optional<NetnsPlan> plan;
  if (netns) {
    plan = plan_netns(net_id, nodes);
    if (::geteuid() != 0)
      throw ConfigError("--netns needs root (network namespaces and veths need CAP_NET_ADMIN)");
  }
  const std::string manager_bin =
      locate_binary(args, "manager-bin", "HPCLESS_MANAGER_BIN", "hpcless-manager", "manager");
  const std::string executor_bin =
      locate_binary(args, "executor-bin", "HPCLESS_EXECUTOR_BIN", "hpcless-executor", "executor");
  const std::string package = locate_package(args);

  const fs::path dir = dir_arg(args);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw ConfigError("cannot create '" + dir.string() + "': " + ec.message());
  if (auto old = load_state(dir)) {
    const bool running = std::any_of(old->processes.begin(), old->processes.end(),
                                     [](const auto& p) { return daemon_alive(p.id); });
    if (running)
      throw ConfigError("a cluster is already up in " + dir.string() +
                        " (cluster.json); run 'hpcless cluster down --dir " + dir.string() +
                        "' first, or use another --dir");
    // A stale state file (the processes are gone, e.g. after a reboot): clean up after it.
    teardown(*old, std::chrono::milliseconds(100), nullptr);
    fs::remove(state_path(dir), ec);
  }

  if (plan) {
    // Checked before anything is recorded: a failed start removes what the plan names, which
    // must never be another cluster's.
    const std::string taken = netns_conflict(*plan);
    if (!taken.empty())
      throw ConfigError(taken + " exists already: network id " + std::to_string(net_id) +
                        " is in use (another cluster?); use --net-id or 'cluster down' there");
  }

  ClusterState s;
  s.dir = dir;
  s.nodes = nodes;
  s.cores_per_node = per_node;
  s.netns = netns;
  s.net_id = net_id;
  s.created_utc = utc_now();
  s.api_token_file = (dir / "api-token").string();
  s.token_secret_file = (dir / "token-secret").string();
  s.env_file = (dir / "env").string();
  const std::string api_token = random_hex(32);
  const std::string secret = random_hex(32);
  write_private_file(s.api_token_file, api_token + "\n");
  write_private_file(s.token_secret_file, secret + "\n");
  const std::vector<std::string> env = {"HPCLESS_API_TOKEN=" + api_token,
                                        "HPCLESS_TOKEN_SECRET=" + secret};
  save_state(s);  // from here on, `cluster down` can undo what follows

  try {
    if (plan) {
      create_bridge(*plan);
      for (const auto& n : plan->nodes) create_node_netns(*plan, n);
    }
    // The manager.
    const std::string listen_host = plan ? plan->host_address : "127.0.0.1";
    const fs::path manager_ready = dir / "manager.ready";
    fs::remove(manager_ready, ec);
    DaemonSpec ms;
    ms.argv = {manager_bin,
               "--listen",
               listen_host + ":" + std::to_string(args["port"].as<int>()),
               "--db",
               (dir / "manager.db").string(),
               "--ready-file",
               manager_ready.string()};
    if (args.count("manager-config"))
      ms.argv.insert(ms.argv.end(), {"--config", args["manager-config"].as<std::string>()});
    ms.env = env;
    ms.log_path = (dir / "manager.log").string();
    ClusterProcess mp{"manager", "manager", spawn_daemon(ms), ms.log_path, "", ""};
    s.processes.push_back(mp);
    save_state(s);
    const Deadline deadline = Deadline::after(timeout);
    while (read_trimmed(manager_ready).empty()) {
      if (!daemon_alive(mp.id))
        throw Error("the manager exited during start-up; its log (" + ms.log_path + "):\n" +
                    log_tail(ms.log_path));
      if (deadline.expired())
        throw TimeoutError("the manager did not write " + manager_ready.string() + " within " +
                           std::to_string(timeout.count()) + " ms; its log:\n" +
                           log_tail(ms.log_path));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const std::string manager_addr = strip_scheme(read_trimmed(manager_ready));
    s.processes.back().address = manager_addr;
    s.manager_url = "http://" + manager_addr;
    save_state(s);

    // Storage (redis-server and s3rver) on the manager's host address, reachable from every
    // node, namespaces included.
    std::string storage_config;
    if (args.count("storage")) {
      const StorageServers st = plan_storage(dir, listen_host, args["bucket"].as<std::string>());
      s.processes.push_back({"redis", "redis", spawn_daemon(st.redis), st.redis.log_path, "",
                             listen_host + ":" + std::to_string(st.redis_port)});
      save_state(s);
      s.processes.push_back({"s3", "s3", spawn_daemon(st.s3), st.s3.log_path, "",
                             listen_host + ":" + std::to_string(st.s3_port)});
      save_state(s);
      wait_listening("redis-server", s.processes[s.processes.size() - 2].id, listen_host,
                     st.redis_port, st.redis.log_path, deadline);
      wait_listening("s3rver", s.processes.back().id, listen_host, st.s3_port, st.s3.log_path,
                     deadline);
      storage_config = st.config_path;
    }
    write_private_file(s.env_file,
                       "# hpcless cluster in " + dir.string() +
                           " (source this file)\nexport HPCLESS_MANAGER=" + s.manager_url +
                           "\nexport HPCLESS_API_TOKEN=" + api_token +
                           "\nexport HPCLESS_CLUSTER_DIR=" + dir.string() + "\n" +
                           (storage_config.empty()
                                ? std::string()
                                : "export HPCLESS_STORAGE_CONFIG=" + storage_config + "\n"));

    // The executors.
    for (int k = 1; k <= nodes; ++k) {
      const std::string name = node_name(k);
      const std::string host = plan ? plan->nodes[static_cast<size_t>(k - 1)].address : "127.0.0.1";
      DaemonSpec es;
      es.argv = {executor_bin,
                 "--manager",
                 s.manager_url,
                 "--name",
                 name,
                 "--listen",
                 host + ":0",
                 "--cores",
                 cores_of_node(usable, k - 1, per_node),
                 "--memory-mb",
                 std::to_string(args["memory-mb"].as<uint64_t>()),
                 "--package",
                 package,
                 "--ready-file",
                 (dir / (name + ".ready")).string()};
      if (args.count("grace-ms"))
        es.argv.insert(es.argv.end(), {"--grace-ms", std::to_string(args["grace-ms"].as<int>())});
      if (args.count("executor-config"))
        es.argv.insert(es.argv.end(), {"--config", args["executor-config"].as<std::string>()});
      if (!storage_config.empty())
        es.argv.insert(es.argv.end(), {"--storage-config", storage_config});
      if (args.count("rdma-address"))
        es.argv.insert(es.argv.end(), {"--rdma-address", args["rdma-address"].as<std::string>()});
      fs::remove(dir / (name + ".ready"), ec);
      es.env = env;
      es.log_path = (dir / (name + ".log")).string();
      if (plan) es.netns = plan->nodes[static_cast<size_t>(k - 1)].netns;
      s.processes.push_back({"executor", name, spawn_daemon(es), es.log_path, es.netns, ""});
      save_state(s);
    }

    // Wait until the manager sees every node alive.
    client::ManagerOptions mo;
    mo.url = s.manager_url;
    mo.api_token = api_token;
    mo.connect_timeout = std::chrono::milliseconds(1000);
    mo.request_timeout = std::chrono::milliseconds(2000);
    const client::LeaseClient manager(mo);
    std::string last_error;
    while (true) {
      for (const auto& p : s.processes)
        if (!daemon_alive(p.id))
          throw Error(p.role + " " + p.name + " exited during start-up; its log (" + p.log +
                      "):\n" + log_tail(p.log));
      std::set<std::string> alive;
      try {
        for (const auto& n : manager.nodes())
          if (n.state == "alive") alive.insert(n.name);
        last_error.clear();
      } catch (const Error& e) {
        last_error = e.what();
      }
      int registered = 0;
      for (int k = 1; k <= nodes; ++k) registered += alive.count(node_name(k)) ? 1 : 0;
      if (registered == nodes) break;
      if (deadline.expired()) {
        std::string logs;
        for (const auto& p : s.processes)
          if (p.role == "executor")
            logs += "  " + p.name + " (" + p.log + "):\n" + log_tail(p.log, 5);
        throw TimeoutError(std::to_string(registered) + " of " + std::to_string(nodes) +
                           " nodes registered within " + std::to_string(timeout.count()) + " ms" +
                           (last_error.empty() ? "" : " (last error: " + last_error + ")") +
                           "; executor logs:\n" + logs);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // The executors' ready files hold their listen addresses.
    for (auto& p : s.processes)
      if (p.role == "executor") p.address = read_trimmed(dir / (p.name + ".ready"));
    save_state(s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpcless cluster up: %s\n", e.what());
    std::fprintf(stderr, "hpcless cluster up: stopping what was started\n");
    const auto problems = teardown(s, std::chrono::milliseconds(2000), nullptr);
    for (const auto& p : problems) std::fprintf(stderr, "hpcless cluster up: %s\n", p.c_str());
    if (problems.empty()) fs::remove(state_path(dir), ec);
    return 1;
  }

  std::printf("cluster up in %s: manager %s, %d node%s%s\n", dir.string().c_str(),
              s.manager_url.c_str(), nodes, nodes == 1 ? "" : "s",
              plan ? (", network namespaces on bridge " + plan->bridge).c_str() : "");
  for (const auto& p : s.processes) {
    if (p.role == "redis" || p.role == "s3") {
      std::printf("  %-5s %-22s pid %-7d  storage (%s)\n", p.name.c_str(), p.address.c_str(),
                  p.id.pid, (dir / "storage.json").c_str());
      continue;
    }
    if (p.role != "executor") continue;
    std::printf("  %-5s %-22s pid %-7d%s\n", p.name.c_str(),
                p.address.empty() ? "(address pending)" : p.address.c_str(), p.id.pid,
                p.netns.empty() ? "" : ("  netns " + p.netns).c_str());
  }
  std::printf(
      "use it:\n  source %s\n  hpcless lease acquire --cores %d --seconds 60\n"
      "stop it:\n  hpcless cluster down --dir %s\n",
      s.env_file.c_str(), std::min(nodes * per_node, 2), dir.string().c_str());
  return 0;
}

int cluster_down(const cxxopts::ParseResult& args) {
  const fs::path dir = dir_arg(args);
  const int grace = args["grace-ms"].as<int>();
  if (grace < 0) throw ConfigError("--grace-ms must not be negative");
  const auto state = load_state(dir);
  if (!state) {
    std::printf("no cluster in %s (nothing to stop)\n", dir.string().c_str());
    return 0;
  }
  size_t stopped = 0;
  const auto problems = teardown(*state, std::chrono::milliseconds(grace), &stopped);
  if (!problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "hpcless cluster down: %s\n", p.c_str());
    std::fprintf(stderr, "hpcless cluster down: %s kept; run the command again once fixed\n",
                 state_path(dir).c_str());
    return 1;
  }
  std::error_code ec;
  fs::remove(state_path(dir), ec);
  fs::remove(state->env_file, ec);
  std::printf(
      "cluster in %s down: %zu process%s stopped%s\n", dir.string().c_str(), stopped,
      stopped == 1 ? "" : "es",
      state->netns ? (", " + std::to_string(state->nodes) + " namespaces removed").c_str() : "");
  return 0;
}

int cluster_status(const cxxopts::ParseResult& args) {
  const fs::path dir = dir_arg(args);
  const auto state = load_state(dir);
  if (!state) {
    std::printf("no cluster in %s\n", dir.string().c_str());
    return 1;
  }
  std::printf("cluster in %s (up since %s): manager %s\n", dir.string().c_str(),
              state->created_utc.c_str(), state->manager_url.c_str());
  int down = 0;
  for (const auto& p : state->processes) {
    const bool alive = daemon_alive(p.id);
    down += alive ? 0 : 1;
    std::printf("  %-8s %-8s pid %-7d %-7s %s%s\n", p.role.c_str(), p.name.c_str(), p.id.pid,
                alive ? "running" : "gone", p.address.c_str(),
                p.netns.empty() ? "" : ("  netns " + p.netns).c_str());
  }
  if (!state->manager_url.empty()) {
    try {
      client::ManagerOptions mo;
      mo.url = state->manager_url;
      mo.api_token = read_trimmed(state->api_token_file);
      mo.request_timeout = std::chrono::milliseconds(3000);
      const client::LeaseClient manager(mo);
      std::printf("nodes seen by the manager:\n");
      for (const auto& n : manager.nodes())
        std::printf("  %-8s %-6s %-22s cores %zu, free %d\n", n.name.c_str(), n.state.c_str(),
                    n.address.c_str(), n.cores.size(), n.free_cores);
    } catch (const Error& e) {
      std::printf("manager: %s\n", e.what());
      ++down;
    }
  }
  return down == 0 ? 0 : 1;
}

}  // namespace

int cluster_main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kClusterUsage, stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::fputs(kClusterUsage, stdout);
    return 0;
  }
  if (cmd != "up" && cmd != "down" && cmd != "status") {
    std::fprintf(stderr, "hpcless cluster: unknown command '%s'\n\n%s", cmd.c_str(), kClusterUsage);
    return 2;
  }
  const std::string prog = "hpcless cluster " + cmd;
  cxxopts::Options opts(prog, "");
  auto add = opts.add_options();
  add("dir", "state, logs and tokens (default $HPCLESS_CLUSTER_DIR or /tmp/hpcless-cluster-UID)",
      cxxopts::value<std::string>());
  add("h,help", "show this help");
  if (cmd == "up") {
    add("n,nodes", "executors to start", cxxopts::value<int>());
    add("cores-per-node", "cores each executor offers (nodes share the machine's cores)",
        cxxopts::value<int>()->default_value("1"));
    add("memory-mb", "memory each executor offers",
        cxxopts::value<uint64_t>()->default_value("1024"));
    add("rdma-address", "every executor also serves over RDMA on this address (an interface "
        "with an RDMA device; the nodes then offer transport rdma)",
        cxxopts::value<std::string>());
    add("netns", "each executor in its own network namespace (root; addresses 198.18.C.0/24)");
    add("storage",
        "also start redis-server and s3rver for functions (config in DIR/storage.json, "
        "exported as HPCLESS_STORAGE_CONFIG)");
    add("bucket", "S3 bucket created with --storage",
        cxxopts::value<std::string>()->default_value("hpcless-bench"));
    add("net-id", "C in 198.18.C.0/24 for --netns (clusters side by side need different ids)",
        cxxopts::value<int>()->default_value("0"));
    add("package", "function package the executors serve (default: the build's core functions)",
        cxxopts::value<std::string>());
    add("port", "manager port (0: any free port)", cxxopts::value<int>()->default_value("0"));
    add("grace-ms", "executors' grace after a lease's expiry before its worker stops",
        cxxopts::value<int>());
    add("manager-config", "JSON config passed to hpcless-manager --config",
        cxxopts::value<std::string>());
    add("executor-config", "JSON config passed to every hpcless-executor --config",
        cxxopts::value<std::string>());
    add("manager-bin", "hpcless-manager to run (default: from the build tree or PATH)",
        cxxopts::value<std::string>());
    add("executor-bin", "hpcless-executor to run (default: from the build tree or PATH)",
        cxxopts::value<std::string>());
    add("timeout-ms", "deadline for the manager to start and all nodes to register",
        cxxopts::value<int>()->default_value("30000"));
  } else if (cmd == "down") {
    add("grace-ms", "SIGTERM, then SIGKILL after this long",
        cxxopts::value<int>()->default_value("5000"));
  }
  try {
    const auto args = opts.parse(argc - 1, argv + 1);
    if (args.count("help")) {
      std::printf("%s\n", opts.help().c_str());
      return 0;
    }
    if (!args.unmatched().empty())
      throw ConfigError("unexpected argument '" + args.unmatched().front() + "'");
    if (cmd == "up") return cluster_up(args);
    if (cmd == "down") return cluster_down(args);
    return cluster_status(args);
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
