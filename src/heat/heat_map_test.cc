#include "heat/heat_map.h"

#include <cmath>

#include <gtest/gtest.h>

namespace ferry {
namespace {

using std::chrono::seconds;
constexpr uint64_t kG = 64 << 10;

HeatOptions Opts(int window_s, int slide_s) {
  HeatOptions o;
  o.granule_size = kG;
  o.window = seconds(window_s);
  o.slide = seconds(slide_s);
  return o;
}

TEST(HeatMapTest, CountsEachGranuleAnAccessTouches) {
  HeatMap h(Opts(60, 5));
  h.Record(kG - 1, 2, seconds(0));  // straddles granules 0 and 1
  h.Record(3 * kG, 0, seconds(0));  // zero length: one granule
  EXPECT_EQ(h.Count(0), 1u);
  EXPECT_EQ(h.Count(1), 1u);
  EXPECT_EQ(h.Count(2), 0u);
  EXPECT_EQ(h.Count(3), 1u);
  EXPECT_EQ(h.touched(), 3u);
  EXPECT_EQ(h.total_touches(), 3u);
}

TEST(HeatMapTest, AccessesLeaveTheWindowWholeSlidesAtATime) {
  HeatMap h(Opts(10, 5));  // two slots
  h.Record(0, kG, seconds(1));   // slot 0
  h.Record(0, kG, seconds(6));   // slot 1
  EXPECT_EQ(h.Count(0), 2u);
  h.AdvanceTo(seconds(9));       // still slot 1
  EXPECT_EQ(h.Count(0), 2u);
  h.AdvanceTo(seconds(10));      // slot 2: slot 0 leaves
  EXPECT_EQ(h.Count(0), 1u);
  h.AdvanceTo(seconds(15));      // slot 3: slot 1 leaves
  EXPECT_EQ(h.Count(0), 0u);
  EXPECT_EQ(h.touched(), 0u);
  EXPECT_TRUE(h.Snapshot().empty());
}

TEST(HeatMapTest, AJumpPastTheWholeWindowEmptiesIt) {
  HeatMap h(Opts(60, 5));
  for (int i = 0; i < 10; ++i) h.Record(i * kG, kG, seconds(i));
  EXPECT_EQ(h.touched(), 10u);
  h.AdvanceTo(seconds(1000));
  EXPECT_EQ(h.touched(), 0u);
}

TEST(HeatMapTest, CountsStayRightWhetherQueriedOftenOrRarely) {
  // The same accesses, one map queried after every slide, one only at the end (its
  // lazily kept total is rebuilt), must agree with a count done by hand.
  HeatMap often(Opts(20, 5)), rarely(Opts(20, 5));
  for (int t = 0; t < 200; ++t) {
    for (HeatMap* h : {&often, &rarely}) h->Record((t % 7) * kG, kG, seconds(t));
    if (t % 5 == 0) often.touched();
  }
  for (uint64_t g = 0; g < 7; ++g) {
    // The window holds slots 36..39 (t = 180..199).
    uint32_t want = 0;
    for (int t = 180; t < 200; ++t) want += (t % 7) == static_cast<int>(g);
    EXPECT_EQ(often.Count(g), want) << g;
    EXPECT_EQ(rarely.Count(g), want) << g;
  }
  EXPECT_EQ(often.Snapshot().size(), 7u);
}

TEST(HeatMapTest, WeightsStayRightOverALongRunQueriedOftenOrRarely) {
  // A half-life of one second on 5 s slides: the kept sums' factors pass 2^256 after
  // 256 s and are rescaled; over 3,000 s that happens many times. Both maps must agree
  // with a sum done by hand.
  HeatOptions o = Opts(20, 5);
  o.half_life = seconds(1);
  HeatMap often(o), rarely(o);
  for (int t = 0; t < 3000; ++t) {
    for (HeatMap* h : {&often, &rarely}) h->Record((t % 7) * kG, kG, seconds(t));
    if (t % 5 == 0) often.Snapshot(/*sorted=*/false);
  }
  for (HeatMap* h : {&often, &rarely}) {
    const auto s = h->Snapshot();
    ASSERT_EQ(s.size(), 7u);
    for (const GranuleHeat& g : s) {
      // The window holds slots 596..599 (t = 2980..2999), slot 599 the open one.
      double want = 0;
      for (int t = 2980; t < 3000; ++t) {
        if (t % 7 == static_cast<int>(g.granule)) want += std::exp2(-(599 - t / 5) * 5.0);
      }
      EXPECT_NEAR(g.weight, want, 1e-9 * want) << g.granule;
    }
  }
  o.half_life = std::chrono::nanoseconds(seconds(20)) / 257;  // the window spans more than 256 half-lives
  EXPECT_FALSE(ValidateHeatOptions(o).ok());
}

TEST(HeatMapTest, AWindowNotAMultipleOfTheSlideRoundsUp) {
  HeatMap h(Opts(7, 5));  // two slots
  h.Record(0, kG, seconds(0));
  h.AdvanceTo(seconds(5));
  EXPECT_EQ(h.Count(0), 1u);
  h.AdvanceTo(seconds(10));
  EXPECT_EQ(h.Count(0), 0u);
}

TEST(HeatMapTest, EarlierEventsCountInTheOpenSlot) {
  HeatMap h(Opts(10, 5));
  h.Record(0, kG, seconds(7));
  h.Record(0, kG, seconds(2));  // goes back in time: counts now
  EXPECT_EQ(h.Count(0), 2u);
}

TEST(HeatMapTest, SnapshotIsAscendingAndSumsOpenAndClosedSlots) {
  HeatMap h(Opts(60, 5));
  h.Record(5 * kG, kG, seconds(0));
  h.Record(2 * kG, kG, seconds(0));
  h.Record(5 * kG, kG, seconds(6));
  auto s = h.Snapshot();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].granule, 2u);
  EXPECT_EQ(s[0].count, 1u);
  EXPECT_EQ(s[1].granule, 5u);
  EXPECT_EQ(s[1].count, 2u);
  // No half-life: the weight is the count.
  EXPECT_DOUBLE_EQ(s[0].weight, 1.0);
  EXPECT_DOUBLE_EQ(s[1].weight, 2.0);
}

