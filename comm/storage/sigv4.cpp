#include "comm/storage/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

#include "comm/base/error.hpp"

namespace hpcless::storage::sigv4 {

namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trims and collapses runs of spaces, as the canonical header value requires.
std::string canonical_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> sorted_headers(const Request& r) {
  std::vector<std::pair<std::string, std::string>> h;
  h.reserve(r.headers.size());
  for (const auto& [name, value] : r.headers) h.emplace_back(lower(name), canonical_value(value));
  std::sort(h.begin(), h.end());
  return h;
}

}  // namespace

std::string uri_encode(std::string_view s, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c) || (c == '/' && !encode_slash)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string uri_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHex[c >> 4];
    out[2 * i + 1] = kHex[c & 15];
  }
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string sha256_hex(std::string_view data) { return hex(sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  unsigned int len = 0;
  const unsigned char* r = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                                reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                                reinterpret_cast<unsigned char*>(out.data()), &len);
  HPCLESS_CHECK(r != nullptr && len == SHA256_DIGEST_LENGTH, "HMAC-SHA256 failed");
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  HPCLESS_CHECK(n >= 0, "base64 encoding failed");
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string md5_base64(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const int ok = EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
  HPCLESS_CHECK(ok == 1, "MD5 failed");
  return base64(std::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string amz_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf, n);
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(uri_encode(k, true), uri_encode(v, true));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

std::string signed_headers(const Request& r) {
  std::string out;
  for (const auto& [name, value] : sorted_headers(r)) {
    if (!out.empty()) out.push_back(';');
    out += name;
  }
  return out;
}

std::string canonical_request(const Request& r) {
  std::string out;
  out += r.method;
  out += '\n';
  out += r.canonical_uri.empty() ? std::string("/") : r.canonical_uri;
  out += '\n';
  out += canonical_query(r.query);
  out += '\n';
  const auto headers = sorted_headers(r);
  std::string names;
  for (const auto& [name, value] : headers) {
    out += name;
    out += ':';
    out += value;
    out += '\n';
    if (!names.empty()) names.push_back(';');
    names += name;
  }
  out += '\n';
  out += names;
  out += '\n';
  out += r.payload_hash;
  return out;
}

namespace {
std::string scope(const Credentials& c, std::string_view amz_date) {
  return std::string(amz_date.substr(0, 8)) + "/" + c.region + "/" + c.service + "/aws4_request";
}
}  // namespace

std::string string_to_sign(const Request& r, const Credentials& c, std::string_view amz_date) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope(c, amz_date) + "\n" +
         sha256_hex(canonical_request(r));
}

std::string signing_key(const Credentials& c, std::string_view day) {
  const std::string k_date = hmac_sha256("AWS4" + c.secret_key, day);
  const std::string k_region = hmac_sha256(k_date, c.region);
  const std::string k_service = hmac_sha256(k_region, c.service);
  return hmac_sha256(k_service, "aws4_request");
}

std::string authorization(const Request& r, const Credentials& c, std::string_view amz_date) {
  HPCLESS_CHECK(amz_date.size() >= 8, "amz_date must look like 20130524T000000Z");
  const std::string key = signing_key(c, amz_date.substr(0, 8));
  const std::string signature = hex(hmac_sha256(key, string_to_sign(r, c, amz_date)));
  return "AWS4-HMAC-SHA256 Credential=" + c.access_key + "/" + scope(c, amz_date) +
         ",SignedHeaders=" + signed_headers(r) + ",Signature=" + signature;
}

}  // namespace hpcless::storage::sigv4
