// The wire format of `dgemm.tile` (functions/offload/dgemm_tile.cpp): one block of rows of
// C = A * B, computed by a leased worker for an MPI rank (experiments/offload, docs/offload.md).
//
// Input: a 32-byte header, then A's block (m x k doubles), then all of B (k x n doubles), both
// row-major. Header fields are explicitly serialized little-endian (no struct copies):
//     offset  0  u32 magic      kTileMagic
//             4  u16 version    kTileVersion
//             6  u16 flags      0 (reserved)
//             8  u32 m          rows of the A block and of C
//            12  u32 n          columns of B and of C
//            16  u32 k          columns of A, rows of B
//            20  12 bytes       reserved, zero
// Output: the C block (m x n doubles, row-major), nothing else.
// Doubles are IEEE 754 binary64 in little-endian byte order, the host order of the machines
// hpcless builds for (checked at compile time). The header is 32 bytes so that the matrices
// start 8-byte aligned whenever the input does.
//
// Header-only, so that the package (built with hidden visibility) and the MPI application share
// one definition without exporting it. No global state: safe from any thread.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace hpcless::offload {

static_assert(std::endian::native == std::endian::little,
              "dgemm.tile sends doubles in host order, which must be little-endian");

inline constexpr uint32_t kTileMagic = 0x4C54504Fu;  // "OPTL" in memory
inline constexpr uint16_t kTileVersion = 1;
inline constexpr size_t kTileHeaderBytes = 32;
// Largest m, n and k accepted: bounds the arithmetic below (products fit in 64 bits with room)
// and rejects nonsense headers before any allocation.
inline constexpr uint32_t kMaxTileDim = 16384;
// Largest input (and output) in bytes. Workers enforce their own payload limit (64 MiB by
// default), which is usually the tighter one.
inline constexpr uint64_t kMaxTileBytes = uint64_t{1} << 30;
inline constexpr const char* kTileFunction = "dgemm.tile";

// Malformed input or impossible sizes; what() is one line saying what is wrong.
class TileFormatError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct TileShape {
  uint32_t m = 0;  // rows of the block
  uint32_t n = 0;  // columns of B and C
  uint32_t k = 0;  // inner dimension
  bool operator==(const TileShape&) const = default;
};

inline uint64_t tile_input_bytes(const TileShape& s) noexcept {
  return kTileHeaderBytes + sizeof(double) * (uint64_t{s.m} * s.k + uint64_t{s.k} * s.n);
}
inline uint64_t tile_output_bytes(const TileShape& s) noexcept {
  return sizeof(double) * uint64_t{s.m} * s.n;
}

// Throws TileFormatError unless every dimension is in [1, kMaxTileDim] and input and output fit
// in kMaxTileBytes.
inline void check_tile_shape(const TileShape& s) {
  const auto dim = [](const char* name, uint32_t v) {
    if (v < 1 || v > kMaxTileDim)
      throw TileFormatError(std::string("dgemm.tile: ") + name + " = " + std::to_string(v) +
                            " is outside [1, " + std::to_string(kMaxTileDim) + "]");
  };
  dim("m", s.m);
  dim("n", s.n);
  dim("k", s.k);
  if (tile_input_bytes(s) > kMaxTileBytes || tile_output_bytes(s) > kMaxTileBytes)
    throw TileFormatError("dgemm.tile: a " + std::to_string(s.m) + "x" + std::to_string(s.k) +
                          " by " + std::to_string(s.k) + "x" + std::to_string(s.n) +
                          " tile needs more than " + std::to_string(kMaxTileBytes) + " bytes");
}

namespace detail {

inline void put_u32(std::byte* p, uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xffu);
}
inline void put_u16(std::byte* p, uint16_t v) noexcept {
  p[0] = static_cast<std::byte>(v & 0xffu);
  p[1] = static_cast<std::byte>(v >> 8);
}
inline uint32_t get_u32(const std::byte* p) noexcept {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}
inline uint16_t get_u16(const std::byte* p) noexcept {
  return static_cast<uint16_t>(static_cast<uint16_t>(p[0]) | (static_cast<uint16_t>(p[1]) << 8));
}

}  // namespace detail

// Writes the header of `s` (checked) into the first kTileHeaderBytes of `out`.
inline void write_tile_header(const TileShape& s, std::span<std::byte, kTileHeaderBytes> out) {
  check_tile_shape(s);
  std::memset(out.data(), 0, out.size());
  detail::put_u32(out.data() + 0, kTileMagic);
  detail::put_u16(out.data() + 4, kTileVersion);
  detail::put_u16(out.data() + 6, 0);
  detail::put_u32(out.data() + 8, s.m);
  detail::put_u32(out.data() + 12, s.n);
  detail::put_u32(out.data() + 16, s.k);
}

