#include "functions/210.thumbnailer/image.hpp"

// clang-format off
#include <csetjmp>
#include <cstdio>   // jpeglib.h needs FILE
#include <jpeglib.h>
#include <png.h>
// clang-format on

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "functions/bench/det_rng.hpp"

namespace hpcless::bench::image {

const char* to_string(Format f) { return f == Format::kJpeg ? "jpeg" : "png"; }
const char* extension(Format f) { return f == Format::kJpeg ? "jpg" : "png"; }

Format sniff(std::string_view d) {
  if (d.size() >= 3 && static_cast<uint8_t>(d[0]) == 0xff && static_cast<uint8_t>(d[1]) == 0xd8 &&
      static_cast<uint8_t>(d[2]) == 0xff)
    return Format::kJpeg;
  if (d.size() >= 8 && std::memcmp(d.data(), "\x89PNG\r\n\x1a\n", 8) == 0) return Format::kPng;
  throw std::runtime_error("image is neither JPEG nor PNG (" + std::to_string(d.size()) +
                           " bytes)");
}

Image decode(std::string_view data) {
  return sniff(data) == Format::kJpeg ? decode_jpeg(data) : decode_png(data);
}

std::string encode(const Image& img, Format f) {
  return f == Format::kJpeg ? encode_jpeg(img, kJpegQuality) : encode_png(img);
}

// ---- JPEG ---------------------------------------------------------------------------------------
// libjpeg reports errors through error_exit, which must not return: it longjmps back into the
// function that called setjmp. Only C objects live in those frames; results go through pointers
// to objects of the caller, so nothing with a destructor is skipped and no value is lost.

namespace {

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegError*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

void jpeg_quiet(j_common_ptr) {}  // warnings (corrupt-data notices) are not printed

// Returns false with `message` set on failure. `out` is resized once the size is known.
bool jpeg_decode_c(const unsigned char* data, size_t len, Image* out, char* message) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.output_message = jpeg_quiet;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    std::memcpy(message, err.message, sizeof(err.message));
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(len));
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_RGB;
  if (static_cast<int64_t>(cinfo.image_width) * cinfo.image_height > kMaxPixels) {
    jpeg_destroy_decompress(&cinfo);
    std::snprintf(message, JMSG_LENGTH_MAX, "JPEG of %ux%u pixels is larger than the limit",
                  cinfo.image_width, cinfo.image_height);
    return false;
  }
  jpeg_start_decompress(&cinfo);
  if (cinfo.output_components != 3) {
    jpeg_destroy_decompress(&cinfo);
    std::snprintf(message, JMSG_LENGTH_MAX, "JPEG decodes to %d components, not RGB",
                  cinfo.output_components);
    return false;
  }
  out->width = static_cast<int>(cinfo.output_width);
  out->height = static_cast<int>(cinfo.output_height);
  try {
    out->rgb.resize(static_cast<size_t>(out->width) * out->height * 3);
  } catch (...) {  // nothing may escape with libjpeg's state still allocated
    jpeg_destroy_decompress(&cinfo);
    std::snprintf(message, JMSG_LENGTH_MAX, "out of memory for %dx%d pixels", out->width,
                  out->height);
    return false;
  }
  const size_t stride = static_cast<size_t>(out->width) * 3;
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out->rgb.data() + cinfo.output_scanline * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

// Returns false with `message` set on failure; on success *buf/*size is a malloc'ed buffer that
// the caller frees.
bool jpeg_encode_c(const Image* img, int quality, unsigned char** buf, unsigned long* size,
                   char* message) {
  jpeg_compress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.output_message = jpeg_quiet;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    std::memcpy(message, err.message, sizeof(err.message));
    return false;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, buf, size);
  cinfo.image_width = static_cast<JDIMENSION>(img->width);
  cinfo.image_height = static_cast<JDIMENSION>(img->height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  const size_t stride = static_cast<size_t>(img->width) * 3;
  while (cinfo.next_scanline < cinfo.image_height) {
    // libjpeg's API is not const-correct; it only reads the rows.
    JSAMPROW row = const_cast<JSAMPLE*>(img->rgb.data() + cinfo.next_scanline * stride);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return true;
}

void check_image(const Image& img) {
  if (img.width < 1 || img.height < 1 ||
      img.rgb.size() != static_cast<size_t>(img.width) * img.height * 3)
    throw std::invalid_argument("image of " + std::to_string(img.width) + "x" +
                                std::to_string(img.height) + " has " +
                                std::to_string(img.rgb.size()) + " bytes of RGB");
}

}  // namespace

Image decode_jpeg(std::string_view data) {
  Image img;
  char message[JMSG_LENGTH_MAX] = {};
  if (!jpeg_decode_c(reinterpret_cast<const unsigned char*>(data.data()), data.size(), &img,
                     message))
    throw std::runtime_error(std::string("JPEG decode failed: ") + message);
  return img;
}

std::string encode_jpeg(const Image& img, int quality) {
  check_image(img);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  char message[JMSG_LENGTH_MAX] = {};
  const bool ok = jpeg_encode_c(&img, quality, &buf, &size, message);
  std::string out;
  if (ok) out.assign(reinterpret_cast<const char*>(buf), size);
  std::free(buf);  // jpeg_mem_dest's buffer (also after a failure)
  if (!ok) throw std::runtime_error(std::string("JPEG encode failed: ") + message);
  return out;
}

// ---- PNG: libpng's simplified API reports errors by return value -----------------------------

Image decode_png(std::string_view data) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, data.data(), data.size()))
    throw std::runtime_error(std::string("PNG decode failed: ") + png.message);
  if (static_cast<int64_t>(png.width) * png.height > kMaxPixels) {
    png_image_free(&png);
    throw std::runtime_error("PNG of " + std::to_string(png.width) + "x" +
                             std::to_string(png.height) + " pixels is larger than the limit");
  }
  png.format = PNG_FORMAT_RGB;
  Image img;
  img.width = static_cast<int>(png.width);
  img.height = static_cast<int>(png.height);
  try {
    img.rgb.resize(PNG_IMAGE_SIZE(png));
  } catch (...) {
    png_image_free(&png);
    throw;
  }
  if (!png_image_finish_read(&png, nullptr, img.rgb.data(), 0, nullptr))
    throw std::runtime_error(std::string("PNG decode failed: ") + png.message);
  return img;
}

