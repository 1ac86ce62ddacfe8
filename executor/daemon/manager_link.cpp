#include "executor/daemon/manager_link.hpp"

#include <httplib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/base/json.hpp"
#include "comm/base/log.hpp"

namespace hpcless::executor {

namespace {

std::pair<std::string, int> parse_url(const std::string& url) {
  std::string rest = url;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  else if (rest.find("://") != std::string::npos)
    throw ConfigError("manager URL '" + url + "' must be http://HOST:PORT");
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw ConfigError("manager URL '" + url + "' must be http://HOST:PORT");
  int port = 0;
  try {
    port = std::stoi(rest.substr(colon + 1));
  } catch (const std::exception&) {
    throw ConfigError("manager URL '" + url + "' has a bad port");
  }
  if (port <= 0 || port > 65535) throw ConfigError("manager URL '" + url + "' has a bad port");
  return {rest.substr(0, colon), port};
}

std::string error_of(const httplib::Result& r) {
  if (!r) return httplib::to_string(r.error());
  std::string msg = "HTTP " + std::to_string(r->status);
  try {
    auto j = nlohmann::json::parse(r->body);
    if (j.contains("error")) msg += ": " + j["error"].get<std::string>();
  } catch (const std::exception&) {
  }
  return msg;
}

}  // namespace

ManagerLink::ManagerLink(std::string manager_url, std::string api_token, NodeDescription node)
    : host_(parse_url(manager_url).first),
      port_(parse_url(manager_url).second),
      token_(std::move(api_token)),
      node_(std::move(node)) {
  walltime_end_ms_ = node_.walltime_end_ms;
  wake_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_) throw_system_error("eventfd");
}

ManagerLink::~ManagerLink() { stop(); }

bool ManagerLink::register_node(std::string& why) {
  httplib::Client cli(host_, port_);
  cli.set_connection_timeout(std::chrono::seconds(2));
  cli.set_read_timeout(std::chrono::seconds(5));
  cli.set_write_timeout(std::chrono::seconds(5));
  cli.set_bearer_token_auth(token_);
  nlohmann::json body = {{"name", node_.name},   {"address", node_.address},
                         {"cores", node_.cores}, {"memory_mb", node_.memory_mb},
                         {"transports", node_.transports}};
  if (walltime_end_ms_.load() != 0) body["walltime_end_ms"] = walltime_end_ms_.load();
  if (node_.job_started_ms != 0) body["job_started_ms"] = node_.job_started_ms;
  auto r = cli.Post("/v1/nodes", body.dump(), "application/json");
  if (r && r->status == 200) {
    try {
      auto j = nlohmann::json::parse(r->body);
      if (j.contains("heartbeat_interval_ms"))
        interval_ms_ = std::max<int64_t>(10, j["heartbeat_interval_ms"].get<int64_t>());
    } catch (const std::exception& e) {
      why = std::string("bad registration answer: ") + e.what();
      return false;
    }
    return true;
  }
  why = error_of(r);
  if (r && (r->status == 401 || r->status == 400))
    throw ConfigError("the manager refused this node's registration (" + why +
                      "); check HPCLESS_API_TOKEN and the node settings");
  return false;
}

