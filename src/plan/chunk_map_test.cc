#include "plan/chunk_map.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

constexpr uint64_t kG = 64 << 10;

TEST(ChunkMapTest, LastGranuleMayBeShort) {
  ChunkMap m(10 * kG + 100, kG);
  EXPECT_EQ(m.granule_count(), 11u);
  EXPECT_EQ(m.Bytes({GranuleIndex(10), 1}), (Range{10 * kG, 100}));
  m.Set({GranuleIndex(0), 11}, GranuleState::kPresent);
  EXPECT_EQ(m.present_bytes(), 10 * kG + 100);
  EXPECT_TRUE(m.complete());
}

TEST(ChunkMapTest, NextMissingSkipsPresentAndInFlight) {
  ChunkMap m(1000 * kG, kG);
  m.Set({GranuleIndex(0), 130}, GranuleState::kPresent);
  m.Set({GranuleIndex(130), 2}, GranuleState::kInFlight);
  auto r = m.NextMissing(GranuleIndex(0), 10);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.value, 132u);
  EXPECT_EQ(r->count, 10u);
  m.Set({GranuleIndex(135), 1}, GranuleState::kPresent);
  r = m.NextMissing(GranuleIndex(0), 10);
  EXPECT_EQ(r->count, 3u);  // stops before the present granule
}

TEST(ChunkMapTest, NoMissingWhenComplete) {
  ChunkMap m(70 * kG, kG);
  m.Set({GranuleIndex(0), 70}, GranuleState::kPresent);
  EXPECT_FALSE(m.NextMissing(GranuleIndex(0), 100));
  m.Set({GranuleIndex(69), 1}, GranuleState::kMissing);
  auto r = m.NextMissing(GranuleIndex(3), 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.value, 69u);
  EXPECT_EQ(r->count, 1u);
  EXPECT_EQ(m.present_count(), 69u);
}

TEST(ChunkMapTest, CountsFollowStateChanges) {
  ChunkMap m(256 * kG, kG);
  m.Set({GranuleIndex(10), 100}, GranuleState::kInFlight);
  EXPECT_EQ(m.in_flight_count(), 100u);
  m.Set({GranuleIndex(50), 100}, GranuleState::kPresent);
  EXPECT_EQ(m.in_flight_count(), 40u);
  EXPECT_EQ(m.present_count(), 100u);
  EXPECT_EQ(m.state(GranuleIndex(49)), GranuleState::kInFlight);
  EXPECT_EQ(m.state(GranuleIndex(50)), GranuleState::kPresent);
  EXPECT_EQ(m.state(GranuleIndex(200)), GranuleState::kMissing);
}

TEST(ChunkMapTest, LoadPresentIgnoresBitsPastTheEnd) {
  ChunkMap m(3 * kG, kG);
  m.LoadPresent({~0ull});
  EXPECT_EQ(m.present_count(), 3u);
  EXPECT_TRUE(m.complete());
}

}  // namespace
}  // namespace ferry
