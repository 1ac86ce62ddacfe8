// Lease tokens: what a client presents to a worker to prove the manager granted it cores.
//
//   hpcl1.<base64url(claims JSON)>.<base64url(HMAC-SHA256(secret, "hpcl1." + claims part))>
//
// The manager signs one token per allocation (lease x node); executors verify it with the shared
// secret, without asking the manager, so the manager stays off the invocation path. Verification
// compares MACs in constant time. All functions are thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hpcless::auth {

struct LeaseClaims {
  std::string lease_id;
  std::string node;
  std::vector<int> cores;
  uint64_t memory_mb = 0;  // 0 = no limit
  int64_t expires_at_ms = 0;  // Unix epoch milliseconds
  std::string transport = "tcp";
  int32_t hot_timeout_ms = -1;

  bool operator==(const LeaseClaims&) const = default;
};

// Throws ConfigError when the secret is shorter than 16 bytes.
void check_token_secret(std::string_view secret);

std::string sign_lease_token(const LeaseClaims& claims, std::string_view secret);

enum class TokenCheck { kOk, kMalformed, kBadSignature, kExpired };

struct VerifiedToken {
  TokenCheck result = TokenCheck::kMalformed;
  LeaseClaims claims;   // filled when the signature is valid (kOk or kExpired)
  std::string message;  // why the token was refused (empty when kOk)
};

// Never throws on bad input: a malformed token is a result, not an exception.
VerifiedToken verify_lease_token(std::string_view token, std::string_view secret, int64_t now_ms);

// Unix epoch milliseconds (lease expiries are wall-clock times shared between hosts).
int64_t unix_now_ms();

}  // namespace hpcless::auth
