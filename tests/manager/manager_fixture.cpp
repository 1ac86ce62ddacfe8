#include "tests/manager/manager_fixture.hpp"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "comm/auth/lease_token.hpp"

namespace hpcless::mtest {

using nlohmann::json;
using namespace std::chrono_literals;

std::string manager_binary() { return HPCLESS_MANAGER_BIN; }

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/hpcless-mtest-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

std::string Reply::error_message() const {
  if (body.is_object() && body.contains("error") && body["error"].is_string())
    return body["error"].get<std::string>();
  return "";
}

struct Api::Impl {
  Impl(std::string h, int p, std::string t) : cli(h, p), token(std::move(t)) {
    cli.set_keep_alive(true);
    cli.set_tcp_nodelay(true);
    cli.set_connection_timeout(5, 0);
    cli.set_read_timeout(70, 0);  // a rendezvous read may wait up to 60 s
    cli.set_write_timeout(10, 0);
  }
  httplib::Client cli;
  std::string token;
};

Api::Api(std::string host, int port, std::string token)
    : impl_(std::make_unique<Impl>(std::move(host), port, std::move(token))) {}
Api::~Api() = default;
Api::Api(Api&&) noexcept = default;
Api& Api::operator=(Api&&) noexcept = default;

Reply Api::raw(const std::string& method, const std::string& path, const std::string& body,
               const std::optional<std::string>& authorization) {
  httplib::Headers h;
  if (authorization) h.emplace("Authorization", *authorization);
  httplib::Result r = method == "GET"      ? impl_->cli.Get(path, h)
                      : method == "DELETE" ? impl_->cli.Delete(path, h)
                      : method == "PUT" ? impl_->cli.Put(path, h, body, "application/octet-stream")
                                        : impl_->cli.Post(path, h, body, "application/json");
  Reply out;
  if (!r) return out;
  out.status = r->status;
  out.raw = r->body;
  if (r->get_header_value("Content-Type").rfind("application/json", 0) == 0)
    out.body = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  return out;
}

Reply Api::get(const std::string& path) { return raw("GET", path, "", "Bearer " + impl_->token); }
Reply Api::post(const std::string& path, const std::string& body) {
  return raw("POST", path, body, "Bearer " + impl_->token);
}
Reply Api::put(const std::string& path, const std::string& body) {
  return raw("PUT", path, body, "Bearer " + impl_->token);
}
Reply Api::del(const std::string& path) {
  return raw("DELETE", path, "", "Bearer " + impl_->token);
}

void Api::register_node(const std::string& name, std::vector<int> cores, uint64_t memory_mb,
                        const std::string& address, std::vector<std::string> transports) {
  auto r = post("/v1/nodes", json{{"name", name},
                                  {"address", address},
                                  {"cores", cores},
                                  {"memory_mb", memory_mb},
                                  {"transports", transports}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["name"], name);
}

json Api::grant(const json& request) {
  auto r = post("/v1/leases", request);
  EXPECT_EQ(r.status, 201) << request.dump() << " -> " << r.raw;
  return r.body;
}

json Api::heartbeat(const std::string& node, const json& leases) {
  auto r = post("/v1/nodes/" + node + "/heartbeat", json{{"leases", leases}});
  EXPECT_EQ(r.status, 200) << r.raw;
  return r.body;
}

json Api::lease(const std::string& id) {
  auto r = get("/v1/leases/" + id);
  EXPECT_EQ(r.status, 200) << r.raw;
  return r.body;
}

json Api::node(const std::string& name) {
  auto r = get("/v1/nodes");
  EXPECT_EQ(r.status, 200) << r.raw;
  for (const auto& n : r.body["nodes"])
    if (n["name"] == name) return n;
  return nullptr;
}

manager::ManagerConfig test_config(const TempDir& dir) {
  manager::ManagerConfig c;
  c.listen = "127.0.0.1:0";
  c.db = dir.file("state.db");
  c.api_token = kApiToken;
  c.token_secret = kTokenSecret;
  c.heartbeat_interval_ms = 100;
  c.dead_after_ms = 60000;  // tests about node death shorten it
  c.max_lease_seconds = 3600;
  return c;
}

InProcessManager::InProcessManager(const manager::ManagerConfig& config) {
  port_ = m_.start(config);
}
InProcessManager::~InProcessManager() { m_.stop(); }

ManagerChild::ManagerChild(const std::string& config_path, const std::string& listen,
                           const std::string& db, const std::string& dir)
    : dir_(dir), log_(dir + "/manager.log") {
  const std::string ready = dir + "/ready";
  std::remove(ready.c_str());
  std::vector<std::string> argv = {manager_binary(), "--config", config_path,    "--listen", listen,
                                   "--db",           db,         "--ready-file", ready};
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (true) {
    std::string a = read_file(ready);
    if (!a.empty() && a.back() == '\n') {
      address_ = a.substr(0, a.size() - 1);
      return;
    }
    if (wait(0ms)) throw std::runtime_error("hpcless-manager exited at start:\n" + log());
    if (std::chrono::steady_clock::now() > deadline) {
      kill9();
      throw std::runtime_error("hpcless-manager not ready within 20 s:\n" + log());
    }
    std::this_thread::sleep_for(5ms);
  }
}

ManagerChild::~ManagerChild() {
  if (pid_ > 0) {
    if (terminate(5000ms) == -1) kill9();
  }
  if (::testing::Test::HasFailure())
    std::fprintf(stderr, "--- manager log ---\n%s\n", log().c_str());
}

int ManagerChild::port() const { return std::stoi(address_.substr(address_.rfind(':') + 1)); }
Api ManagerChild::api() const { return Api("127.0.0.1", port()); }
std::string ManagerChild::log() const { return read_file(log_); }

std::optional<int> ManagerChild::wait(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (pid_ > 0) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(2ms);
  }
  return std::nullopt;
}

void ManagerChild::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait(10s);
}

int ManagerChild::terminate(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto st = wait(limit);
  return st ? *st : -1;
}

struct DbView::Impl {
  sqlite3* db = nullptr;
};

DbView::DbView(const std::string& path) : impl_(std::make_unique<Impl>()) {
  if (sqlite3_open_v2(path.c_str(), &impl_->db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    throw std::runtime_error("cannot open " + path);
  sqlite3_busy_timeout(impl_->db, 5000);
}

DbView::~DbView() { sqlite3_close(impl_->db); }

std::vector<std::vector<std::string>> DbView::rows(const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(impl_->db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("sql: ") + sqlite3_errmsg(impl_->db) + " in " + sql);
  std::vector<std::vector<std::string>> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
      row.push_back(t ? t : "NULL");
    }
    out.push_back(std::move(row));
  }
  sqlite3_finalize(st);
  return out;
}

int64_t DbView::count(const std::string& sql) {
  auto r = rows(sql);
  return r.empty() || r[0].empty() ? 0 : std::stoll(r[0][0]);
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

TokenClaims verify(const std::string& token) {
  auto v = auth::verify_lease_token(token, kTokenSecret, auth::unix_now_ms());
  TokenClaims c;
  EXPECT_EQ(v.result, auth::TokenCheck::kOk) << v.message;
  c.ok = v.result == auth::TokenCheck::kOk;
  c.lease = v.claims.lease_id;
  c.node = v.claims.node;
  c.transport = v.claims.transport;
  c.cores = v.claims.cores;
  c.memory_mb = v.claims.memory_mb;
  c.expires_at_ms = v.claims.expires_at_ms;
  c.hot_timeout_ms = v.claims.hot_timeout_ms;
  return c;
}

}  // namespace hpcless::mtest
