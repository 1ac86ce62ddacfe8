// 120.uploader: copies an object between keys of the object storage (SeBS 120.uploader downloads
// a URL and uploads it; without internet access the source is an object the run prepared).
// Input: {"bucket": B (optional: the run's bucket), "input": KEY, "output_prefix": PREFIX}.
// Output: {"bucket": B, "key": KEY', "size": N} where KEY' = PREFIX + a per-invocation suffix.
#include <string>

#include "comm/base/json.hpp"
#include "functions/abi/hpcless_function.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;
using hpcless::fn::Phase;

int uploader(Context& ctx, std::span<const std::byte> in, Output& out) {
  const auto j = nlohmann::json::parse(
      std::string_view(reinterpret_cast<const char*>(in.data()), in.size()), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("input") || !j["input"].is_string() ||
      !j.contains("output_prefix") || !j["output_prefix"].is_string())
    return ctx.fail(
        "120.uploader: input must be {\"bucket\": B, \"input\": KEY, \"output_prefix\": P}");
  const std::string bucket = j.contains("bucket") && j["bucket"].is_string()
                                 ? j["bucket"].get<std::string>()
                                 : ctx.bucket();
  // Unique per invocation: request ids restart on every connection, the clock does not.
  const std::string key = j["output_prefix"].get<std::string>() + std::to_string(ctx.now_ns()) +
                          "-w" + std::to_string(ctx.worker_id()) + "-r" +
                          std::to_string(ctx.request_id());
  std::string data;
  {
    Phase p(ctx, HPCLESS_PHASE_DOWNLOAD);
    data = ctx.get_object(bucket, j["input"].get<std::string>());
  }
  {
    Phase p(ctx, HPCLESS_PHASE_UPLOAD);
    ctx.put_object(bucket, key, data);
  }
  nlohmann::json r;
  r["bucket"] = bucket;
  r["key"] = key;
  r["size"] = data.size();
  return out.append(r.dump()) ? 0 : ctx.fail("120.uploader: output too large");
}

}  // namespace

HPCLESS_PACKAGE("bench-120-uploader", HPCLESS_NAMED_FUNCTION("uploader", uploader))
