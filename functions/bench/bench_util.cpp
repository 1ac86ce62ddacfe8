#include "functions/bench/bench_util.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <memory>

#include "comm/base/error.hpp"

namespace hpcless::bench {

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw Error("SHA-256 failed (OpenSSL EVP_Digest)");
  std::string hex;
  hex.reserve(2 * len);
  static const char* digits = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    hex += digits[md[i] >> 4];
    hex += digits[md[i] & 0xf];
  }
  return hex;
}

std::string excerpt(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "...";
}

bool parse_json_output(std::span<const std::byte> output, nlohmann::json& out, std::string& why) {
  out = nlohmann::json::parse(as_text(output), nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    why = "output is not JSON: '" + excerpt(as_text(output)) + "'";
    return false;
  }
  if (!out.is_object()) {
    why = "output is not a JSON object: '" + excerpt(as_text(output)) + "'";
    return false;
  }
  return true;
}

void require_s3(const StorageAccess& storage, std::string_view benchmark) {
  if (storage.s3 == nullptr || storage.bucket.empty())
    throw ConfigError(std::string(benchmark) +
                      " needs object storage: give --config FILE with a storage.s3 section that "
                      "names a bucket (e.g. config/local.json)");
}

void require_redis(const StorageAccess& storage, std::string_view benchmark) {
  if (storage.redis == nullptr)
    throw ConfigError(std::string(benchmark) +
                      " needs key-value storage: give --config FILE with a storage.redis section "
                      "(e.g. config/local.json)");
}

}  // namespace hpcless::bench
