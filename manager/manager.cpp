#include "manager/manager.hpp"

#include <malloc.h>
#include <sys/socket.h>

#include <chrono>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "comm/base/log.hpp"
#include "manager/core/registry.hpp"
#include "manager/http/elastic_pool.hpp"
#include "manager/http/http_api.hpp"
#include "manager/kv/kv_store.hpp"
#include "manager/ondemand/on_demand.hpp"
#include "manager/store/checkpointer.hpp"
#include "manager/store/state_store.hpp"

namespace hpcless::manager {

// httplib listens with a backlog of 5 (compiled into the Debian library); a burst of clients
// would then see dropped SYNs and one-second retransmits. listen() again raises it.
class HttpServer : public httplib::Server {
 public:
  void raise_backlog(int backlog) {
    const int fd = svr_sock_;
    if (fd >= 0 && ::listen(fd, backlog) != 0)
      log::warn("listen backlog stays at httplib's default: " + std::string(std::strerror(errno)));
  }
};

Manager::Manager() = default;

Manager::~Manager() { stop(); }

uint16_t Manager::start(ManagerConfig config) {
  HPCLESS_CHECK(!running_ && !server_, "Manager::start called twice");
  finalize_manager_config(config);
  config_ = std::move(config);
  const HostPort hp = parse_host_port(config_.listen, "listen");
  try {
    store_ = std::make_unique<StateStore>(config_.db);
    checkpointer_ = std::make_unique<Checkpointer>(config_.db);
    RegistrySettings rs;
    rs.heartbeat_interval_ms = config_.heartbeat_interval_ms;
    rs.dead_after_ms = config_.dead_after_ms;
    rs.token_secret = config_.token_secret;
    registry_ = std::make_unique<Registry>(*store_, rs, metrics_);
    // Leave threads for non-waiting requests: readers may hold at most 3/4 of the pool.
    kv_ = std::make_unique<KvStore>(config_.kv_max_bytes,
                                    std::max<size_t>(1, config_.http_max_threads * 3 / 4));
    if (config_.on_demand.enabled) {
      on_demand_ = std::make_unique<OnDemand>(*registry_, metrics_, config_.on_demand,
                                              config_.api_token, config_.token_secret);
      registry_->set_registration_listener(
          [od = on_demand_.get()](const NodeRegistration& r) { od->on_registered(r); });
    }
    api_ = std::make_unique<HttpApi>(
        *registry_, *kv_, metrics_, config_,
        [this] {
          ElasticPool* p = pool_.load();
          return p ? p->threads() : size_t{0};
        },
        on_demand_.get());

    server_ = std::make_unique<HttpServer>();
    server_->new_task_queue = [this] {
      auto* p = new ElasticPool(config_.http_threads, config_.http_max_threads);
      pool_.store(p);
      return p;
    };
    server_->set_tcp_nodelay(true);  // small JSON answers must not wait for Nagle
    server_->set_keep_alive_max_count(1000);
    // httplib waits this long on an idle keep-alive connection without checking for stop(), so
    // it bounds how long stop() takes; clients that pause longer simply reconnect.
    server_->set_keep_alive_timeout(1);
    server_->set_read_timeout(10, 0);
    server_->set_write_timeout(10, 0);
    api_->install(*server_);

    int port = hp.port;
    if (hp.port == 0) {
      port = server_->bind_to_any_port(hp.host);
    } else if (!server_->bind_to_port(hp.host, hp.port)) {
      port = -1;
    }
    if (port <= 0)
      throw ConfigError("listen: cannot bind " + config_.listen +
                        " (address in use or not local? choose another, or port 0)");
    port_ = static_cast<uint16_t>(port);
    if (on_demand_) {
      std::string url = config_.on_demand.manager_url;
      if (url.empty()) {
        if (hp.host == "0.0.0.0" || hp.host == "::" || hp.host.empty())
          throw ConfigError("on_demand.manager_url is required when listening on " +
                            config_.listen +
                            ": the executor jobs need an address of this manager they can reach");
        const bool v6 = hp.host.find(':') != std::string::npos;
        url = "http://" + (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(port_);
      }
      on_demand_->set_manager_url(url);
    }
    server_->raise_backlog(1024);
    listen_thread_ = std::thread([this] {
      if (!server_->listen_after_bind()) log::error("HTTP server stopped with an error");
      listen_done_ = true;
    });
    // stop() only works once the server runs; wait for it (briefly) so start/stop cannot race.
    const Deadline d = Deadline::after(std::chrono::seconds(10));
    while (!server_->is_running()) {
      if (listen_done_) throw Error("HTTP server on " + config_.listen + " stopped at start");
      if (d.expired()) throw TimeoutError("HTTP server did not start within 10 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    stopping_ = false;
    reaper_thread_ = std::thread([this] { reaper_loop(); });
  } catch (...) {
    running_ = true;  // let stop() clean up what exists
    stop();
    throw;
  }
  running_ = true;
  log::info("serving on " + hp.host + ":" + std::to_string(port_) + " (state in '" + config_.db +
            "')");
  return port_;
}

void Manager::stop() {
  if (!running_) return;
  {
    std::lock_guard lk(reaper_mu_);
    stopping_ = true;
  }
  reaper_cv_.notify_all();
  if (reaper_thread_.joinable()) reaper_thread_.join();
  if (kv_) kv_->shutdown();
  // Requests waiting for an on-demand executor cancel its job and answer, so that the server's
  // threads can finish.
  if (on_demand_) on_demand_->shutdown();
  if (listen_thread_.joinable()) {
    // httplib's stop() does nothing until the listen loop runs; start() waited for that, so this
    // only matters when start() itself failed.
    const Deadline d = Deadline::after(std::chrono::seconds(10));
    while (!server_->is_running() && !listen_done_ && !d.expired())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server_->stop();
    listen_thread_.join();
  }
  pool_.store(nullptr);
  server_.reset();
  api_.reset();
  kv_.reset();
  if (registry_) registry_->set_registration_listener(nullptr);
  on_demand_.reset();
  registry_.reset();
  checkpointer_.reset();
  store_.reset();
  running_ = false;
}

void Manager::reaper_loop() {
  std::unique_lock lk(reaper_mu_);
  Deadline next_trim = Deadline::after(std::chrono::seconds(30));
  while (!stopping_) {
    lk.unlock();
    if (next_trim.expired()) {
      // Hand memory freed after a burst (ended leases, connection buffers) back to the system,
      // so that an idle manager stays small.
      malloc_trim(0);
      next_trim = Deadline::after(std::chrono::seconds(30));
    }
    int64_t wait_ms = 100;
    try {
      // At most 100 ms between passes, so expiries land within 100 ms even if the wall clock
      // steps; earlier when a deadline is nearer.
      wait_ms = registry_->reap(100);
    } catch (const std::exception& e) {
      log::error(std::string("reaper: ") + e.what() + " (retrying in 1 s)");
      wait_ms = 1000;
    }
    lk.lock();
    reaper_cv_.wait_for(lk, std::chrono::milliseconds(std::max<int64_t>(wait_ms, 1)),
                        [&] { return stopping_; });
  }
}

}  // namespace hpcless::manager