bool ManagerLink::heartbeat(std::string& why, const std::string& leaving) {
  nlohmann::json leases = nlohmann::json::array();
  {
    std::lock_guard lock(mu_);
    for (const auto& r : reports_) {
      nlohmann::json l = {{"id", r.id}, {"state", r.state}};
      if (!r.reason.empty()) l["reason"] = r.reason;
      l["usage"] = {{"allocated_core_s", r.usage.allocated_core_s},
                    {"busy_core_s", r.usage.busy_core_s},
                    {"hot_poll_core_s", r.usage.hot_poll_core_s},
                    {"idle_core_s", r.usage.idle_core_s},
                    {"invocations", r.usage.invocations},
                    {"errors", r.usage.errors}};
      leases.push_back(std::move(l));
    }
  }
  httplib::Client cli(host_, port_);
  cli.set_connection_timeout(std::chrono::seconds(1));
  cli.set_read_timeout(std::chrono::seconds(2));
  cli.set_write_timeout(std::chrono::seconds(2));
  cli.set_bearer_token_auth(token_);
  const uint64_t sent = now_ns();
  nlohmann::json body = {{"leases", std::move(leases)},
                         {"walltime_end_ms", walltime_end_ms_.load()}};
  if (!leaving.empty()) body["leaving"] = leaving;
  auto r = cli.Post("/v1/nodes/" + node_.name + "/heartbeat", body.dump(), "application/json");
  if (!leaving.empty()) {
    if (!r || r->status != 200) why = error_of(r);
    return r && r->status == 200;
  }
  if (r && r->status == 404) {
    log::warn("the manager does not know this node (restarted with another database?); "
              "registering again");
    if (!register_node(why)) return false;
    return heartbeat(why);
  }
  if (!r || r->status != 200) {
    why = error_of(r);
    return false;
  }
  Assignment a;
  a.request_sent_ns = sent;
  try {
    auto j = nlohmann::json::parse(r->body);
    for (const auto& l : j.at("leases")) {
      AssignedLease x;
      x.id = l.at("id").get<std::string>();
      x.cores = l.at("cores").get<std::vector<int>>();
      x.memory_mb = l.value("memory_mb", uint64_t{0});
      x.expires_at_ms = l.at("expires_at_ms").get<int64_t>();
      x.hot_timeout_ms = l.value("hot_timeout_ms", -1);
      a.leases.push_back(std::move(x));
    }
  } catch (const std::exception& e) {
    why = std::string("bad heartbeat answer: ") + e.what();
    return false;
  }
  {
    std::lock_guard lock(mu_);
    assignment_ = std::move(a);
  }
  const uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof(one));
  return true;
}

void ManagerLink::start(std::chrono::milliseconds timeout) {
  const auto deadline = Deadline::after(timeout);
  std::string why;
  while (!register_node(why)) {
    if (deadline.expired())
      throw IoError("cannot register with the manager at " + host_ + ":" + std::to_string(port_) +
                    " (" + why + "); is hpcless-manager running there?");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  log::info("registered node '" + node_.name + "' (" + node_.address + ") with the manager at " +
            host_ + ":" + std::to_string(port_));
  // A first heartbeat before the loop, so leases granted before a restart come back at once.
  if (heartbeat(why)) heartbeats_ok_.fetch_add(1);
  thread_ = std::thread([this] { run(); });
}

void ManagerLink::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ManagerLink::farewell(const std::string& reason, std::chrono::milliseconds timeout) {
  stop();
  const auto deadline = Deadline::after(timeout);
  std::string why;
  // One retry: the manager may be busy for a moment; after the deadline it finds out anyway
  // (missed heartbeats).
  for (int attempt = 0; attempt < 2 && !deadline.expired(); ++attempt) {
    if (heartbeat(why, reason)) {
      log::info("told the manager this node leaves: " + reason);
      return;
    }
  }
  log::warn("could not tell the manager this node leaves (" + why +
            "); it will declare the node dead after missed heartbeats");
}

bool ManagerLink::leave(std::string& why) {
  stop();
  httplib::Client cli(host_, port_);
  cli.set_connection_timeout(std::chrono::seconds(2));
  cli.set_read_timeout(std::chrono::seconds(5));
  cli.set_write_timeout(std::chrono::seconds(5));
  cli.set_bearer_token_auth(token_);
  auto r = cli.Delete("/v1/nodes/" + node_.name);
  if (r && r->status == 409) {
    why = error_of(r);
    {
      std::lock_guard lock(mu_);
      stop_ = false;
    }
    thread_ = std::thread([this] { run(); });
    return false;
  }
  if (!r || (r->status != 200 && r->status != 404)) {
    why = error_of(r);
    log::warn("could not deregister from the manager (" + why +
              "); it will declare this node dead when the heartbeats stop");
  }
  return true;
}

void ManagerLink::publish(std::vector<LeaseReport> reports) {
  std::lock_guard lock(mu_);
  reports_ = std::move(reports);
}

std::optional<Assignment> ManagerLink::take_assignment() {
  std::lock_guard lock(mu_);
  return std::exchange(assignment_, std::nullopt);
}

void ManagerLink::run() {
  uint64_t failures = 0;
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_.load()), [&] { return stop_; }))
        return;
    }
    std::string why;
    if (heartbeat(why)) {
      if (failures > 0) log::info("the manager answers heartbeats again");
      failures = 0;
      heartbeats_ok_.fetch_add(1);
    } else if (failures++ % 20 == 0) {
      // Leases keep running to their known expiry while the manager is away.
      log::warn("heartbeat to the manager failed (" + why + "); leases run on to their expiry");
    }
  }
}

}  // namespace hpcless::executor
