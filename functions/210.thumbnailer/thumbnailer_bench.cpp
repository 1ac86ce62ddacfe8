// 210.thumbnailer, client side: generates and uploads the input images, validates the thumbnails.
//
// Inputs: one synthetic picture (image.hpp) per size class, 320x240 / 1920x1080 / 7680x4320,
// uploaded as JPEG (quality 92) and as PNG; one invocation makes both thumbnails (200x200 box).
// Reference: the uploaded bytes decoded and resized here with the same code. The PNG thumbnail is
// lossless, so it must match the reference to within 1 per channel (float rounding); the JPEG
// thumbnail must reach kMinJpegPsnr against it. Correct thumbnails are deleted after validation
// so that repeated runs do not fill the storage (wrong ones are kept to inspect).
#include <string>
#include <vector>

#include "comm/base/json.hpp"
#include "comm/storage/s3_client.hpp"
#include "functions/210.thumbnailer/image.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/bench_util.hpp"

namespace hpcless::bench {

namespace {

using nlohmann::json;
constexpr const char* kName = "210.thumbnailer";
constexpr uint64_t kSeed = 42;
constexpr int kBox = 200;
// q85 thumbnails of the synthetic picture measure 30-33 dB (sharp coloured edges lose most in
// JPEG's 4:2:0 chroma); a wrong image (e.g. the colour negative: 6 dB) stays far below.
constexpr double kMinJpegPsnr = 25.0;

std::pair<int, int> picture_size(SizeClass s) {
  return by_size_class<std::pair<int, int>>(s, {320, 240}, {1920, 1080}, {7680, 4320});
}

std::string prefix(SizeClass s) { return object_prefix(kName, s); }

Validation fail(std::string why) { return invalid(std::string(kName) + ": " + std::move(why)); }

PreparedInput prepare(SizeClass s, const StorageAccess& st) {
  require_s3(st, kName);
  const auto [w, h] = picture_size(s);
  const image::Image picture = image::synthetic(w, h, kSeed);
  json inputs = json::array(), thumbs = json::array();
  for (image::Format f : {image::Format::kJpeg, image::Format::kPng}) {
    const std::string bytes = f == image::Format::kJpeg
                                  ? image::encode_jpeg(picture, image::kInputJpegQuality)
                                  : image::encode_png(picture);
    const std::string key = prefix(s) + "/input." + image::extension(f);
    st.s3->put_object(st.bucket, key, bytes, std::string("image/") + image::to_string(f));
    const image::Image decoded = image::decode(bytes);
    const auto [tw, th] = image::fit_box(decoded.width, decoded.height, kBox, kBox);
    const image::Image ref = image::resize_area(decoded, tw, th);
    inputs.push_back(key);
    thumbs.push_back({{"input", key},
                      {"format", image::to_string(f)},
                      {"source_width", decoded.width},
                      {"source_height", decoded.height},
                      {"width", tw},
                      {"height", th},
                      {"rgb", json::binary_t(ref.rgb)}});
  }
  PreparedInput in;
  in.payload = json{
      {"bucket", st.bucket},
      {"inputs", inputs},
      {"output_prefix", prefix(s) + "/output/"},
      {"width", kBox},
      {"height",
       kBox}}.dump();
  const auto cbor =
      json::to_cbor(json{{"output_prefix", prefix(s) + "/output/"}, {"thumbs", thumbs}});
  in.expected.assign(cbor.begin(), cbor.end());
  return in;
}

Validation validate(SizeClass, const PreparedInput& in, std::span<const std::byte> output,
                    const StorageAccess& st) {
  require_s3(st, kName);
  const json exp = json::from_cbor(in.expected);
  json out;
  std::string why;
  if (!parse_json_output(output, out, why)) return fail(why);
  if (!out.contains("result") || !out["result"].is_object() || !out["result"].contains("bucket") ||
      !out["result"]["bucket"].is_string() || !out["result"].contains("thumbnails") ||
      !out["result"]["thumbnails"].is_array())
    return fail("output lacks result.bucket/result.thumbnails: " + excerpt(as_text(output)));
  const std::string bucket = out["result"]["bucket"].get<std::string>();
  const json& got = out["result"]["thumbnails"];
  const json& want = exp["thumbs"];
  if (got.size() != want.size())
    return fail(std::to_string(got.size()) + " thumbnails, expected " +
                std::to_string(want.size()));
  const std::string want_prefix = exp["output_prefix"].get<std::string>();
  std::vector<std::string> keys;
  for (size_t i = 0; i < want.size(); ++i) {
    const json& g = got[i];
    const json& w = want[i];
    for (const char* k : {"input", "format", "source_width", "source_height", "width", "height"})
      if (!g.is_object() || !g.contains(k) || g[k] != w[k])
        return fail("thumbnail " + std::to_string(i) + ": " + k + " is " +
                    (g.is_object() && g.contains(k) ? g[k].dump() : "missing") + ", expected " +
                    w[k].dump());
    if (!g.contains("key") || !g["key"].is_string() ||
        g["key"].get<std::string>().rfind(want_prefix, 0) != 0)
      return fail("thumbnail " + std::to_string(i) + ": key is not under '" + want_prefix + "'");
    const std::string key = g["key"].get<std::string>();
    const auto obj = st.s3->try_get_object(bucket, key);
    if (!obj) return fail("thumbnail object " + bucket + "/" + key + " is missing");
    image::Image thumb;
    try {
      if (image::to_string(image::sniff(*obj)) != w["format"].get<std::string>())
        return fail("thumbnail " + key + " is not " + w["format"].get<std::string>());
      thumb = image::decode(*obj);
    } catch (const std::exception& e) {
      return fail("thumbnail " + key + ": " + e.what());
    }
    image::Image ref;
    ref.width = w["width"].get<int>();
    ref.height = w["height"].get<int>();
    ref.rgb = w["rgb"].get_binary();
    if (thumb.width != ref.width || thumb.height != ref.height)
      return fail("thumbnail " + key + " is " + std::to_string(thumb.width) + "x" +
                  std::to_string(thumb.height) + ", expected " + std::to_string(ref.width) + "x" +
                  std::to_string(ref.height));
    if (w["format"] == "png") {
      const int d = image::max_abs_diff(thumb, ref);
      if (d > 1)
        return fail("PNG thumbnail " + key + " differs from the reference by up to " +
                    std::to_string(d) + " per channel");
    } else {
      const double p = image::psnr(thumb, ref);
      if (!(p >= kMinJpegPsnr))
        return fail("JPEG thumbnail " + key + " has PSNR " + json(p).dump() +
                    " dB against the reference (minimum " + json(kMinJpegPsnr).dump() + ")");
    }
    keys.push_back(key);
  }
  for (const auto& k : keys) st.s3->delete_object(bucket, k);
  return valid();
}

}  // namespace

void register_210(Registry& r) {
  r.add(benchmark_spec(
      kName, "thumbnailer",
      "JPEG + PNG thumbnails (200x200 box) of a generated 320x240 / 1920x1080 / 7680x4320 picture "
      "(S3 in and out)",
      Storage::kNeeded, prepare, validate));
}

}  // namespace hpcless::bench
