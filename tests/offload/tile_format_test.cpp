// The wire format of dgemm.tile (functions/offload/tile_format.hpp): layout, round trip, and a
// clear error for every kind of malformed input.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "functions/offload/tile_format.hpp"

namespace off = hpcless::offload;

namespace {

std::vector<double> iota_doubles(size_t n, double start) {
  std::vector<double> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

std::vector<std::byte> encoded(uint32_t m, uint32_t n, uint32_t k) {
  const auto a = iota_doubles(size_t{m} * k, 1);
  const auto b = iota_doubles(size_t{k} * n, 1000);
  off::TileEncoder enc(n, k, b);
  const auto s = enc.encode(a, m);
  return {s.begin(), s.end()};
}

// Expects decode_tile_input to throw TileFormatError whose message contains `part`.
void expect_rejected(const std::vector<std::byte>& in, const std::string& part) {
  try {
    off::decode_tile_input(in);
    FAIL() << "accepted an input that should fail with '" << part << "'";
  } catch (const off::TileFormatError& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("dgemm.tile: ", 0), 0u) << e.what();
  }
}

void put_u32(std::vector<std::byte>& in, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) in[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

}  // namespace

TEST(TileFormat, HeaderIsLittleEndianWithMagicVersionAndDimensions) {
  const auto in = encoded(3, 5, 4);
  ASSERT_EQ(in.size(), off::kTileHeaderBytes + 8 * (3 * 4 + 4 * 5));
  EXPECT_EQ(off::tile_input_bytes({3, 5, 4}), in.size());
  EXPECT_EQ(off::tile_output_bytes({3, 5, 4}), 8u * 3 * 5);
  // "OPTL", version 1, flags 0, m, n, k, reserved zero.
  const unsigned char expect[32] = {'O', 'P', 'T', 'L', 1, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0,
                                    4,   0,   0,   0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(std::memcmp(in.data(), expect, sizeof(expect)), 0);
}

TEST(TileFormat, RoundTripPlacesAThenB) {
  const auto in = encoded(3, 5, 4);
  const off::TileInput t = off::decode_tile_input(in);
  EXPECT_EQ(t.shape, (off::TileShape{3, 5, 4}));
  ASSERT_EQ(t.a.size(), 8u * 12);
  ASSERT_EQ(t.b.size(), 8u * 20);
  std::vector<double> a(12), b(20);
  std::memcpy(a.data(), t.a.data(), t.a.size());
  std::memcpy(b.data(), t.b.data(), t.b.size());
  EXPECT_EQ(a, iota_doubles(12, 1));
  EXPECT_EQ(b, iota_doubles(20, 1000));
}

TEST(TileFormat, EncoderKeepsBRightWhenTheTileHeightChanges) {
  const uint32_t n = 4, k = 3;
  const auto b = iota_doubles(size_t{k} * n, 500);
  off::TileEncoder enc(n, k, b);
  for (uint32_t m : {2u, 2u, 1u, 5u, 2u}) {
    const auto a = iota_doubles(size_t{m} * k, 10.0 * m);
    const auto s = enc.encode(a, m);
    const off::TileInput t = off::decode_tile_input(s);
    EXPECT_EQ(t.shape.m, m);
    std::vector<double> got_a(a.size()), got_b(b.size());
    std::memcpy(got_a.data(), t.a.data(), t.a.size());
    std::memcpy(got_b.data(), t.b.data(), t.b.size());
    EXPECT_EQ(got_a, a) << "m=" << m;
    EXPECT_EQ(got_b, b) << "m=" << m;
  }
}

TEST(TileFormat, EncoderRejectsWrongOperandSizes) {
  const auto b = iota_doubles(12, 0);
  EXPECT_THROW(off::TileEncoder(4, 4, b), off::TileFormatError);  // B must be k*n = 16
  off::TileEncoder enc(4, 3, b);
  const auto a = iota_doubles(5, 0);
  EXPECT_THROW(enc.encode(a, 2), off::TileFormatError);  // A must be m*k = 6
  EXPECT_THROW(enc.encode({}, 0), off::TileFormatError);  // m = 0
}

TEST(TileFormat, RejectsShortInputsAndForeignBytes) {
  expect_rejected({}, "shorter than the 32-byte header");
  expect_rejected(std::vector<std::byte>(31), "shorter than the 32-byte header");
  auto in = encoded(2, 2, 2);
  in[0] = std::byte{'X'};
  expect_rejected(in, "bad magic");
}

TEST(TileFormat, RejectsOtherVersionsFlagsAndReservedBytes) {
  auto in = encoded(2, 2, 2);
  in[4] = std::byte{2};
  expect_rejected(in, "unsupported version 2");
  in = encoded(2, 2, 2);
  in[6] = std::byte{1};
  expect_rejected(in, "unknown flags");
  in = encoded(2, 2, 2);
  in[31] = std::byte{1};
  expect_rejected(in, "reserved header bytes");
}

TEST(TileFormat, RejectsZeroAndOversizedDimensions) {
  auto in = encoded(2, 2, 2);
  put_u32(in, 8, 0);
  expect_rejected(in, "m = 0 is outside [1, 16384]");
  in = encoded(2, 2, 2);
  put_u32(in, 12, off::kMaxTileDim + 1);
  expect_rejected(in, "n = 16385");
  in = encoded(2, 2, 2);
  put_u32(in, 16, 0xffffffffu);
  expect_rejected(in, "k = 4294967295");
  // Each dimension allowed, but the product is over the byte limit: no allocation is tried.
  EXPECT_THROW(off::check_tile_shape({16384, 16384, 16384}), off::TileFormatError);
}

TEST(TileFormat, RejectsInputsWhoseLengthDoesNotMatchTheHeader) {
  auto in = encoded(3, 5, 4);
  in.pop_back();
  expect_rejected(in, "needs " + std::to_string(off::tile_input_bytes({3, 5, 4})));
  in = encoded(3, 5, 4);
  in.push_back(std::byte{0});
  expect_rejected(in, "m=3 n=5 k=4 needs");
  // A header claiming far more data than is there.
  in = encoded(1, 1, 1);
  put_u32(in, 8, 4096);
  expect_rejected(in, "m=4096 n=1 k=1 needs");
}

TEST(TileFormat, ChecksTheResultSize) {
  EXPECT_NO_THROW(off::check_tile_output({3, 5, 4}, 8 * 15));
  EXPECT_THROW(off::check_tile_output({3, 5, 4}, 8 * 15 - 1), off::TileFormatError);
  EXPECT_THROW(off::check_tile_output({3, 5, 4}, 0), off::TileFormatError);
}
