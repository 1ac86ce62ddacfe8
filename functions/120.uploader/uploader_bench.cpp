// 120.uploader, client side: generates and uploads the source object, validates the copy.
//
// Sizes follow SeBS's three downloads (230 kB jpg, 6.7 MB zip, 98 MB .pth): 230,000 /
// 6,700,000 / 98,000,000 bytes of deterministic pseudo-random data. The validator reads the
// object the function wrote and compares its SHA-256 with the generated data's; a correct copy is
// then deleted so that repeated runs do not fill the storage (a wrong one is kept to inspect).
#include <string>

#include "comm/base/json.hpp"
#include "comm/storage/s3_client.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/bench_util.hpp"
#include "functions/bench/det_rng.hpp"

namespace hpcless::bench {

namespace {

constexpr const char* kName = "120.uploader";

size_t object_bytes(SizeClass s) {
  return by_size_class<size_t>(s, 230'000, 6'700'000, 98'000'000);
}

std::string prefix(SizeClass s) { return object_prefix(kName, s); }

}  // namespace

void register_120(Registry& r) {
  r.add(benchmark_spec(
      kName, "uploader", "copies a 230 kB / 6.7 MB / 98 MB object between keys (S3)",
      Storage::kNeeded,
      [](SizeClass size, const StorageAccess& st) {
        require_s3(st, kName);
        const size_t n = object_bytes(size);
        const std::string data = DetRng(0x120 + static_cast<uint64_t>(size)).bytes(n);
        const std::string input = prefix(size) + "/input.bin";
        // Deterministic content: an object of the right size from an earlier prepare is reused.
        // (Validation checks the copy against the generated data, so a damaged source shows.)
        const auto head = st.s3->head_object(st.bucket, input);
        if (!head || head->size != n) st.s3->put_object(st.bucket, input, data);
        PreparedInput in;
        in.payload = nlohmann::json{{"bucket", st.bucket},
                                    {"input", input},
                                    {"output_prefix", prefix(size) + "/output/"}}
                         .dump();
        in.expected = nlohmann::json{{"size", n},
                                     {"sha256", sha256_hex(data)},
                                     {"output_prefix", prefix(size) + "/output/"}}
                          .dump();
        return in;
      },
      [](SizeClass, const PreparedInput& in, std::span<const std::byte> output,
         const StorageAccess& st) {
        require_s3(st, kName);
        const auto exp = nlohmann::json::parse(in.expected);
        nlohmann::json j;
        std::string why;
        if (!parse_json_output(output, j, why)) return invalid(why);
        if (!j.contains("key") || !j["key"].is_string() || !j.contains("bucket") ||
            !j["bucket"].is_string())
          return invalid("output lacks bucket/key: " + excerpt(as_text(output)));
        const std::string bucket = j["bucket"].get<std::string>();
        const std::string key = j["key"].get<std::string>();
        const std::string want_prefix = exp["output_prefix"].get<std::string>();
        if (key.rfind(want_prefix, 0) != 0)
          return invalid("output key '" + key + "' is not under '" + want_prefix + "'");
        const auto copy = st.s3->try_get_object(bucket, key);
        if (!copy)
          return invalid("the function's output object " + bucket + "/" + key + " is missing");
        const size_t n = exp["size"].get<size_t>();
        if (copy->size() != n)
          return invalid("copy has " + std::to_string(copy->size()) + " bytes, expected " +
                         std::to_string(n));
        const std::string sum = sha256_hex(*copy);
        if (sum != exp["sha256"].get<std::string>())
          return invalid("copy's SHA-256 " + sum + " differs from the input's " +
                         exp["sha256"].get<std::string>());
        st.s3->delete_object(bucket, key);
        return valid();
      }));
}

}  // namespace hpcless::bench
