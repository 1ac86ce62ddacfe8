// What every benchmark function package (functions/<id.name>/*_function.cpp) reads and writes
// alike: a JSON object as input with an optional "seed", and the output
// {"benchmark", "result", "measurement"}. Header-only because packages link only the function ABI.
//
// Thread safety: all functions are reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "comm/base/json.hpp"
#include "functions/abi/hpcless_function.hpp"

namespace hpcless::bench::package_io {

// Nanoseconds as the microseconds the measurement reports.
inline double us(uint64_t ns) { return static_cast<double>(ns) / 1e3; }

// The measurement of a benchmark that generates its input instead of downloading it and uploads
// nothing: generation ran in [g0, g1), the compute phase in [g1, g2).
inline nlohmann::json generated_input_measurement(uint64_t g0, uint64_t g1, uint64_t g2) {
  return {{"download_us", 0.0},  {"compute_us", us(g2 - g1)}, {"upload_us", 0.0},
          {"download_bytes", 0}, {"upload_bytes", 0},         {"generate_us", us(g1 - g0)}};
}

// Appends {"benchmark", "result", "measurement"} to `out`; fails the invocation when that exceeds
// the payload limit.
inline int append_output(fn::Context& ctx, fn::Output& out, const std::string& benchmark,
                         nlohmann::json result, nlohmann::json measurement) {
  const nlohmann::json doc = {{"benchmark", benchmark},
                              {"result", std::move(result)},
                              {"measurement", std::move(measurement)}};
  if (out.append(doc.dump())) return 0;
  return ctx.fail((benchmark + ": output exceeds the payload limit").c_str());
}

// `in` as a JSON object; std::invalid_argument naming `benchmark` otherwise.
inline nlohmann::json parse_input_object(std::span<const std::byte> in,
                                         const std::string& benchmark) {
  const auto* p = reinterpret_cast<const char*>(in.data());
  nlohmann::json j = nlohmann::json::parse(p, p + in.size(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw std::invalid_argument(benchmark + ": input is not valid JSON");
  if (!j.is_object()) throw std::invalid_argument(benchmark + ": input must be a JSON object");
  return j;
}

// Sets `seed` from the input's optional "seed" (left as it is when absent).
inline void read_seed(const nlohmann::json& input, const std::string& benchmark, uint64_t& seed) {
  if (const auto s = input.find("seed"); s != input.end()) {
    if (!s->is_number_unsigned())
      throw std::invalid_argument(benchmark + ": \"seed\" must be >= 0");
    seed = s->get<uint64_t>();
  }
}

}  // namespace hpcless::bench::package_io
