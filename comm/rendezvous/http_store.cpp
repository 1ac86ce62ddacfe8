#include "comm/rendezvous/http_store.hpp"

#include <httplib.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "comm/base/error.hpp"
#include "comm/base/json.hpp"

namespace hpcless::rendezvous {

namespace {

// The manager caps a long poll at this (kMaxKvWaitMs).
constexpr int kMaxWaitMs = 60'000;

std::string error_text(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string())
    return j["error"].get<std::string>();
  return body.substr(0, 200);
}

void set_timeout(httplib::Client& c, std::chrono::milliseconds t) {
  c.set_read_timeout(t.count() / 1000, (t.count() % 1000) * 1000);
  c.set_write_timeout(t.count() / 1000, (t.count() % 1000) * 1000);
}

}  // namespace

HttpStore::HttpStore(HttpStoreOptions options) : options_(std::move(options)) {
  if (options_.url.rfind("http://", 0) != 0 && options_.url.rfind("https://", 0) != 0)
    throw ConfigError("http store: the manager URL must start with http:// or https://, got '" +
                      options_.url + "'");
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
  if (options_.token.empty()) {
    const char* t = std::getenv("HPCLESS_API_TOKEN");
    if (t != nullptr) options_.token = t;
  }
  if (options_.token.empty())
    throw ConfigError("http store: no API token (HttpStoreOptions::token or HPCLESS_API_TOKEN)");
  if (options_.connect_timeout.count() <= 0 || options_.io_timeout.count() <= 0)
    throw ConfigError("http store: timeouts must be positive");
}

HttpStore::~HttpStore() = default;

std::string HttpStore::path_of(std::string_view key) const {
  static const char* hex = "0123456789ABCDEF";
  std::string full = options_.prefix;
  full += key;
  std::string p = "/v1/kv/";
  for (unsigned char c : full) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (plain) {
      p.push_back(static_cast<char>(c));
    } else {
      p.push_back('%');
      p.push_back(hex[c >> 4]);
      p.push_back(hex[c & 15]);
    }
  }
  return p;
}

std::unique_ptr<httplib::Client> HttpStore::borrow() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<httplib::Client>(options_.url);
  const auto ct = options_.connect_timeout;
  c->set_connection_timeout(ct.count() / 1000, (ct.count() % 1000) * 1000);
  c->set_keep_alive(true);
  c->set_bearer_token_auth(options_.token.c_str());
  return c;
}

void HttpStore::give_back(std::unique_ptr<httplib::Client> c) {
  std::lock_guard lock(mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(c));
}

HttpStore::Reply HttpStore::call(const char* method, const std::string& path, std::string_view body,
                                 std::chrono::milliseconds read_timeout, std::string_view what) {
  auto c = borrow();
  set_timeout(*c, read_timeout);
  httplib::Result res{nullptr, httplib::Error::Unknown};
  if (std::strcmp(method, "GET") == 0)
    res = c->Get(path);
  else if (std::strcmp(method, "PUT") == 0)
    res = c->Put(path, body.data(), body.size(), "application/octet-stream");
  else
    res = c->Delete(path);
  const std::string where =
      "http store: " + std::string(what) + " (" + method + " " + options_.url + path + ")";
  if (!res) {
    // The connection is in an unknown state: drop it.
    switch (res.error()) {
      case httplib::Error::Connection:
        throw IoError(where + ": cannot connect to the manager; is hpcless-manager running?");
      case httplib::Error::ConnectionTimeout:
        throw TimeoutError(where + ": connecting timed out after " +
                           std::to_string(options_.connect_timeout.count()) + " ms");
      case httplib::Error::Read:
        throw TimeoutError(where + ": no complete answer within " +
                           std::to_string(read_timeout.count()) + " ms");
      default:
        throw IoError(where + " failed: " + httplib::to_string(res.error()));
    }
  }
  Reply r{res->status, std::move(res->body)};
  give_back(std::move(c));
  if (r.status == 401)
    throw ConfigError(where + ": the manager refused the API token (401: " + error_text(r.body) +
                      ")");
  if (r.status == 413) throw ConfigError(where + ": value too large for the manager (413)");
  if (r.status == 400) throw ConfigError(where + ": " + error_text(r.body));
  if (r.status >= 500)
    throw IoError(where + ": " + std::to_string(r.status) + " " + error_text(r.body));
  return r;
}

void HttpStore::set(std::string_view key, std::span<const std::byte> value) {
  const Reply r = call("PUT", path_of(key),
                       std::string_view(reinterpret_cast<const char*>(value.data()), value.size()),
                       options_.io_timeout, "set '" + std::string(key) + "'");
  if (r.status != 204 && r.status != 200)
    throw IoError("http store: set '" + std::string(key) + "': unexpected HTTP " +
                  std::to_string(r.status) + " " + error_text(r.body));
}

std::vector<std::byte> HttpStore::get(std::string_view key, Deadline deadline) {
  const uint64_t start = now_ns();
  const std::string base = path_of(key);
  while (true) {
    const int wait =
        deadline.is_never() ? kMaxWaitMs : std::min(kMaxWaitMs, deadline.remaining_ms());
    const Reply r = call("GET", base + "?wait_ms=" + std::to_string(wait), {},
                         options_.io_timeout + std::chrono::milliseconds(wait),
                         "get '" + std::string(key) + "'");
    if (r.status == 200) {
      std::vector<std::byte> out(r.body.size());
      if (!r.body.empty()) std::memcpy(out.data(), r.body.data(), r.body.size());
      return out;
    }
    if (r.status != 404)
      throw IoError("http store: get '" + std::string(key) + "': unexpected HTTP " +
                    std::to_string(r.status) + " " + error_text(r.body));
    if (deadline.expired())
      throw TimeoutError("http store: key '" + std::string(key) + "' did not appear within " +
                         std::to_string((now_ns() - start) / 1'000'000) + " ms (manager " +
                         options_.url + ")");
  }
}

int64_t HttpStore::add(std::string_view key, int64_t) {
  throw ConfigError("http store: add('" + std::string(key) +
                    "') is not supported: the manager's /v1/kv API has no atomic increment; use "
                    "a RedisStore or TcpStore for counters");
}

void HttpStore::erase_prefix(std::string_view prefix) {
  if (options_.prefix.empty() && prefix.empty())
    throw ConfigError("http store: erase_prefix of everything is not allowed (empty prefix)");
  const Reply r = call("DELETE", path_of(prefix) + "?prefix=1", {}, options_.io_timeout,
                       "erase_prefix '" + std::string(prefix) + "'");
  if (r.status != 200)
    throw IoError("http store: erase_prefix '" + std::string(prefix) + "': unexpected HTTP " +
                  std::to_string(r.status) + " " + error_text(r.body));
}

}  // namespace hpcless::rendezvous