TEST(HeatMapTest, AnAccessWeighsHalfAsMuchEachHalfLifeOfAge) {
  HeatOptions o = Opts(60, 5);
  o.half_life = seconds(10);  // two slides
  HeatMap h(o);
  h.Record(1 * kG, kG, seconds(1));   // slot 0: four slides old at 21 s
  h.Record(2 * kG, kG, seconds(11));  // slot 2: two slides old
  h.Record(2 * kG, kG, seconds(12));
  h.Record(3 * kG, kG, seconds(21));  // slot 4: the open one
  h.Record(1 * kG, kG, seconds(21));
  auto s = h.Snapshot();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].count, 2u);
  EXPECT_DOUBLE_EQ(s[0].weight, 1.0 + 0.25);
  EXPECT_EQ(s[1].count, 2u);
  EXPECT_DOUBLE_EQ(s[1].weight, 2 * 0.5);
  EXPECT_DOUBLE_EQ(s[2].weight, 1.0);
  // The same, unsorted, and once the oldest slot has left the window.
  for (const GranuleHeat& g : h.Snapshot(/*sorted=*/false)) {
    if (g.granule == 3) {
      EXPECT_DOUBLE_EQ(g.weight, 1.0);
    }
  }
  h.AdvanceTo(seconds(61));  // slot 12: slot 0 has left, slot 2 is ten slides old
  s = h.Snapshot();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_DOUBLE_EQ(s[0].weight, std::exp2(-4.0));
  EXPECT_DOUBLE_EQ(s[1].weight, 2 * std::exp2(-5.0));
}

TEST(HeatMapTest, QuantileThresholdsSeparateTheHotTail) {
  HeatMap h(Opts(60, 5));
  for (int g = 0; g < 90; ++g) h.Record(g * kG, kG, seconds(0));
  for (int g = 90; g < 100; ++g) {
    for (int i = 0; i < 20; ++i) h.Record(g * kG, kG, seconds(0));
  }
  HeatThresholds t = h.QuantileThresholds(0.9);
  EXPECT_EQ(t.hot, 20u);
  EXPECT_EQ(t.Classify(h.Count(0)), HeatClass::kWarm);
  EXPECT_EQ(t.Classify(h.Count(95)), HeatClass::kHot);
  EXPECT_EQ(t.Classify(h.Count(500)), HeatClass::kCold);
}

TEST(HeatMapTest, OptionsAreValidated) {
  EXPECT_TRUE(ValidateHeatOptions(Opts(60, 5)).ok());
  EXPECT_FALSE(ValidateHeatOptions(Opts(4, 5)).ok());
  HeatOptions o = Opts(60, 5);
  o.granule_size = 3000;
  EXPECT_FALSE(ValidateHeatOptions(o).ok());
  o = Opts(60, 5);
  o.slide = seconds(0);
  EXPECT_FALSE(ValidateHeatOptions(o).ok());
  o = Opts(60, 5);
  o.half_life = seconds(-1);
  EXPECT_FALSE(ValidateHeatOptions(o).ok());
}

}  // namespace
}  // namespace ferry
