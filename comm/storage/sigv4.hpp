// AWS Signature Version 4 for S3 requests (header-based authorization).
//
// Implemented here instead of libcurl's CURLOPT_AWS_SIGV4 because libcurl 7.88 neither sends
// x-amz-content-sha256 nor canonicalises query strings the way S3 does; doing it ourselves keeps
// the signed bytes and the sent bytes under one roof and testable against AWS's published
// examples (tests/storage/sigv4_test.cpp).
//
// Pure functions, thread-safe.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hpcless::storage::sigv4 {

// SHA-256 of the empty string, the payload hash of requests without a body.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// URI encoding as SigV4 specifies: A-Z a-z 0-9 - _ . ~ stay, every other byte becomes %XX
// (uppercase hex). '/' stays when !encode_slash (object key paths), else becomes %2F.
std::string uri_encode(std::string_view s, bool encode_slash = true);
std::string uri_decode(std::string_view s);  // %XX and '+' -> space (for encoding-type=url)

std::string hex(std::string_view bytes);    // lowercase
std::string sha256(std::string_view data);  // raw 32 bytes
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string base64(std::string_view bytes);
std::string md5_base64(std::string_view data);  // Content-MD5 header value

// "20130524T000000Z" for a UTC time.
std::string amz_date(std::time_t t);

struct Request {
  std::string method;               // "GET", "PUT", ...
  std::string canonical_uri = "/";  // path, already URI-encoded once: "/bucket/my%20key"
  // Query parameters, NOT encoded (encoded and sorted while signing). Empty value: "?uploads".
  std::vector<std::pair<std::string, std::string>> query;
  // Headers to sign (must include "host" and "x-amz-date"; names any case, values trimmed and
  // inner space runs collapsed while signing).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_hash;  // hex SHA-256 of the body, or kUnsignedPayload
};

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string region;
  std::string service = "s3";
};

// The canonical query string: each name and value URI-encoded, sorted by name then value,
// joined with '&' ("lifecycle=" for a parameter without value).
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);

// "host;range;x-amz-content-sha256;x-amz-date"
std::string signed_headers(const Request& r);

// The six-part canonical request of the SigV4 specification.
std::string canonical_request(const Request& r);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical request>"
std::string string_to_sign(const Request& r, const Credentials& c, std::string_view amz_date);

// The signing key for a day ("20130524"), region and service.
std::string signing_key(const Credentials& c, std::string_view day);

// The value of the Authorization header. `amz_date` must equal the signed x-amz-date header.
std::string authorization(const Request& r, const Credentials& c, std::string_view amz_date);

}  // namespace hpcless::storage::sigv4
