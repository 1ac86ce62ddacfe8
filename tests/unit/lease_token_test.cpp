#include "comm/auth/lease_token.hpp"

#include <gtest/gtest.h>

#include "comm/base/error.hpp"

namespace hpcless::auth {
namespace {

constexpr std::string_view kSecret = "0123456789abcdef-test-secret";

LeaseClaims sample(int64_t exp_ms) {
  LeaseClaims c;
  c.lease_id = "L000007";
  c.node = "n1";
  c.cores = {2, 3};
  c.memory_mb = 512;
  c.expires_at_ms = exp_ms;
  c.hot_timeout_ms = 100;
  return c;
}

TEST(LeaseToken, RoundTripKeepsEveryClaim) {
  auto c = sample(2'000'000);
  auto t = sign_lease_token(c, kSecret);
  EXPECT_TRUE(t.starts_with("hpcl1."));
  auto v = verify_lease_token(t, kSecret, 1'000'000);
  ASSERT_EQ(v.result, TokenCheck::kOk) << v.message;
  EXPECT_EQ(v.claims, c);
  EXPECT_TRUE(v.message.empty());
}

TEST(LeaseToken, ExpiredTokenIsRecognisedAsSuch) {
  auto t = sign_lease_token(sample(1000), kSecret);
  auto v = verify_lease_token(t, kSecret, 1000);
  EXPECT_EQ(v.result, TokenCheck::kExpired);
  EXPECT_EQ(v.claims.lease_id, "L000007");
  EXPECT_NE(v.message.find("expired"), std::string::npos);
}

TEST(LeaseToken, WrongSecretIsBadSignature) {
  auto t = sign_lease_token(sample(2'000'000), kSecret);
  auto v = verify_lease_token(t, "another-secret-of-16-bytes", 1);
  EXPECT_EQ(v.result, TokenCheck::kBadSignature);
}

TEST(LeaseToken, AnyAlteredCharacterIsRefused) {
  auto t = sign_lease_token(sample(2'000'000), kSecret);
  // Flip every character after the prefix in turn: none may still verify.
  for (size_t i = 6; i < t.size(); ++i) {
    if (t[i] == '.') continue;
    std::string forged = t;
    forged[i] = forged[i] == 'A' ? 'B' : 'A';
    auto v = verify_lease_token(forged, kSecret, 1);
    EXPECT_NE(v.result, TokenCheck::kOk) << "position " << i;
  }
}

TEST(LeaseToken, ClaimsWithAnotherLeaseButOldMacAreRefused) {
  auto a = sign_lease_token(sample(2'000'000), kSecret);
  auto other = sample(2'000'000);
  other.cores = {0, 1, 2, 3};  // an attacker widening the grant
  auto b = sign_lease_token(other, "a-different-secret-value");
  std::string spliced = b.substr(0, b.rfind('.')) + a.substr(a.rfind('.'));
  EXPECT_EQ(verify_lease_token(spliced, kSecret, 1).result, TokenCheck::kBadSignature);
}

TEST(LeaseToken, GarbageIsMalformedNotAnException) {
  for (std::string_view junk : {"", "hpcl1.", "hpcl1..", "hpcl1.abc", "hpcl1.!!!.###", "Bearer x",
                                "hpcl1.e30.AAAA"}) {
    auto v = verify_lease_token(junk, kSecret, 1);
    EXPECT_NE(v.result, TokenCheck::kOk) << junk;
    EXPECT_FALSE(v.message.empty());
  }
  std::string huge(10000, 'a');
  EXPECT_EQ(verify_lease_token("hpcl1." + huge, kSecret, 1).result, TokenCheck::kMalformed);
}

TEST(LeaseToken, ShortSecretIsAConfigError) {
  EXPECT_THROW(check_token_secret("short"), ConfigError);
  EXPECT_THROW(sign_lease_token(sample(1), "short"), ConfigError);
  EXPECT_NE(verify_lease_token(sign_lease_token(sample(5), kSecret), "short", 1).result,
            TokenCheck::kOk);
}

}  // namespace
}  // namespace hpcless::auth
