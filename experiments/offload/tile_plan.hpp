// How the MPI offloading example splits C = A * B (n x n) among ranks and workers:
//   - rows of C are cut into tiles of `tile` rows (the last one may be shorter);
//   - rank r of R owns the contiguous tiles [r*T/R, (r+1)*T/R) of the T tiles (block
//     distribution: counts differ by at most one);
//   - of its tiles, a rank offloads the first round(fraction * count) to leased workers and
//     computes the rest itself, as one DGEMM over their contiguous rows.
// Header-only and pure (unit-tested without MPI).
#pragma once

#include <cmath>
#include <cstdint>

namespace hpcless::offload {

struct RankPlan {
  uint32_t first_tile = 0;  // this rank's tiles: [first_tile, first_tile + tiles)
  uint32_t tiles = 0;
  uint32_t offloaded = 0;   // the first `offloaded` of them go to workers
  uint32_t row_begin = 0;   // rows of C this rank produces: [row_begin, row_end)
  uint32_t row_end = 0;
  uint32_t local_row_begin = 0;  // rows computed locally: [local_row_begin, row_end)

  uint32_t rows() const noexcept { return row_end - row_begin; }
  uint32_t local_rows() const noexcept { return row_end - local_row_begin; }
};

inline uint32_t tile_count(uint32_t n, uint32_t tile) noexcept {
  return tile == 0 ? 0 : (n + tile - 1) / tile;
}

inline uint32_t tile_row_begin(uint32_t n, uint32_t tile, uint32_t t) noexcept {
  const uint64_t r = uint64_t{t} * tile;
  return r > n ? n : static_cast<uint32_t>(r);
}

// Rows of tile t (tile = the nominal height; the last tile may be shorter).
inline uint32_t tile_rows(uint32_t n, uint32_t tile, uint32_t t) noexcept {
  return tile_row_begin(n, tile, t + 1) - tile_row_begin(n, tile, t);
}

// Tiles offloaded out of `count`: round half away from zero, clamped to [0, count].
inline uint32_t offloaded_tiles(uint32_t count, double fraction) noexcept {
  if (!(fraction > 0)) return 0;
  if (fraction >= 1) return count;
  const double v = std::round(fraction * count);
  return v >= count ? count : static_cast<uint32_t>(v);
}

// ranks >= 1, rank < ranks, tile >= 1.
inline RankPlan plan_rank(uint32_t n, uint32_t tile, uint32_t ranks, uint32_t rank,
                          double fraction) noexcept {
  const uint32_t total = tile_count(n, tile);
  RankPlan p;
  p.first_tile = static_cast<uint32_t>(uint64_t{total} * rank / ranks);
  const auto end = static_cast<uint32_t>(uint64_t{total} * (rank + 1) / ranks);
  p.tiles = end - p.first_tile;
  p.offloaded = offloaded_tiles(p.tiles, fraction);
  p.row_begin = tile_row_begin(n, tile, p.first_tile);
  p.row_end = tile_row_begin(n, tile, end);
  p.local_row_begin = tile_row_begin(n, tile, p.first_tile + p.offloaded);
  return p;
}

}  // namespace hpcless::offload
