// 010.sleep, client side: input per size class and output validation.
//
// SeBS sleeps 1 / 100 / 1000 s, so its large class exceeds its own default timeout. Here the
// classes are the same numbers in milliseconds: 1 ms (test), 100 ms (small), 1000 ms (large).
#include "comm/base/json.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/bench_util.hpp"

namespace hpcless::bench {

namespace {

uint64_t sleep_ms(SizeClass s) { return by_size_class<uint64_t>(s, 1, 100, 1000); }

}  // namespace

void register_010(Registry& r) {
  r.add(benchmark_spec(
      "010.sleep", "sleep", "sleeps 1 / 100 / 1000 ms (SeBS: the same in seconds)",
      Storage::kNotNeeded,
      [](SizeClass size, const StorageAccess&) {
        const uint64_t ms = sleep_ms(size);
        PreparedInput in;
        in.payload = nlohmann::json{{"sleep_ms", ms}}.dump();
        in.expected = std::to_string(ms);
        return in;
      },
      [](SizeClass, const PreparedInput& in, std::span<const std::byte> output,
         const StorageAccess&) {
        nlohmann::json j;
        std::string why;
        if (!parse_json_output(output, j, why)) return invalid(why);
        const uint64_t ms = std::stoull(in.expected);
        if (!j.contains("slept_ms") || !j["slept_ms"].is_number_unsigned() ||
            j["slept_ms"].get<uint64_t>() != ms)
          return invalid("slept_ms is not " + std::to_string(ms) + ": " + excerpt(as_text(output)));
        if (!j.contains("measured_ns") || !j["measured_ns"].is_number_unsigned())
          return invalid("measured_ns missing: " + excerpt(as_text(output)));
        const uint64_t ns = j["measured_ns"].get<uint64_t>();
        if (ns < ms * 1'000'000)
          return invalid("slept only " + std::to_string(ns) + " ns of " + std::to_string(ms) +
                         " ms");
        return valid();
      }));
}

}  // namespace hpcless::bench