// Reads and checks a header: length, magic, version, flags, reserved bytes, dimensions.
inline TileShape read_tile_header(std::span<const std::byte> in) {
  if (in.size() < kTileHeaderBytes)
    throw TileFormatError("dgemm.tile: input of " + std::to_string(in.size()) +
                          " bytes is shorter than the " + std::to_string(kTileHeaderBytes) +
                          "-byte header");
  const std::byte* p = in.data();
  if (detail::get_u32(p) != kTileMagic)
    throw TileFormatError("dgemm.tile: bad magic (not a tile input)");
  if (const uint16_t v = detail::get_u16(p + 4); v != kTileVersion)
    throw TileFormatError("dgemm.tile: unsupported version " + std::to_string(v) + " (expected " +
                          std::to_string(kTileVersion) + ")");
  if (detail::get_u16(p + 6) != 0) throw TileFormatError("dgemm.tile: unknown flags set");
  for (size_t i = 20; i < kTileHeaderBytes; ++i)
    if (p[i] != std::byte{0}) throw TileFormatError("dgemm.tile: reserved header bytes not zero");
  TileShape s{detail::get_u32(p + 8), detail::get_u32(p + 12), detail::get_u32(p + 16)};
  check_tile_shape(s);
  return s;
}

// A decoded input: the shape and the raw bytes of A's block and of B (views into the input).
struct TileInput {
  TileShape shape;
  std::span<const std::byte> a;
  std::span<const std::byte> b;
};

// Checks the header and that the input is exactly header + A + B long.
inline TileInput decode_tile_input(std::span<const std::byte> in) {
  TileInput t;
  t.shape = read_tile_header(in);
  const uint64_t want = tile_input_bytes(t.shape);
  if (in.size() != want)
    throw TileFormatError("dgemm.tile: input is " + std::to_string(in.size()) + " bytes, but m=" +
                          std::to_string(t.shape.m) + " n=" + std::to_string(t.shape.n) +
                          " k=" + std::to_string(t.shape.k) + " needs " + std::to_string(want));
  const size_t a_bytes = sizeof(double) * size_t{t.shape.m} * t.shape.k;
  t.a = in.subspan(kTileHeaderBytes, a_bytes);
  t.b = in.subspan(kTileHeaderBytes + a_bytes);
  return t;
}

// Throws unless `bytes` is the size of the C block of `s`.
inline void check_tile_output(const TileShape& s, size_t bytes) {
  if (bytes != tile_output_bytes(s))
    throw TileFormatError("dgemm.tile: result of " + std::to_string(bytes) +
                          " bytes, expected " + std::to_string(tile_output_bytes(s)) + " (" +
                          std::to_string(s.m) + "x" + std::to_string(s.n) + " doubles)");
}

// Builds tile inputs for one B (k x n): B is copied into the buffer once, and each encode()
// rewrites only the header and A's rows in front of it (B moves only when m changes, e.g. for
// a shorter last tile). The returned span stays valid until the next encode(). `b` must
// outlive the encoder.
class TileEncoder {
 public:
  TileEncoder(uint32_t n, uint32_t k, std::span<const double> b) : n_(n), k_(k), b_(b) {
    if (b.size() != size_t{k} * n)
      throw TileFormatError("TileEncoder: B has " + std::to_string(b.size()) +
                            " elements, expected k*n = " + std::to_string(size_t{k} * n));
  }

  // `a` holds the block's m rows of k doubles.
  std::span<const std::byte> encode(std::span<const double> a, uint32_t m) {
    const TileShape s{m, n_, k_};
    check_tile_shape(s);
    if (a.size() != size_t{m} * k_)
      throw TileFormatError("TileEncoder: A block has " + std::to_string(a.size()) +
                            " elements, expected m*k = " + std::to_string(size_t{m} * k_));
    if (m != m_) {
      buf_.resize(tile_input_bytes(s));
      std::memcpy(buf_.data() + kTileHeaderBytes + a.size_bytes(), b_.data(), b_.size_bytes());
      m_ = m;
    }
    write_tile_header(s, std::span<std::byte, kTileHeaderBytes>(buf_.data(), kTileHeaderBytes));
    std::memcpy(buf_.data() + kTileHeaderBytes, a.data(), a.size_bytes());
    return buf_;
  }

 private:
  uint32_t n_, k_;
  std::span<const double> b_;
  uint32_t m_ = 0;  // rows of the layout in buf_ (0: none yet)
  std::vector<std::byte> buf_;
};

}  // namespace hpcless::offload