std::string encode_png(const Image& img) {
  check_image(img);
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(img.width);
  png.height = static_cast<png_uint_32>(img.height);
  png.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, img.rgb.data(), 0, nullptr))
    throw std::runtime_error(std::string("PNG encode failed: ") + png.message);
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&png, out.data(), &size, 0, img.rgb.data(), 0, nullptr))
    throw std::runtime_error(std::string("PNG encode failed: ") + png.message);
  out.resize(size);
  return out;
}

// ---- geometry and resampling ------------------------------------------------------------------

std::pair<int, int> fit_box(int width, int height, int box_w, int box_h) {
  if (width <= box_w && height <= box_h) return {width, height};
  const double scale =
      std::min(static_cast<double>(box_w) / width, static_cast<double>(box_h) / height);
  const int w = std::clamp(static_cast<int>(std::lround(width * scale)), 1, box_w);
  const int h = std::clamp(static_cast<int>(std::lround(height * scale)), 1, box_h);
  return {w, h};
}

namespace {

// For each output position, the source positions it covers and their weights (summing to 1).
struct Taps {
  std::vector<int> first;  // per output: index into src/weight
  std::vector<int> count;
  std::vector<int> src;
  std::vector<float> weight;
};

Taps area_taps(int in, int out) {
  Taps t;
  const double scale = static_cast<double>(in) / out;  // source pixels per output pixel
  for (int o = 0; o < out; ++o) {
    const double lo = o * scale, hi = (o + 1) * scale;
    t.first.push_back(static_cast<int>(t.src.size()));
    const int s0 = static_cast<int>(std::floor(lo));
    const int s1 = std::min(in, static_cast<int>(std::ceil(hi)));
    for (int s = s0; s < s1; ++s) {
      const double cover = std::min<double>(s + 1, hi) - std::max<double>(s, lo);
      if (cover <= 0) continue;
      t.src.push_back(s);
      t.weight.push_back(static_cast<float>(cover / scale));
    }
    t.count.push_back(static_cast<int>(t.src.size()) - t.first.back());
  }
  return t;
}

}  // namespace

Image resize_area(const Image& src, int width, int height) {
  check_image(src);
  if (width < 1 || height < 1) throw std::invalid_argument("resize to an empty image");
  const Taps tx = area_taps(src.width, width), ty = area_taps(src.height, height);
  // Horizontal pass: src.height rows of `width` pixels, in float.
  std::vector<float> mid(static_cast<size_t>(src.height) * width * 3);
  for (int y = 0; y < src.height; ++y) {
    const uint8_t* row = src.rgb.data() + static_cast<size_t>(y) * src.width * 3;
    float* m = mid.data() + static_cast<size_t>(y) * width * 3;
    for (int x = 0; x < width; ++x) {
      float r = 0, g = 0, b = 0;
      for (int k = tx.first[x]; k < tx.first[x] + tx.count[x]; ++k) {
        const uint8_t* p = row + static_cast<size_t>(tx.src[k]) * 3;
        r += tx.weight[k] * p[0];
        g += tx.weight[k] * p[1];
        b += tx.weight[k] * p[2];
      }
      m[x * 3] = r;
      m[x * 3 + 1] = g;
      m[x * 3 + 2] = b;
    }
  }
  // Vertical pass, rounded to 8 bits.
  Image out;
  out.width = width;
  out.height = height;
  out.rgb.resize(static_cast<size_t>(width) * height * 3);
  std::vector<float> acc(static_cast<size_t>(width) * 3);
  for (int y = 0; y < height; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int k = ty.first[y]; k < ty.first[y] + ty.count[y]; ++k) {
      const float* m = mid.data() + static_cast<size_t>(ty.src[k]) * width * 3;
      for (size_t i = 0; i < acc.size(); ++i) acc[i] += ty.weight[k] * m[i];
    }
    uint8_t* o = out.rgb.data() + static_cast<size_t>(y) * width * 3;
    for (size_t i = 0; i < acc.size(); ++i)
      o[i] = static_cast<uint8_t>(std::clamp(static_cast<int>(acc[i] + 0.5f), 0, 255));
  }
  return out;
}

