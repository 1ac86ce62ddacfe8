// How the MPI offloading example splits rows among ranks and workers
// (experiments/offload/tile_plan.hpp).
#include <gtest/gtest.h>

#include <vector>

#include "experiments/offload/tile_plan.hpp"

namespace off = hpcless::offload;

TEST(TilePlan, TilesCoverTheRowsWithAShorterLastTile) {
  EXPECT_EQ(off::tile_count(100, 16), 7u);
  EXPECT_EQ(off::tile_count(64, 16), 4u);
  EXPECT_EQ(off::tile_count(1, 1), 1u);
  EXPECT_EQ(off::tile_rows(100, 16, 0), 16u);
  EXPECT_EQ(off::tile_rows(100, 16, 6), 4u);
  EXPECT_EQ(off::tile_rows(64, 16, 3), 16u);
}

TEST(TilePlan, OffloadedTilesRoundHalfUpAndClamp) {
  EXPECT_EQ(off::offloaded_tiles(3, 0.0), 0u);
  EXPECT_EQ(off::offloaded_tiles(3, 0.5), 2u);  // 1.5 rounds away from zero
  EXPECT_EQ(off::offloaded_tiles(4, 0.25), 1u);
  EXPECT_EQ(off::offloaded_tiles(4, 0.1), 0u);
  EXPECT_EQ(off::offloaded_tiles(4, 1.0), 4u);
  EXPECT_EQ(off::offloaded_tiles(4, 0.99), 4u);
  EXPECT_EQ(off::offloaded_tiles(0, 0.5), 0u);
}

TEST(TilePlan, RanksOwnContiguousBalancedBlocksThatCoverEveryRowOnce) {
  for (uint32_t n : {1u, 7u, 100u, 1024u}) {
    for (uint32_t tile : {1u, 3u, 16u, 64u}) {
      if (tile > n) continue;
      for (uint32_t ranks : {1u, 2u, 3u, 5u}) {
        for (double f : {0.0, 0.25, 0.5, 1.0}) {
          uint32_t next_row = 0, next_tile = 0, min_tiles = ~0u, max_tiles = 0;
          for (uint32_t r = 0; r < ranks; ++r) {
            const off::RankPlan p = off::plan_rank(n, tile, ranks, r, f);
            EXPECT_EQ(p.first_tile, next_tile);
            EXPECT_EQ(p.row_begin, next_row);
            EXPECT_LE(p.offloaded, p.tiles);
            EXPECT_EQ(p.offloaded, off::offloaded_tiles(p.tiles, f));
            EXPECT_GE(p.local_row_begin, p.row_begin);
            EXPECT_LE(p.local_row_begin, p.row_end);
            if (p.offloaded == p.tiles) {
              EXPECT_EQ(p.local_rows(), 0u);
            }
            next_tile += p.tiles;
            next_row = p.row_end;
            min_tiles = std::min(min_tiles, p.tiles);
            max_tiles = std::max(max_tiles, p.tiles);
          }
          EXPECT_EQ(next_tile, off::tile_count(n, tile));
          EXPECT_EQ(next_row, n);
          EXPECT_LE(max_tiles - min_tiles, 1u);
        }
      }
    }
  }
}

TEST(TilePlan, HalfOfSevenTilesOnTwoRanks) {
  const off::RankPlan r0 = off::plan_rank(100, 16, 2, 0, 0.5);
  const off::RankPlan r1 = off::plan_rank(100, 16, 2, 1, 0.5);
  EXPECT_EQ(r0.tiles, 3u);
  EXPECT_EQ(r0.offloaded, 2u);
  EXPECT_EQ(r0.local_row_begin, 32u);
  EXPECT_EQ(r0.row_end, 48u);
  EXPECT_EQ(r1.tiles, 4u);
  EXPECT_EQ(r1.offloaded, 2u);
  EXPECT_EQ(r1.row_begin, 48u);
  EXPECT_EQ(r1.local_row_begin, 80u);
  EXPECT_EQ(r1.row_end, 100u);
}

TEST(TilePlan, MoreRanksThanTilesLeavesSomeRanksIdle) {
  uint32_t tiles = 0;
  for (uint32_t r = 0; r < 5; ++r) tiles += off::plan_rank(32, 16, 5, r, 1.0).tiles;
  EXPECT_EQ(tiles, 2u);
  EXPECT_EQ(off::plan_rank(32, 16, 5, 0, 1.0).tiles, 0u);
}
