// 504.dna-visualisation: downloads a FASTA file, computes the squiggle transform of its sequence
// (squiggle.hpp documents the method and the result format) and uploads the result.
//
// Input (JSON): {"bucket": B (optional: the run's bucket), "input": KEY, "output_prefix": P}
// Output (JSON): {"benchmark": "504.dna-visualisation",
//                 "result": {"bucket", "key" (P + a per-invocation suffix), "bases", "points",
//                            "y_min", "y_max", "y_final", "result_bytes", "result_crc32"},
//                 "measurement": {"download_us", "compute_us", "upload_us", "download_bytes",
//                                 "upload_bytes"}}
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "comm/base/json.hpp"
#include "functions/504.dna-visualisation/squiggle.hpp"
#include "functions/abi/hpcless_function.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;
using hpcless::fn::Phase;
using nlohmann::json;
namespace sq = hpcless::bench::squiggle;

uint32_t crc32_of(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = reinterpret_cast<const Bytef*>(data.data());
  size_t left = data.size();
  while (left > 0) {  // zlib takes uInt lengths
    const uInt n = left > (1u << 30) ? (1u << 30) : static_cast<uInt>(left);
    crc = crc32(crc, p, n);
    p += n;
    left -= n;
  }
  return static_cast<uint32_t>(crc);
}

double us(uint64_t ns) { return static_cast<double>(ns) / 1e3; }

int dna_visualisation(Context& ctx, std::span<const std::byte> in, Output& out) {
  const auto j = json::parse(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()),
                             nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("input") || !j["input"].is_string() ||
      !j.contains("output_prefix") || !j["output_prefix"].is_string() ||
      (j.contains("bucket") && !j["bucket"].is_string()))
    return ctx.fail(
        "504.dna-visualisation: input must be {\"bucket\": B, \"input\": KEY, \"output_prefix\": "
        "P}");
  const std::string bucket = j.contains("bucket") ? j["bucket"].get<std::string>() : ctx.bucket();
  // Unique per invocation (request ids restart on every connection, the clock does not), so
  // that a validator never mistakes an older invocation's object for this one's.
  const std::string key = j["output_prefix"].get<std::string>() + std::to_string(ctx.now_ns()) +
                          "-w" + std::to_string(ctx.worker_id()) + "-r" +
                          std::to_string(ctx.request_id()) + ".squiggle";

  const uint64_t t0 = ctx.now_ns();
  std::string fasta;
  {
    Phase p(ctx, HPCLESS_PHASE_DOWNLOAD);
    fasta = ctx.get_object(bucket, j["input"].get<std::string>());
  }
  const uint64_t t1 = ctx.now_ns();
  std::string encoded;
  size_t bases = 0;
  int32_t y_min = 0, y_max = 0, y_final = 0;
  std::vector<int32_t> y2;
  {
    Phase p(ctx, HPCLESS_PHASE_COMPUTE);
    const std::string seq = sq::sequence_of(fasta);
    if (seq.size() > sq::kMaxBases)
      throw std::invalid_argument("504.dna-visualisation: more than " +
                                  std::to_string(sq::kMaxBases) + " bases");
    bases = seq.size();
    y2 = sq::transform_y2(seq);
    const auto [lo, hi] = std::minmax_element(y2.begin(), y2.end());
    y_min = *lo;
    y_max = *hi;
    y_final = y2.back();
    encoded = sq::encode(y2);
  }
  const uint64_t t2 = ctx.now_ns();
  {
    Phase p(ctx, HPCLESS_PHASE_UPLOAD);
    ctx.put_object(bucket, key, encoded);
  }
  const uint64_t t3 = ctx.now_ns();

  char crc[9];
  std::snprintf(crc, sizeof(crc), "%08x", crc32_of(encoded));
  const json result = {{"benchmark", "504.dna-visualisation"},
                       {"result",
                        {{"bucket", bucket},
                         {"key", key},
                         {"bases", bases},
                         {"points", y2.size()},
                         {"y_min", y_min / 2.0},
                         {"y_max", y_max / 2.0},
                         {"y_final", y_final / 2.0},
                         {"result_bytes", encoded.size()},
                         {"result_crc32", crc}}},
                       {"measurement",
                        {{"download_us", us(t1 - t0)},
                         {"compute_us", us(t2 - t1)},
                         {"upload_us", us(t3 - t2)},
                         {"download_bytes", fasta.size()},
                         {"upload_bytes", encoded.size()}}}};
  return out.append(result.dump())
             ? 0
             : ctx.fail("504.dna-visualisation: output exceeds the payload limit");
}

}  // namespace

HPCLESS_PACKAGE("hpcless-bench-504-dna-visualisation", HPCLESS_FUNCTION(dna_visualisation))
