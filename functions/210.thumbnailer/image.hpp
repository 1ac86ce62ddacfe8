// 210.thumbnailer: RGB images, JPEG (libjpeg) and PNG (libpng) codecs, area-average resizing and
// the synthetic input picture. Shared by the function package and hpcless_bench.
//
// Errors: decoding or encoding failures throw std::runtime_error with the codec's message (the
// libjpeg error handler returns through longjmp instead of exiting the process). All functions
// are reentrant: codec state lives on the caller's stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hpcless::bench::image {

enum class Format { kJpeg, kPng };
const char* to_string(Format f);  // "jpeg" | "png"
const char* extension(Format f);  // "jpg" | "png"

// 8-bit RGB, rows top to bottom, no padding.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
};

inline constexpr int64_t kMaxPixels = 200'000'000;  // refuse to decode anything larger

// By magic bytes; throws std::runtime_error for neither JPEG nor PNG.
Format sniff(std::string_view data);
Image decode(std::string_view data);  // JPEG or PNG, converted to RGB
Image decode_jpeg(std::string_view data);
Image decode_png(std::string_view data);
std::string encode(const Image& img, Format f);  // JPEG at kJpegQuality, PNG at zlib level 6
std::string encode_jpeg(const Image& img, int quality);
std::string encode_png(const Image& img);

inline constexpr int kJpegQuality = 85;       // thumbnails
inline constexpr int kInputJpegQuality = 92;  // generated inputs

// Size that fits in box_w x box_h keeping the aspect ratio (never larger than the source, never
// smaller than 1x1), as Pillow's Image.thumbnail().
std::pair<int, int> fit_box(int width, int height, int box_w, int box_h);

// Area-average (box filter with fractional coverage) resampling to width x height; for
// downscaling every source pixel contributes in proportion to the area it covers.
Image resize_area(const Image& src, int width, int height);

// A deterministic picture: colour gradients, filled circles and blended rectangles, with light
// per-pixel noise so that the codecs see natural-looking detail.
Image synthetic(int width, int height, uint64_t seed);

// Peak signal-to-noise ratio in dB over all channels (infinity for identical images).
double psnr(const Image& a, const Image& b);
// Largest per-channel difference.
int max_abs_diff(const Image& a, const Image& b);

}  // namespace hpcless::bench::image
