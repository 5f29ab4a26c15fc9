#include "heat/profile.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

using std::chrono::seconds;
constexpr uint64_t kG = 64 << 10;

TEST(HeatProfileTest, BinsAccessesAndFindsTheHottestRange) {
  std::vector<IoEvent> ev;
  // 100 s; a hot range of 4 granules at 1 MiB read 50 times; one access at 63 MiB.
  for (int i = 0; i < 50; ++i) {
    IoEvent e;
    e.time = seconds(i);
    e.offset = (1 << 20) + (i % 4) * kG;
    e.length = kG;
    ev.push_back(e);
  }
  IoEvent far;
  far.time = seconds(100);
  far.offset = 63ull << 20;
  far.length = kG;
  ev.push_back(far);
  HeatProfileOptions o;
  o.heat.granule_size = kG;
  o.time_bins = 10;
  o.offset_bins = 64;  // 1 MiB rows
  HeatProfile p = BuildHeatProfile(ev, o);
  EXPECT_EQ(p.volume_size, (63ull << 20) + kG);  // the end of the highest access
  EXPECT_EQ(p.touched_granules, 5u);
  EXPECT_DOUBLE_EQ(p.span_s, 100);
  double sum = 0;
  for (double v : p.grid) sum += v;
  EXPECT_EQ(sum, 51);
  EXPECT_EQ(p.grid[1 * 10 + 0], 10);   // row 1 (1 MiB), first 10 s
  EXPECT_EQ(p.grid[63 * 10 + 9], 1);   // the far access, last bin
  ASSERT_EQ(p.hottest.size(), 2u);
  EXPECT_EQ(p.hottest[0].offset, 1u << 20);
  EXPECT_EQ(p.hottest[0].length, 4 * kG);
  EXPECT_EQ(p.hottest[0].accesses, 50u);
  EXPECT_DOUBLE_EQ(p.hottest[0].per_granule, 12.5);
  ASSERT_EQ(p.classes.size(), 10u);
  // At 50 s the 60 s window still holds the hot range; at the end only part of it.
  EXPECT_EQ(p.classes[4].hot_bytes + p.classes[4].warm_bytes, 4 * kG);
  EXPECT_EQ(p.classes.back().hot_bytes + p.classes.back().warm_bytes + p.classes.back().cold_bytes, p.volume_size);

  // A fixed threshold instead of the quantile: at 50 s each hot granule has 12 or 13
  // accesses in the window.
  o.hot_count = 13;
  HeatProfile fixed = BuildHeatProfile(ev, o);
  EXPECT_EQ(fixed.classes[4].hot_threshold, 13u);
  EXPECT_EQ(fixed.classes[4].hot_bytes, 2 * kG);
  o.hot_count = 12;
  EXPECT_EQ(BuildHeatProfile(ev, o).classes[4].hot_bytes, 4 * kG);
}

}  // namespace
}  // namespace ferry
