#include "common/interval_set.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

TEST(IntervalSetTest, AddMergesTouchingAndOverlapping) {
  IntervalSet s;
  s.Add(0, 10);
  s.Add(10, 5);
  s.Add(30, 10);
  s.Add(12, 20);
  EXPECT_EQ(s.Ranges(), (std::vector<Range>{{0, 40}}));
  EXPECT_EQ(s.TotalBytes(), 40u);
}

TEST(IntervalSetTest, RemoveSplits) {
  IntervalSet s;
  s.Add(0, 100);
  s.Remove(10, 20);
  s.Remove(90, 50);
  EXPECT_EQ(s.Ranges(), (std::vector<Range>{{0, 10}, {30, 60}}));
}

TEST(IntervalSetTest, CoversNeedsEveryByte) {
  IntervalSet s;
  s.Add(100, 100);
  EXPECT_TRUE(s.Covers(100, 100));
  EXPECT_TRUE(s.Covers(150, 1));
  EXPECT_FALSE(s.Covers(99, 2));
  EXPECT_FALSE(s.Covers(199, 2));
  EXPECT_TRUE(s.Covers(5, 0));
  EXPECT_TRUE(s.Intersects(199, 10));
  EXPECT_FALSE(s.Intersects(200, 10));
}

TEST(IntervalSetTest, UniformPrefixStopsAtBoundaries) {
  IntervalSet s;
  s.Add(100, 100);
  EXPECT_EQ(s.UniformPrefix(0, 1000), 100u);    // outside up to 100
  EXPECT_EQ(s.UniformPrefix(100, 1000), 100u);  // inside up to 200
  EXPECT_EQ(s.UniformPrefix(150, 10), 10u);
  EXPECT_EQ(s.UniformPrefix(200, 1000), 1000u);
}

TEST(IntervalSetTest, IntersectionClips) {
  IntervalSet s;
  s.Add(0, 10);
  s.Add(20, 10);
  EXPECT_EQ(s.Intersection(5, 20), (std::vector<Range>{{5, 5}, {20, 5}}));
}

}  // namespace
}  // namespace ferry
