// Helpers for benchmark input generators and validators (client side, library hpcless_bench).
//
// Thread safety: all functions are reentrant.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "comm/base/json.hpp"
#include "functions/bench/benchmark.hpp"

namespace hpcless::bench {

inline std::string_view as_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// "<benchmark>/<size class>": where a storage benchmark keeps its objects of one size class.
inline std::string object_prefix(std::string_view benchmark, SizeClass s) {
  return std::string(benchmark) + "/" + std::string(to_string(s));
}

// SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

inline Validation valid() { return {true, {}}; }
inline Validation invalid(std::string why) { return {false, std::move(why)}; }

// Parses a function's JSON output; on failure returns false and sets `why` (with a short excerpt
// of the output, so that a wrong output is recognisable in the results).
bool parse_json_output(std::span<const std::byte> output, nlohmann::json& out, std::string& why);

// The first `max` characters of `text`, with "..." when cut (for messages).
std::string excerpt(std::string_view text, size_t max = 120);

// Throws ConfigError when the benchmark needs a storage service the run does not have.
void require_s3(const StorageAccess& storage, std::string_view benchmark);
void require_redis(const StorageAccess& storage, std::string_view benchmark);

}  // namespace hpcless::bench
