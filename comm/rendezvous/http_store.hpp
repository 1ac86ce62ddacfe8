// A rendezvous store on the manager's key/value API (docs/manager-api.md, "Rendezvous store"):
//   PUT    /v1/kv/{key}               set
//   GET    /v1/kv/{key}?wait_ms=N     get: the manager holds the request until the key appears
//                                     (long poll, N <= 60000; longer deadlines loop)
//   DELETE /v1/kv/{prefix}?prefix=1   erase_prefix
// with "Authorization: Bearer <api token>". Keys are percent-encoded into the path; values are
// at most 1 MiB (the manager's limit).
//
//   HttpStoreOptions o;  o.url = "http://127.0.0.1:8080";  o.token = "...";
//   auto store = std::make_shared<rendezvous::HttpStore>(o);
//
// add() is NOT supported: the manager's API has no atomic increment (and no conditional write to
// build one from), so add() throws ConfigError. Channels and communicators do not need it.
//
// Errors: ConfigError (bad URL, token refused, value too large, add), IoError (manager
// unreachable, 5xx), TimeoutError (get past its deadline, or no answer within io_timeout).
// Thread safety: safe from any number of threads; each call borrows an HTTP client (one
// keep-alive connection) from a small pool, so a long-polling get does not block other calls.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "comm/rendezvous/store.hpp"

namespace httplib {
class Client;
}

namespace hpcless::rendezvous {

struct HttpStoreOptions {
  std::string url;     // the manager, "http://host:port"
  std::string token;   // API token; empty: $HPCLESS_API_TOKEN
  std::string prefix;  // prepended to every key (e.g. "runs/42/")
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds io_timeout{10'000};  // per request, on top of a long poll's wait
  size_t max_idle_connections = 4;
};

class HttpStore final : public Store {
 public:
  // Checks the options (ConfigError); does not contact the manager.
  explicit HttpStore(HttpStoreOptions options);
  ~HttpStore() override;

  void set(std::string_view key, std::span<const std::byte> value) override;
  std::vector<std::byte> get(std::string_view key, Deadline deadline) override;
  // Always throws ConfigError (see the header comment).
  int64_t add(std::string_view key, int64_t delta) override;
  void erase_prefix(std::string_view prefix) override;

  // "/v1/kv/<percent-encoded prefix + key>".
  std::string path_of(std::string_view key) const;

 private:
  struct Reply {
    int status;
    std::string body;
  };
  Reply call(const char* method, const std::string& path, std::string_view body,
             std::chrono::milliseconds read_timeout, std::string_view what);
  std::unique_ptr<httplib::Client> borrow();
  void give_back(std::unique_ptr<httplib::Client> c);

  HttpStoreOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_;
};

}  // namespace hpcless::rendezvous
