#include "functions/bench/result_checks.hpp"

#include "functions/bench/bench_util.hpp"

namespace hpcless::bench {

using nlohmann::json;

std::optional<json> result_object(std::span<const std::byte> output) {
  json out = json::parse(as_text(output), nullptr, /*allow_exceptions=*/false);
  if (!out.is_object() || !out.contains("result") || !out["result"].is_object())
    return std::nullopt;
  return std::move(out["result"]);  // no copy: a result may hold an array per vertex
}

std::string first_mismatch(const json& result, const json& expected,
                           std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (!result.contains(k) || result[k] != expected[k])
      return std::string("result.") + k + " is " +
             (result.contains(k) ? result[k].dump() : "missing") + ", expected " +
             expected[k].dump();
  return {};
}

std::string first_missing_number(const json& result, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (!result.contains(k) || !result[k].is_number())
      return std::string("result.") + k + " missing";
  return {};
}

bool holds_array(const json& result, const char* key, size_t size) {
  return result.contains(key) && result[key].is_array() && result[key].size() == size;
}

bool is_grid_sample_at(const json& got, const json& want) {
  return got.is_object() && got.contains("i") && got["i"] == want["i"] && got.contains("j") &&
         got["j"] == want["j"] && got.contains("value") && got["value"].is_number();
}

std::optional<OutputObject> output_object(std::span<const std::byte> output,
                                          const std::string& prefix, std::string_view what,
                                          std::string& why) {
  json out;
  if (!parse_json_output(output, out, why)) return std::nullopt;
  if (!out.contains("result") || !out["result"].is_object()) {
    why = "output has no \"result\"";
    return std::nullopt;
  }
  OutputObject o{std::move(out["result"]), {}, {}};
  const json& r = o.result;
  if (!r.contains("bucket") || !r["bucket"].is_string() || !r.contains("key") ||
      !r["key"].is_string()) {
    why = "result lacks bucket/key: " + excerpt(as_text(output));
    return std::nullopt;
  }
  o.bucket = r["bucket"].get<std::string>();
  o.key = r["key"].get<std::string>();
  if (o.key.rfind(prefix, 0) != 0) {
    why = std::string(what) + " key '" + o.key + "' is not under '" + prefix + "'";
    return std::nullopt;
  }
  return o;
}

}  // namespace hpcless::bench
