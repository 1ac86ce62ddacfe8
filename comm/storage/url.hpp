// Endpoint URLs of object stores: "http://127.0.0.1:9000", "https://s3.eu-central-1.amazonaws.com".
// Pure functions, thread-safe.
#pragma once

#include <string>

namespace hpcless::storage {

struct Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // "127.0.0.1", "s3.amazonaws.com", "[::1]" (IPv6 keeps its brackets)
  int port = 0;        // explicit port, 0 when the URL has none

  int effective_port() const noexcept { return port != 0 ? port : (scheme == "https" ? 443 : 80); }
  // Value of the Host header for `host_name` (the endpoint host or bucket.host): the port is
  // included only when it is not the scheme's default, which is what curl sends.
  std::string host_header(const std::string& host_name) const;
  // scheme://host_name[:port]
  std::string origin(const std::string& host_name) const;
};

// Throws ConfigError("<field>: ...") for anything but scheme://host[:port][/].
Endpoint parse_endpoint(const std::string& url, const std::string& field = "endpoint");

}  // namespace hpcless::storage
