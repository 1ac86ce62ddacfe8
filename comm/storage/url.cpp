#include "comm/storage/url.hpp"

#include <cctype>

#include "comm/base/error.hpp"

namespace hpcless::storage {

std::string Endpoint::host_header(const std::string& host_name) const {
  const bool default_port =
      port == 0 || (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  std::string out = host_name;
  if (!default_port) {
    out.push_back(':');
    out.append(std::to_string(port));
  }
  return out;
}

std::string Endpoint::origin(const std::string& host_name) const {
  // Appends instead of operator+ chains: GCC 12 -O3 reports a false -Wrestrict on the latter.
  std::string out = scheme;
  out.append("://").append(host_name);
  if (port != 0) {
    out.push_back(':');
    out.append(std::to_string(port));
  }
  return out;
}

Endpoint parse_endpoint(const std::string& url, const std::string& field) {
  auto fail = [&](const std::string& why) -> Endpoint {
    throw ConfigError(field + ": '" + url + "' is not a valid endpoint (" + why +
                      "); expected http://host:port or https://host");
  };
  Endpoint e;
  const size_t sep = url.find("://");
  if (sep == std::string::npos) return fail("no scheme");
  e.scheme = url.substr(0, sep);
  for (char& c : e.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (e.scheme != "http" && e.scheme != "https") return fail("scheme must be http or https");
  std::string rest = url.substr(sep + 3);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos || rest.find('?') != std::string::npos)
    return fail("an endpoint has no path or query; the bucket is a separate field");
  if (rest.find('@') != std::string::npos) return fail("credentials do not belong in the URL");
  std::string port_text;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string::npos) return fail("unterminated IPv6 literal");
    e.host = rest.substr(0, close + 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return fail("unexpected text after the IPv6 literal");
      port_text = rest.substr(close + 2);
      if (port_text.empty()) return fail("empty port");
    }
  } else {
    const size_t colon = rest.find(':');
    e.host = rest.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return fail("empty port");
    }
  }
  if (e.host.empty() || e.host == "[]") return fail("no host");
  for (char c : e.host) {
    if (std::isspace(static_cast<unsigned char>(c))) return fail("space in host");
  }
  if (!port_text.empty()) {
    int port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) return fail("port must be a number 1..65535");
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) return fail("port must be a number 1..65535");
    e.port = port;
  }
  return e;
}

}  // namespace hpcless::storage
