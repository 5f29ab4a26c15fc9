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

std::vector<GranuleHeat> Heat(std::initializer_list<std::pair<uint64_t, uint32_t>> list) {
  std::vector<GranuleHeat> out;
  for (auto [g, c] : list) out.push_back({g, c});
  return out;
}

TEST(ChunkPlannerTest, ColdVolumeIsCutIntoColdSizedAlignedChunks) {
  ChunkMap map(10 * kRegion * kG, kG);
  ChunkPlanner p(map, Opts());
  p.Replan({});
  EXPECT_TRUE(p.hot_order().empty());
  EXPECT_EQ(p.ChunkGranulesAt(5, kRegion), kRegion);
  auto chunks = p.Chunks({GranuleIndex(0), 3 * kRegion}, kRegion);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[1].run.first.value, kRegion);
  EXPECT_EQ(chunks[1].run.count, kRegion);
  EXPECT_EQ(chunks[1].bytes.length, kRegion * kG);
  // A smaller cold size from the throughput sizer cuts smaller chunks.
  EXPECT_EQ(p.Chunks({GranuleIndex(0), kRegion}, 8).size(), 4u);
}

TEST(ChunkPlannerTest, HotRegionGetsMinimumChunksAndComesFirst) {
  ChunkMap map(10 * kRegion * kG, kG);
  ChunkPlanner p(map, Opts());
  // Region 3 wholly hot; region 7 has one warm granule.
  std::vector<GranuleHeat> heat;
  heat.push_back({7 * kRegion + 4, 1});
  for (uint64_t g = 3 * kRegion; g < 4 * kRegion; ++g) heat.push_back({g, 10});
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
  auto chunks = p.Chunks({GranuleIndex(3 * kRegion), kRegion}, kRegion);
  EXPECT_EQ(chunks.size(), kRegion);
  EXPECT_DOUBLE_EQ(chunks[0].heat, 10.0);
}

TEST(ChunkPlannerTest, HalfHotRegionGetsAnIntermediateSize) {
  ChunkMap map(kRegion * kG, kG);
  ChunkPlanner p(map, Opts());
  std::vector<GranuleHeat> heat;
  for (uint64_t g = 0; g < kRegion; g += 2) heat.push_back({g, 5});
  p.Replan(heat);
  // hotness 0.5: 32 * (1/32)^0.5 = 2^2.5, rounded to 2^3 (log2 2.5 rounds away from zero).
  EXPECT_EQ(p.ChunkGranulesAt(0, kRegion), 8u);
  // A quarter hot (half the granules warm): 32 * (1/32)^0.25 = 2^3.75 -> 16.
  ChunkMap map2(kRegion * kG, kG);
  ChunkPlanner p2(map2, Opts());
  std::vector<GranuleHeat> heat2;
  for (uint64_t g = 0; g < kRegion; g += 2) heat2.push_back({g, 1});
  heat2.push_back({1, 5});  // make the threshold 2 so the rest stay warm
  std::sort(heat2.begin(), heat2.end(), [](auto& a, auto& b) { return a.granule < b.granule; });
  p2.Replan(heat2);
  EXPECT_EQ(p2.ChunkGranulesAt(0, kRegion), 16u);
}

TEST(ChunkPlannerTest, ChunkAroundStopsAtPresentAndInFlightGranulesAndTheBlock) {
  ChunkMap map(4 * kRegion * kG, kG);
  ChunkPlanner p(map, Opts());
  p.Replan({});
  map.Set({GranuleIndex(3), 1}, GranuleState::kPresent);
  map.Set({GranuleIndex(10), 2}, GranuleState::kInFlight);
  auto c = p.ChunkAround(5, kRegion);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first.value, 4u);
  EXPECT_EQ(c->count, 6u);  // 4..9
  EXPECT_FALSE(p.ChunkAround(3, kRegion));
  EXPECT_FALSE(p.ChunkAround(10, kRegion));
  c = p.ChunkAround(kRegion + 1, kRegion);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first.value, kRegion);
  EXPECT_EQ(c->count, kRegion);
  auto chunks = p.Chunks({GranuleIndex(0), kRegion}, kRegion);
  ASSERT_EQ(chunks.size(), 5u);
  EXPECT_EQ(chunks[1].state, GranuleState::kPresent);
  EXPECT_EQ(chunks[3].state, GranuleState::kInFlight);
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
