// 504.dna-visualisation, client side: generates and uploads the FASTA file, validates the result.
//
// Sizes: 1,000 / 1,000,000 / 4,200,000 bases (large is the genome size of B. subtilis, the file
// SeBS uses for every size). The validator reads the result object the function wrote, decodes
// it and compares every point with the transform computed here from the regenerated sequence;
// a correct result is then deleted so that repeated runs do not fill the storage (a wrong one is
// kept to inspect).
#include <string>

#include "comm/base/json.hpp"
#include "comm/storage/s3_client.hpp"
#include "functions/504.dna-visualisation/squiggle.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/bench_util.hpp"
#include "functions/bench/result_checks.hpp"

namespace hpcless::bench {

namespace {

using nlohmann::json;
constexpr const char* kName = "504.dna-visualisation";
constexpr uint64_t kSeed = 42;

size_t bases_for(SizeClass s) { return by_size_class<size_t>(s, 1'000, 1'000'000, 4'200'000); }

std::string prefix(SizeClass s) { return object_prefix(kName, s); }

Validation fail(std::string why) { return invalid(std::string(kName) + ": " + std::move(why)); }

PreparedInput prepare(SizeClass s, const StorageAccess& st) {
  require_s3(st, kName);
  const size_t bases = bases_for(s);
  const std::string fasta = squiggle::generate_fasta(bases, kSeed);
  const std::string input = prefix(s) + "/input.fasta";
  // Deterministic content: an object of the right size from an earlier prepare is reused
  // (validation compares with the regenerated sequence, so a damaged input shows).
  const auto head = st.s3->head_object(st.bucket, input);
  if (!head || head->size != fasta.size()) st.s3->put_object(st.bucket, input, fasta, "text/plain");
  PreparedInput in;
  in.payload =
      json{{"bucket", st.bucket}, {"input", input}, {"output_prefix", prefix(s) + "/output/"}}
          .dump();
  in.expected =
      json{{"bases", bases}, {"seed", kSeed}, {"output_prefix", prefix(s) + "/output/"}}.dump();
  return in;
}

Validation validate(SizeClass, const PreparedInput& in, std::span<const std::byte> output,
                    const StorageAccess& st) {
  require_s3(st, kName);
  const json exp = json::parse(in.expected);
  std::string why;
  const auto object = output_object(output, exp["output_prefix"].get<std::string>(), "result", why);
  if (!object) return fail(why);
  const json& r = object->result;
  const std::string& bucket = object->bucket;
  const std::string& key = object->key;

  const size_t bases = exp["bases"].get<size_t>();
  const auto ref = squiggle::transform_y2(
      squiggle::sequence_of(squiggle::generate_fasta(bases, exp["seed"].get<uint64_t>())));
  if (r.value("bases", json()) != json(bases) || r.value("points", json()) != json(ref.size()))
    return fail("result reports " + r.value("bases", json()).dump() + " bases / " +
                r.value("points", json()).dump() + " points, expected " + std::to_string(bases) +
                " / " + std::to_string(ref.size()));
  const auto obj = st.s3->try_get_object(bucket, key);
  if (!obj) return fail("the result object " + bucket + "/" + key + " is missing");
  const auto got = squiggle::decode(*obj, why);
  if (!got) return fail("result object " + key + ": " + why);
  if (got->size() != ref.size())
    return fail("result object holds " + std::to_string(got->size()) + " points, expected " +
                std::to_string(ref.size()));
  for (size_t k = 0; k < ref.size(); ++k)
    if ((*got)[k] != ref[k])
      return fail("point " + std::to_string(k) + " has y = " + json((*got)[k] / 2.0).dump() +
                  ", reference " + json(ref[k] / 2.0).dump());
  if (r.value("y_final", json()) != json(ref.back() / 2.0))
    return fail("result.y_final is " + r.value("y_final", json()).dump() + ", reference " +
                json(ref.back() / 2.0).dump());
  st.s3->delete_object(bucket, key);
  return valid();
}

}  // namespace

void register_504(Registry& r) {
  r.add(benchmark_spec(
      kName, "dna_visualisation",
      "squiggle transform of a generated FASTA of 1 kb / 1 Mb / 4.2 Mb (S3 in and out)",
      Storage::kNeeded, prepare, validate));
}

}  // namespace hpcless::bench
