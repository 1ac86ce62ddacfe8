// 311.compression: downloads a directory tree (listed in a manifest object), archives it as ustar
// (tar.hpp) and compresses the archive with zstd, then uploads the .tar.zst.
// SeBS zips a directory it downloads with its storage client's directory listing; the function
// ABI has no listing, so the input generator writes the listing as a manifest next to the tree.
//
// Input (JSON): {"bucket": B (optional: the run's bucket), "manifest": KEY, "output_prefix": P,
//                "level": 3 (zstd level, 1..19, optional)}
// Manifest (JSON object at KEY): {"root": "tree", "directories": ["tree", "tree/doc", ...],
//                                 "files": [{"path": "tree/doc/a.tex", "key": K, "size": N}, ...]}
// Output (JSON): {"benchmark": "311.compression",
//                 "result": {"bucket", "key" (P + a per-invocation suffix + ".tar.zst"), "files",
//                            "directories", "input_bytes", "tar_bytes", "compressed_bytes",
//                            "compression_ratio": tar_bytes / compressed_bytes, "level"},
//                 "measurement": {"download_us", "compute_us", "upload_us", "download_bytes",
//                                 "upload_bytes", "compression_ratio", "compress_mbps"}}
#include <zstd.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "comm/base/json.hpp"
#include "functions/311.compression/tar.hpp"
#include "functions/abi/hpcless_function.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;
using hpcless::fn::Phase;
using nlohmann::json;

constexpr const char* kUsage =
    "311.compression: input must be {\"bucket\": B, \"manifest\": KEY, \"output_prefix\": P, "
    "\"level\": 1..19}";

double us(uint64_t ns) { return static_cast<double>(ns) / 1e3; }

std::string zstd_compress(std::string_view data, int level) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  if (cctx == nullptr) throw std::runtime_error("311.compression: ZSTD_createCCtx failed");
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);  // the validator's decompression checks it
  const size_t n = ZSTD_compress2(cctx, out.data(), out.size(), data.data(), data.size());
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(n))
    throw std::runtime_error(std::string("311.compression: zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

int compression(Context& ctx, std::span<const std::byte> in, Output& out) {
  const auto j = json::parse(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()),
                             nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("manifest") || !j["manifest"].is_string() ||
      !j.contains("output_prefix") || !j["output_prefix"].is_string() ||
      (j.contains("bucket") && !j["bucket"].is_string()) ||
      (j.contains("level") && (!j["level"].is_number_integer() || j["level"].get<int>() < 1 ||
                               j["level"].get<int>() > 19)))
    return ctx.fail(kUsage);
  const std::string bucket = j.contains("bucket") ? j["bucket"].get<std::string>() : ctx.bucket();
  const int level = j.value("level", 3);
  // Unique per invocation (request ids restart on every connection, the clock does not).
  const std::string key = j["output_prefix"].get<std::string>() + std::to_string(ctx.now_ns()) +
                          "-w" + std::to_string(ctx.worker_id()) + "-r" +
                          std::to_string(ctx.request_id()) + ".tar.zst";

  const uint64_t t0 = ctx.now_ns();
  json manifest;
  std::vector<std::string> contents;
  uint64_t input_bytes = 0, download_bytes = 0;
  {
    Phase p(ctx, HPCLESS_PHASE_DOWNLOAD);
    const std::string text = ctx.get_object(bucket, j["manifest"].get<std::string>());
    download_bytes += text.size();
    manifest = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (manifest.is_discarded() || !manifest.is_object() || !manifest.contains("files") ||
        !manifest["files"].is_array() ||
        (manifest.contains("directories") && !manifest["directories"].is_array()))
      throw std::invalid_argument(
          "311.compression: the manifest is not {\"directories\": [...], "
          "\"files\": [{\"path\", \"key\"}, ...]}");
    for (const auto& f : manifest["files"]) {
      if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("key") ||
          !f["key"].is_string())
        throw std::invalid_argument("311.compression: a manifest entry lacks path/key");
      contents.push_back(ctx.get_object(bucket, f["key"].get<std::string>()));
      input_bytes += contents.back().size();
    }
    download_bytes += input_bytes;
  }
  const uint64_t t1 = ctx.now_ns();
  std::string compressed;
  size_t tar_bytes = 0, directories = 0;
  {
    Phase p(ctx, HPCLESS_PHASE_COMPUTE);
    hpcless::bench::tar::Writer tar;
    tar.reserve(input_bytes + (contents.size() + 64) * 2 * hpcless::bench::tar::kBlock);
    if (manifest.contains("directories"))
      for (const auto& d : manifest["directories"]) {
        if (!d.is_string())
          throw std::invalid_argument("311.compression: a directory is not a string");
        tar.add_directory(d.get<std::string>());
        ++directories;
      }
    for (size_t i = 0; i < contents.size(); ++i)
      tar.add_file(manifest["files"][i]["path"].get<std::string>(), contents[i]);
    const std::string archive = tar.finish();
    tar_bytes = archive.size();
    compressed = zstd_compress(archive, level);
  }
  const uint64_t t2 = ctx.now_ns();
  {
    Phase p(ctx, HPCLESS_PHASE_UPLOAD);
    ctx.put_object(bucket, key, compressed);
  }
  const uint64_t t3 = ctx.now_ns();

  const double ratio =
      compressed.empty() ? 0.0 : static_cast<double>(tar_bytes) / compressed.size();
  const double compute_s = static_cast<double>(t2 - t1) / 1e9;
  const json result = {{"benchmark", "311.compression"},
                       {"result",
                        {{"bucket", bucket},
                         {"key", key},
                         {"files", contents.size()},
                         {"directories", directories},
                         {"input_bytes", input_bytes},
                         {"tar_bytes", tar_bytes},
                         {"compressed_bytes", compressed.size()},
                         {"compression_ratio", ratio},
                         {"level", level}}},
                       {"measurement",
                        {{"download_us", us(t1 - t0)},
                         {"compute_us", us(t2 - t1)},
                         {"upload_us", us(t3 - t2)},
                         {"download_bytes", download_bytes},
                         {"upload_bytes", compressed.size()},
                         {"compression_ratio", ratio},
                         {"compress_mbps", compute_s > 0 ? tar_bytes / compute_s / 1e6 : 0.0}}}};
  return out.append(result.dump()) ? 0
                                   : ctx.fail("311.compression: output exceeds the payload limit");
}

}  // namespace

HPCLESS_PACKAGE("hpcless-bench-311-compression", HPCLESS_FUNCTION(compression))
