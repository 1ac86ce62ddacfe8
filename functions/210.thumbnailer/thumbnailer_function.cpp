// 210.thumbnailer: downloads images (JPEG or PNG), resizes each to fit a box keeping its aspect
// ratio (area averaging, image.hpp), encodes the thumbnail in the input's format and uploads it.
//
// Input (JSON): {"bucket": B (optional: the run's bucket), "inputs": [KEY, ...],
//                "output_prefix": P, "width": 200, "height": 200}
// Output (JSON): {"benchmark": "210.thumbnailer",
//                 "result": {"bucket", "thumbnails": [{"input", "key", "format", "source_width",
//                            "source_height", "width", "height", "bytes"}]},
//                 "measurement": {"download_us", "compute_us", "upload_us", "download_bytes",
//                                 "upload_bytes"}}
// Phases add up over the images: download = all gets, compute = decode + resize + encode,
// upload = all puts.
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "comm/base/json.hpp"
#include "functions/210.thumbnailer/image.hpp"
#include "functions/abi/hpcless_function.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;
using hpcless::fn::Phase;
using nlohmann::json;
namespace im = hpcless::bench::image;

constexpr const char* kUsage =
    "210.thumbnailer: input must be {\"bucket\": B, \"inputs\": [KEY, ...], \"output_prefix\": P, "
    "\"width\": W, \"height\": H} with 1 to 16 inputs and 1 <= W, H <= 4096";

double us(uint64_t ns) { return static_cast<double>(ns) / 1e3; }

int thumbnailer(Context& ctx, std::span<const std::byte> in, Output& out) {
  const auto j = json::parse(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()),
                             nullptr, /*allow_exceptions=*/false);
  auto dim = [&](const char* k) {
    return j.contains(k) && j[k].is_number_integer() && j[k].get<int64_t>() >= 1 &&
           j[k].get<int64_t>() <= 4096;
  };
  if (j.is_discarded() || !j.is_object() || !j.contains("inputs") || !j["inputs"].is_array() ||
      j["inputs"].empty() || j["inputs"].size() > 16 || !j.contains("output_prefix") ||
      !j["output_prefix"].is_string() || !dim("width") || !dim("height") ||
      (j.contains("bucket") && !j["bucket"].is_string()))
    return ctx.fail(kUsage);
  for (const auto& k : j["inputs"])
    if (!k.is_string()) return ctx.fail(kUsage);
  const std::string bucket = j.contains("bucket") ? j["bucket"].get<std::string>() : ctx.bucket();
  const int box_w = j["width"].get<int>(), box_h = j["height"].get<int>();
  // Unique per invocation (request ids restart on every connection, the clock does not).
  const std::string stem = j["output_prefix"].get<std::string>() + std::to_string(ctx.now_ns()) +
                           "-w" + std::to_string(ctx.worker_id()) + "-r" +
                           std::to_string(ctx.request_id());

  uint64_t download_ns = 0, compute_ns = 0, upload_ns = 0, download_bytes = 0, upload_bytes = 0;
  json thumbs = json::array();
  for (size_t i = 0; i < j["inputs"].size(); ++i) {
    const std::string key = j["inputs"][i].get<std::string>();
    uint64_t t0 = ctx.now_ns();
    std::string data;
    {
      Phase p(ctx, HPCLESS_PHASE_DOWNLOAD);
      data = ctx.get_object(bucket, key);
    }
    uint64_t t1 = ctx.now_ns();
    im::Format format;
    int src_w = 0, src_h = 0, w = 0, h = 0;
    std::string encoded;
    {
      Phase p(ctx, HPCLESS_PHASE_COMPUTE);
      format = im::sniff(data);
      const im::Image src = im::decode(data);
      src_w = src.width;
      src_h = src.height;
      std::tie(w, h) = im::fit_box(src.width, src.height, box_w, box_h);
      encoded = im::encode(im::resize_area(src, w, h), format);
    }
    uint64_t t2 = ctx.now_ns();
    const std::string out_key = stem + "-" + std::to_string(i) + "." + im::extension(format);
    {
      Phase p(ctx, HPCLESS_PHASE_UPLOAD);
      ctx.put_object(bucket, out_key, encoded);
    }
    uint64_t t3 = ctx.now_ns();
    download_ns += t1 - t0;
    compute_ns += t2 - t1;
    upload_ns += t3 - t2;
    download_bytes += data.size();
    upload_bytes += encoded.size();
    thumbs.push_back({{"input", key},
                      {"key", out_key},
                      {"format", im::to_string(format)},
                      {"source_width", src_w},
                      {"source_height", src_h},
                      {"width", w},
                      {"height", h},
                      {"bytes", encoded.size()}});
  }
  const json result = {{"benchmark", "210.thumbnailer"},
                       {"result", {{"bucket", bucket}, {"thumbnails", thumbs}}},
                       {"measurement",
                        {{"download_us", us(download_ns)},
                         {"compute_us", us(compute_ns)},
                         {"upload_us", us(upload_ns)},
                         {"download_bytes", download_bytes},
                         {"upload_bytes", upload_bytes}}}};
  return out.append(result.dump()) ? 0
                                   : ctx.fail("210.thumbnailer: output exceeds the payload limit");
}

}  // namespace

HPCLESS_PACKAGE("hpcless-bench-210-thumbnailer", HPCLESS_FUNCTION(thumbnailer))
