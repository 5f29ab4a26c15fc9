#include "plan/chunk_planner.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

constexpr uint64_t kG = 64 << 10;
constexpr uint64_t kRegion = 32;  // 2 MiB / 64 KiB

PlanOptions Opts() {
  PlanOptions o;
  o.min_chunk = kG;
  o.max_chunk = 2 << 20;
  o.hot_quantile = 0.5;
  return o;
}

// A granule's heat as a HeatMap with no half-life gives it: the weight is the count.
GranuleHeat Granule(uint64_t g, uint32_t count) { return {g, count, static_cast<double>(count)}; }

std::vector<GranuleHeat> Heat(std::initializer_list<std::pair<uint64_t, uint32_t>> list) {
  std::vector<GranuleHeat> out;
  for (auto [g, c] : list) out.push_back(Granule(g, c));
  return out;
}

TEST(ChunkPlannerTest, ColdVolumeIsCutIntoColdSizedAlignedChunks) {
  ChunkMap map(10 * kRegion * kG, kG);
  ChunkPlanner p(map, Opts());
  p.Replan({});
  EXPECT_TRUE(p.hot_order().empty());
  EXPECT_EQ(p.ChunkGranulesAt(5, kRegion), kRegion);
  EXPECT_EQ(p.ChunkGranulesAt(kRegion + 7, kRegion), kRegion);
  EXPECT_DOUBLE_EQ(p.HeatAt(5), 0.0);
  // A smaller cold size from the throughput sizer cuts smaller chunks; a size that is
  // not a power of two is rounded down, and one past the region is held to it.
  EXPECT_EQ(p.ChunkGranulesAt(5, 8), 8u);
  EXPECT_EQ(p.ChunkGranulesAt(5, 12), 8u);
  EXPECT_EQ(p.ChunkGranulesAt(5, 4 * kRegion), kRegion);
}

TEST(ChunkPlannerTest, HotRegionGetsMinimumChunksAndComesFirst) {
  ChunkMap map(10 * kRegion * kG, kG);
  ChunkPlanner p(map, Opts());
  // Region 3 wholly hot; region 7 has one warm granule.
  std::vector<GranuleHeat> heat;
  heat.push_back(Granule(7 * kRegion + 4, 1));
  for (uint64_t g = 3 * kRegion; g < 4 * kRegion; ++g) heat.push_back(Granule(g, 10));
  std::sort(heat.begin(), heat.end(), [](auto& a, auto& b) { return a.granule < b.granule; });
  p.Replan(heat);
  ASSERT_EQ(p.hot_order().size(), 2u);
  EXPECT_EQ(p.hot_order()[0].first_granule, 3 * kRegion);
  EXPECT_DOUBLE_EQ(p.hot_order()[0].heat, 10.0);
  EXPECT_DOUBLE_EQ(p.hot_order()[0].hotness, 1.0);
  EXPECT_EQ(p.hot_order()[1].first_granule, 7 * kRegion);
  EXPECT_EQ(p.ChunkGranulesAt(3 * kRegion + 5, kRegion), 1u);
  // One warm granule in 32: barely hot, so the cold size.
  EXPECT_EQ(p.ChunkGranulesAt(7 * kRegion, kRegion), kRegion);
  EXPECT_EQ(p.ChunkGranulesAt(0, kRegion), kRegion);
  EXPECT_DOUBLE_EQ(p.HeatAt(3 * kRegion + 9), 10.0);
  // The link's floor for hot chunks (ChunkGranulesAt's third argument) holds them up.
  EXPECT_EQ(p.ChunkGranulesAt(3 * kRegion + 5, kRegion, 4), 4u);
}

TEST(ChunkPlannerTest, HalfHotRegionGetsAnIntermediateSize) {
  ChunkMap map(kRegion * kG, kG);
  ChunkPlanner p(map, Opts());
  std::vector<GranuleHeat> heat;
  for (uint64_t g = 0; g < kRegion; g += 2) heat.push_back(Granule(g, 5));
  p.Replan(heat);
  // hotness 0.5: 32 * (1/32)^0.5 = 2^2.5, rounded to 2^3 (log2 2.5 rounds away from zero).
  EXPECT_EQ(p.ChunkGranulesAt(0, kRegion), 8u);
  // A quarter hot (half the granules warm): 32 * (1/32)^0.25 = 2^3.75 -> 16.
  ChunkMap map2(kRegion * kG, kG);
  ChunkPlanner p2(map2, Opts());
  std::vector<GranuleHeat> heat2;
  for (uint64_t g = 0; g < kRegion; g += 2) heat2.push_back(Granule(g, 1));
  heat2.push_back(Granule(1, 5));  // make the threshold 2 so the rest stay warm
  std::sort(heat2.begin(), heat2.end(), [](auto& a, auto& b) { return a.granule < b.granule; });
  p2.Replan(heat2);
  EXPECT_EQ(p2.ChunkGranulesAt(0, kRegion), 16u);
}

TEST(ChunkPlannerTest, ReplanDropsRegionsAlreadyCopiedAndHeatPastTheEnd) {
  ChunkMap map(2 * kRegion * kG + kG, kG);  // a short last region of one granule
  ChunkPlanner p(map, Opts());
  map.Set({GranuleIndex(0), kRegion}, GranuleState::kPresent);
  p.Replan(Heat({{1, 5}, {kRegion + 1, 3}, {2 * kRegion, 1}, {2 * kRegion + 7, 9}}));
  ASSERT_EQ(p.hot_order().size(), 2u);
  // The one-granule last region: 1 access per granule, hotter than 3 in 32.
  EXPECT_EQ(p.hot_order()[0].first_granule, 2 * kRegion);
  EXPECT_EQ(p.hot_order()[0].granules, 1u);
  EXPECT_DOUBLE_EQ(p.hot_order()[0].heat, 1.0);
  EXPECT_EQ(p.hot_order()[1].first_granule, kRegion);
  EXPECT_DOUBLE_EQ(p.hot_order()[1].heat, 3.0 / 32);
}

}  // namespace
}  // namespace ferry
