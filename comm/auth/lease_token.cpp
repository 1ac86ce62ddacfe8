#include "comm/auth/lease_token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <chrono>

#include "comm/base/error.hpp"
#include "comm/base/json.hpp"

namespace hpcless::auth {
namespace {

constexpr std::string_view kPrefix = "hpcl1.";
constexpr size_t kMaxTokenSize = 4096;  // a token is a few hundred bytes; refuse junk early
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url_encode(const unsigned char* data, size_t len) {
  std::string out;
  out.reserve((len + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < len; i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (len - i == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Returns false on characters outside the alphabet or an impossible length.
bool base64url_decode(std::string_view in, std::string& out) {
  if (in.size() % 4 == 1) return false;
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = decode_char(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return true;
}

std::array<unsigned char, 32> hmac_sha256(std::string_view secret, std::string_view message) {
  std::array<unsigned char, 32> mac{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(),
           &len) == nullptr ||
      len != mac.size()) {
    throw SystemError("HMAC-SHA256 failed in OpenSSL", 0);
  }
  return mac;
}

}  // namespace

void check_token_secret(std::string_view secret) {
  if (secret.size() < 16) {
    throw ConfigError(
        "token secret is " + std::to_string(secret.size()) +
        " bytes; it must be at least 16 (set token_secret in the config or HPCLESS_TOKEN_SECRET, "
        "the same value on the manager and every executor)");
  }
}

std::string sign_lease_token(const LeaseClaims& c, std::string_view secret) {
  check_token_secret(secret);
  nlohmann::json j = {{"lease", c.lease_id},   {"node", c.node},
                      {"cores", c.cores},      {"memory_mb", c.memory_mb},
                      {"exp_ms", c.expires_at_ms}, {"transport", c.transport},
                      {"hot_timeout_ms", c.hot_timeout_ms}};
  std::string body = j.dump();
  std::string signed_part = std::string(kPrefix) +
      base64url_encode(reinterpret_cast<const unsigned char*>(body.data()), body.size());
  auto mac = hmac_sha256(secret, signed_part);
  return signed_part + "." + base64url_encode(mac.data(), mac.size());
}

VerifiedToken verify_lease_token(std::string_view token, std::string_view secret, int64_t now_ms) {
  VerifiedToken v;
  if (token.size() > kMaxTokenSize || !token.starts_with(kPrefix)) {
    v.message = "lease token malformed: expected hpcl1.<claims>.<mac>";
    return v;
  }
  size_t dot = token.rfind('.');
  if (dot <= kPrefix.size() - 1 || dot == token.size() - 1) {
    v.message = "lease token malformed: missing claims or signature";
    return v;
  }
  std::string_view signed_part = token.substr(0, dot);
  std::string mac_given;
  if (!base64url_decode(token.substr(dot + 1), mac_given) || mac_given.size() != 32) {
    v.message = "lease token malformed: bad signature encoding";
    return v;
  }
  if (secret.size() < 16) {
    v.message = "executor has no valid token secret configured";
    return v;
  }
  auto mac = hmac_sha256(secret, signed_part);
  if (CRYPTO_memcmp(mac.data(), mac_given.data(), mac.size()) != 0) {
    v.result = TokenCheck::kBadSignature;
    v.message = "lease token signature does not match (forged, altered, or signed with another secret)";
    return v;
  }
  std::string body;
  if (!base64url_decode(signed_part.substr(kPrefix.size()), body)) {
    v.message = "lease token malformed: bad claims encoding";
    return v;
  }
  try {
    auto j = nlohmann::json::parse(body);
    v.claims.lease_id = j.at("lease").get<std::string>();
    v.claims.node = j.at("node").get<std::string>();
    v.claims.cores = j.at("cores").get<std::vector<int>>();
    v.claims.memory_mb = j.at("memory_mb").get<uint64_t>();
    v.claims.expires_at_ms = j.at("exp_ms").get<int64_t>();
    v.claims.transport = j.at("transport").get<std::string>();
    v.claims.hot_timeout_ms = j.at("hot_timeout_ms").get<int32_t>();
  } catch (const nlohmann::json::exception& e) {
    v.result = TokenCheck::kMalformed;
    v.message = std::string("lease token claims unreadable: ") + e.what();
    return v;
  }
  if (now_ms >= v.claims.expires_at_ms) {
    v.result = TokenCheck::kExpired;
    v.message = "lease " + v.claims.lease_id + " token expired " +
                std::to_string(now_ms - v.claims.expires_at_ms) + " ms ago (renew the lease)";
    return v;
  }
  v.result = TokenCheck::kOk;
  return v;
}

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace hpcless::auth