// ---- synthetic picture and metrics --------------------------------------------------------------

Image synthetic(int width, int height, uint64_t seed) {
  if (width < 2 || height < 2)
    throw std::invalid_argument("synthetic image needs 2x2 pixels or more");
  Image img;
  img.width = width;
  img.height = height;
  img.rgb.resize(static_cast<size_t>(width) * height * 3);
  // Gradients: red across, green down, blue along the diagonal.
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      uint8_t* p = img.rgb.data() + (static_cast<size_t>(y) * width + x) * 3;
      p[0] = static_cast<uint8_t>(x * 255 / (width - 1));
      p[1] = static_cast<uint8_t>(y * 255 / (height - 1));
      p[2] = static_cast<uint8_t>((x + y) * 255 / (width + height - 2));
    }
  DetRng rng(seed);
  const int64_t dim = std::min(width, height);
  // Filled circles of random colours.
  for (int c = 0; c < 24; ++c) {
    const int64_t cx = static_cast<int64_t>(rng.below(static_cast<uint64_t>(width)));
    const int64_t cy = static_cast<int64_t>(rng.below(static_cast<uint64_t>(height)));
    const int64_t r = 1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(dim / 5 + 1)));
    const uint8_t col[3] = {static_cast<uint8_t>(rng.below(256)),
                            static_cast<uint8_t>(rng.below(256)),
                            static_cast<uint8_t>(rng.below(256))};
    for (int64_t y = std::max<int64_t>(0, cy - r); y < std::min<int64_t>(height, cy + r + 1); ++y)
      for (int64_t x = std::max<int64_t>(0, cx - r); x < std::min<int64_t>(width, cx + r + 1); ++x)
        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
          std::memcpy(img.rgb.data() + (static_cast<size_t>(y) * width + x) * 3, col, 3);
  }
  // Rectangles blended half-way with what is below.
  for (int k = 0; k < 12; ++k) {
    const int64_t x0 = static_cast<int64_t>(rng.below(static_cast<uint64_t>(width)));
    const int64_t y0 = static_cast<int64_t>(rng.below(static_cast<uint64_t>(height)));
    const int64_t x1 = std::min<int64_t>(
        width, x0 + 1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(width / 3 + 1))));
    const int64_t y1 = std::min<int64_t>(
        height, y0 + 1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(height / 3 + 1))));
    const int col[3] = {static_cast<int>(rng.below(256)), static_cast<int>(rng.below(256)),
                        static_cast<int>(rng.below(256))};
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = x0; x < x1; ++x) {
        uint8_t* p = img.rgb.data() + (static_cast<size_t>(y) * width + x) * 3;
        for (int ch = 0; ch < 3; ++ch) p[ch] = static_cast<uint8_t>((p[ch] + col[ch]) / 2);
      }
  }
  // Light noise, +-3 per channel, from one generator step per pixel.
  DetRng noise(seed ^ 0x6e6f697365ull);
  for (size_t i = 0; i < img.rgb.size(); i += 3) {
    const uint64_t v = noise.next();
    for (int ch = 0; ch < 3; ++ch) {
      const int d = static_cast<int>((v >> (8 * ch)) % 7) - 3;
      img.rgb[i + ch] = static_cast<uint8_t>(std::clamp(img.rgb[i + ch] + d, 0, 255));
    }
  }
  return img;
}

double psnr(const Image& a, const Image& b) {
  if (a.width != b.width || a.height != b.height || a.rgb.size() != b.rgb.size())
    throw std::invalid_argument("psnr of images of different sizes");
  double se = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) {
    const double d = static_cast<double>(a.rgb[i]) - b.rgb[i];
    se += d * d;
  }
  if (se == 0) return std::numeric_limits<double>::infinity();
  const double mse = se / static_cast<double>(a.rgb.size());
  return 10.0 * std::log10(255.0 * 255.0 / mse);
}

int max_abs_diff(const Image& a, const Image& b) {
  if (a.rgb.size() != b.rgb.size())
    throw std::invalid_argument("max_abs_diff of images of different sizes");
  int m = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i)
    m = std::max(m, std::abs(static_cast<int>(a.rgb[i]) - b.rgb[i]));
  return m;
}

}  // namespace hpcless::bench::image
