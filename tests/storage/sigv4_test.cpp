// SigV4 against the worked examples AWS publishes for S3 ("Examples: Signature Calculations in
// AWS Signature Version 4", header-based authentication) and the signing-key example of the
// general SigV4 documentation. s3rver does not verify SigV4 signatures (it only checks the access
// key id), so these vectors are what proves the signer right.
#include "comm/storage/sigv4.hpp"

#include <gtest/gtest.h>

namespace sv = hpcless::storage::sigv4;

namespace {

const sv::Credentials kCreds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                             "us-east-1", "s3"};
constexpr const char* kDate = "20130524T000000Z";
constexpr const char* kHost = "examplebucket.s3.amazonaws.com";

}  // namespace

TEST(SigV4, GetObjectWithRange) {
  sv::Request r;
  r.method = "GET";
  r.canonical_uri = "/test.txt";
  r.headers = {{"Host", kHost},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", std::string(sv::kEmptySha256)},
               {"x-amz-date", kDate}};
  r.payload_hash = std::string(sv::kEmptySha256);
  EXPECT_EQ(
      sv::canonical_request(r),
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sv::string_to_sign(r, kCreds, kDate),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(sv::authorization(r, kCreds, kDate),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, PutObjectEncodesDollarInKey) {
  const std::string body = "Welcome to Amazon S3.";
  const std::string hash = sv::sha256_hex(body);
  EXPECT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  sv::Request r;
  r.method = "PUT";
  r.canonical_uri = std::string("/").append(sv::uri_encode("test$file.text", false));
  EXPECT_EQ(r.canonical_uri, "/test%24file.text");
  r.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"Host", kHost},
               {"x-amz-date", kDate},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", hash}};
  r.payload_hash = hash;
  EXPECT_EQ(sv::sha256_hex(sv::canonical_request(r)),
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(sv::authorization(r, kCreds, kDate),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, GetBucketLifecycleSubresourceWithoutValue) {
  sv::Request r;
  r.method = "GET";
  r.query = {{"lifecycle", ""}};
  r.headers = {{"host", kHost},
               {"x-amz-date", kDate},
               {"x-amz-content-sha256", std::string(sv::kEmptySha256)}};
  r.payload_hash = std::string(sv::kEmptySha256);
  EXPECT_EQ(sv::canonical_query(r.query), "lifecycle=");
  EXPECT_EQ(sv::sha256_hex(sv::canonical_request(r)),
            "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
  EXPECT_NE(sv::authorization(r, kCreds, kDate)
                .find("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
            std::string::npos);
}

TEST(SigV4, ListObjectsSortsQuery) {
  sv::Request r;
  r.method = "GET";
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};  // deliberately unsorted
  r.headers = {{"host", kHost},
               {"x-amz-date", kDate},
               {"x-amz-content-sha256", std::string(sv::kEmptySha256)}};
  r.payload_hash = std::string(sv::kEmptySha256);
  EXPECT_EQ(sv::canonical_query(r.query), "max-keys=2&prefix=J");
  EXPECT_EQ(sv::sha256_hex(sv::canonical_request(r)),
            "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
  EXPECT_EQ(sv::authorization(r, kCreds, kDate),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
            "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, SigningKeyMatchesAwsExample) {
  const sv::Credentials c{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1",
                          "iam"};
  EXPECT_EQ(sv::hex(sv::signing_key(c, "20120215")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4, UriEncodingFollowsSigV4Rules) {
  EXPECT_EQ(sv::uri_encode("AZaz09-_.~", true), "AZaz09-_.~");
  EXPECT_EQ(sv::uri_encode("a b+c", true), "a%20b%2Bc");  // space is %20, never '+'
  EXPECT_EQ(sv::uri_encode("dir/sub/file name.txt", false), "dir/sub/file%20name.txt");
  EXPECT_EQ(sv::uri_encode("dir/x", true), "dir%2Fx");
  EXPECT_EQ(sv::uri_encode("\xc3\xa4\xe2\x82\xac", true), "%C3%A4%E2%82%AC");  // UTF-8 "ä€"
  EXPECT_EQ(sv::uri_encode("*=&?%", true), "%2A%3D%26%3F%25");
  EXPECT_EQ(sv::uri_decode("a%20b%2Fc+d%zz"), "a b/c d%zz");
}

TEST(SigV4, CanonicalQueryEncodesValuesAndSortsByEncodedName) {
  EXPECT_EQ(sv::canonical_query({{"uploadId", "a/b=c"}, {"partNumber", "3"}}),
            "partNumber=3&uploadId=a%2Fb%3Dc");
  EXPECT_EQ(sv::canonical_query({{"prefix", "x y"}, {"list-type", "2"}}),
            "list-type=2&prefix=x%20y");
  EXPECT_EQ(sv::canonical_query({}), "");
}

TEST(SigV4, HeaderValuesAreTrimmedAndCollapsed) {
  sv::Request r;
  r.method = "GET";
  r.headers = {{"X-Amz-Meta-A", "  one   two  "}, {"host", "h"}};
  r.payload_hash = "UNSIGNED-PAYLOAD";
  EXPECT_EQ(sv::canonical_request(r),
            "GET\n/\n\nhost:h\nx-amz-meta-a:one two\n\nhost;x-amz-meta-a\n"
            "UNSIGNED-PAYLOAD");
}

TEST(SigV4, DigestsAndDates) {
  EXPECT_EQ(sv::sha256_hex(""), sv::kEmptySha256);
  EXPECT_EQ(sv::base64("hello"), "aGVsbG8=");
  EXPECT_EQ(sv::md5_base64(""), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(sv::amz_date(1369353600), "20130524T000000Z");
}
