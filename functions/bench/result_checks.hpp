// Checks shared by the validators of benchmarks whose output is {"result": {...}, ...}
// (client side, library hpcless_bench). Each returns what is wrong, so that the caller can prefix
// its benchmark's name; an empty string or nullopt means the check failed as described.
//
// Thread safety: all functions are reentrant.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "comm/base/json.hpp"
#include "functions/bench/benchmark.hpp"

namespace hpcless::bench {

// `v` as JSON prints it: the shortest form that reads back exactly (for messages).
inline std::string json_number(double v) { return nlohmann::json(v).dump(); }

// The "result" object of `output`, or nullopt when the output is not a JSON object holding one.
std::optional<nlohmann::json> result_object(std::span<const std::byte> output);

// "result.<k> is <value|missing>, expected <value>" for the first of `keys` whose value in
// `result` differs from the one in `expected`; empty when all agree.
std::string first_mismatch(const nlohmann::json& result, const nlohmann::json& expected,
                           std::initializer_list<const char*> keys);

// "result.<k> missing" for the first of `keys` that is not a number in `result`; empty otherwise.
std::string first_missing_number(const nlohmann::json& result,
                                 std::initializer_list<const char*> keys);

// True when result[key] is an array of exactly `size` elements.
bool holds_array(const nlohmann::json& result, const char* key, size_t size);

// True when `got` is a grid sample {"i", "j", "value": number} at the position of `want`.
bool is_grid_sample_at(const nlohmann::json& got, const nlohmann::json& want);

// The object a storage benchmark wrote: result.bucket and result.key.
struct OutputObject {
  nlohmann::json result;
  std::string bucket;
  std::string key;
};

// Reads `output` as {"result": {"bucket", "key", ...}} with the key under `prefix`; otherwise
// returns nullopt and sets `why`. `what` names the object in that message ("archive key ...").
std::optional<OutputObject> output_object(std::span<const std::byte> output,
                                          const std::string& prefix, std::string_view what,
                                          std::string& why);

}  // namespace hpcless::bench
