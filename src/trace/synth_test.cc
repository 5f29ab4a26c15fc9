#include "trace/synth.h"

#include <gtest/gtest.h>

#include "trace/test_read_all.h"

namespace ferry {
namespace {

std::vector<IoEvent> Generate(const SynthOptions& o) {
  auto r = ReadAllEvents(NewSyntheticTrace(o));
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::vector<IoEvent>{};
}

TEST(SynthTest, SameSeedSameTraceAndADifferentSeedDiffers) {
  SynthOptions o;
  o.duration = std::chrono::seconds(10);
  auto a = Generate(o), b = Generate(o);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].offset, b[i].offset);
    EXPECT_EQ(a[i].time, b[i].time);
  }
  o.seed = 2;
  auto c = Generate(o);
  EXPECT_NE(a[0].offset, c[0].offset);
}

TEST(SynthTest, HasTheStructureAskedFor) {
  SynthOptions o;
  o.volume_size = 1ull << 30;
  o.hot_size = 64 << 20;
  o.duration = std::chrono::seconds(100);
  o.iops = 1000;
  auto ev = Generate(o);
  // About 100,000 requests at 1000/s over 100 s.
  EXPECT_NEAR(static_cast<double>(ev.size()), 100000, 2000);
  uint64_t hot_before = 0, hot_after = 0, streams = 0, writes = 0, before = 0, after = 0;
  const uint64_t hot1 = o.volume_size / 8, hot2 = o.volume_size / 8 * 5;
  for (const IoEvent& e : ev) {
    ASSERT_LE(e.offset + e.length, o.volume_size);
    const bool first_half = e.time < std::chrono::seconds(50);
    (first_half ? before : after)++;
    if (e.length == o.stream_io) ++streams;
    if (e.op == IoOp::kWrite) ++writes;
    if (e.length != o.io_size) continue;
    if (first_half && e.offset >= hot1 && e.offset < hot1 + o.hot_size) ++hot_before;
    if (!first_half && e.offset >= hot2 && e.offset < hot2 + o.hot_size) ++hot_after;
  }
  // 60% hot (plus the random requests that land there by chance), before and after the
  // phase change moves the hot set.
  EXPECT_NEAR(static_cast<double>(hot_before) / before, 0.6, 0.03);
  EXPECT_NEAR(static_cast<double>(hot_after) / after, 0.6, 0.03);
  EXPECT_NEAR(static_cast<double>(streams) / ev.size(), 0.2, 0.02);
  EXPECT_NEAR(static_cast<double>(writes) / ev.size(), 0.3 * 0.8, 0.02);
  // Each stream is sequential: consecutive stream requests of the first stream follow on.
  uint64_t next = 0, sequential = 0, stream0 = 0;
  for (const IoEvent& e : ev) {
    if (e.length != o.stream_io || e.offset >= o.volume_size / 2) continue;
    if (stream0++ && e.offset == next) ++sequential;
    next = e.offset + e.length;
  }
  EXPECT_GT(sequential, stream0 * 99 / 100);
}

TEST(SynthTest, BadOptionsAreRefused) {
  SynthOptions o;
  o.hot_share = 0.9;
  o.stream_share = 0.2;
  EXPECT_FALSE(NewSyntheticTrace(o).ok());
  o = {};
  o.io_size = 1000;
  EXPECT_FALSE(NewSyntheticTrace(o).ok());
  o = {};
  o.hot_size = o.volume_size;
  EXPECT_FALSE(NewSyntheticTrace(o).ok());
  o = {};
  o.iops = 0;
  EXPECT_FALSE(NewSyntheticTrace(o).ok());
}

}  // namespace
}  // namespace ferry
