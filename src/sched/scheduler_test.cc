#include "sched/scheduler.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr uint64_t kG = 64 << 10;
constexpr uint64_t kRegion = 32;  // granules in 2 MiB

SchedulerOptions Opts(Policy p) {
  SchedulerOptions o;
  o.policy = p;
  o.adapt_chunk_size = false;
  o.max_in_flight = 4;
  o.hot_quantile = 0.5;
  return o;
}

IoEvent Read(uint64_t offset, uint64_t length, int64_t ms) {
  IoEvent e;
  e.offset = offset;
  e.length = length;
  e.time = milliseconds(ms);
  return e;
}

// Runs a scheduler to completion one copy at a time, returning the chunks in order.
std::vector<GranuleRun> Drain(Scheduler& s) {
  std::vector<GranuleRun> out;
  while (auto op = s.Next(seconds(0))) {
    out.push_back(op->run);
    s.OnCopyDone(*op, true, seconds(0));
  }
  return out;
}

TEST(SchedulerTest, DmCloneCopiesAscendingInMaxChunkBatches) {
  ChunkMap map(3 * kRegion * kG + kG, kG);
  Scheduler s(map, Opts(Policy::kDmClone), seconds(0));
  auto runs = Drain(s);
  ASSERT_EQ(runs.size(), 4u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(runs[i].first.value, i * kRegion);
    EXPECT_EQ(runs[i].count, kRegion);
  }
  EXPECT_EQ(runs[3].count, 1u);
  EXPECT_TRUE(s.done());
  EXPECT_FALSE(s.HydratesOnRead());
}

TEST(SchedulerTest, QemuStreamCopiesIn512KPieces) {
  ChunkMap map(2 << 20, kG);
  Scheduler s(map, Opts(Policy::kQemuStream), seconds(0));
  auto runs = Drain(s);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[1].first.value, 8u);
  EXPECT_EQ(runs[1].count, 8u);
  EXPECT_TRUE(s.HydratesOnRead());
}

TEST(SchedulerTest, BackgroundStopsAtTheInFlightLimitButDemandDoesNot) {
  ChunkMap map(100 * kRegion * kG, kG);
  Scheduler s(map, Opts(Policy::kDmClone), seconds(0));
  std::vector<CopyOp> ops;
  while (auto op = s.Next(seconds(0))) ops.push_back(*op);
  EXPECT_EQ(ops.size(), 4u);
  EXPECT_EQ(s.background_in_flight(), 4);
  // A demand far away is answered at once, with exactly the granules it needs (dm-clone's region).
  auto demand = s.Demand({GranuleIndex(50 * kRegion + 3), 2}, seconds(0));
  ASSERT_EQ(demand.size(), 1u);
  EXPECT_EQ(demand[0].priority, CopyPriority::kDemand);
  EXPECT_EQ(demand[0].run.first.value, 50 * kRegion + 3);
  EXPECT_EQ(demand[0].run.count, 2u);
  // Granules already in flight are not demanded twice.
  EXPECT_TRUE(s.Demand({GranuleIndex(0), 4}, seconds(0)).empty());
  s.OnCopyDone(ops[0], true, seconds(0));
  EXPECT_TRUE(s.Next(seconds(0)).has_value());
}

TEST(SchedulerTest, DemandNeverFetchesBeyondTheAccess) {
  // The access's first granule is already in flight: the demand covers the other two
  // exactly, not a third granule past the access (a bug the simulator once had).
  ChunkMap map(kRegion * kG, kG);
  Scheduler s(map, Opts(Policy::kQemuStream), seconds(0));
  auto first = s.Demand({GranuleIndex(4), 1}, seconds(0));
  ASSERT_EQ(first.size(), 1u);
  auto d = s.Demand({GranuleIndex(4), 3}, seconds(0));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].run.first.value, 5u);
  EXPECT_EQ(d[0].run.count, 2u);
  EXPECT_EQ(map.state(GranuleIndex(7)), GranuleState::kMissing);
}

TEST(SchedulerTest, PrefetchComesBeforeBackground) {
  ChunkMap map(100 * kRegion * kG, kG);
  Scheduler s(map, Opts(Policy::kHeat), seconds(0));
  s.Prefetch({GranuleIndex(70 * kRegion), 2 * kRegion});
  auto a = s.Next(seconds(0));
  auto b = s.Next(seconds(0));
  auto c = s.Next(seconds(0));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->priority, CopyPriority::kPrefetch);
  EXPECT_EQ(a->run.first.value, 70 * kRegion);
  EXPECT_EQ(b->priority, CopyPriority::kPrefetch);
  EXPECT_EQ(b->run.first.value, 71 * kRegion);
  EXPECT_EQ(c->priority, CopyPriority::kBackground);
  EXPECT_EQ(c->run.first.value, 0u);
}

TEST(SchedulerTest, PrefetchesGoMostLikelyFirst) {
  ChunkMap map(100 * kRegion * kG, kG);
  Scheduler s(map, Opts(Policy::kHeat), seconds(0));
  s.Prefetch({GranuleIndex(10 * kRegion), 1}, 0.2);
  s.Prefetch({GranuleIndex(20 * kRegion), 1}, 0.9);
  s.Prefetch({GranuleIndex(30 * kRegion), 1}, 0.5);
  s.Prefetch({GranuleIndex(40 * kRegion), 1}, 0.8, 4);  // likely, but four accesses away: urgency 0.2
  std::vector<uint64_t> order;
  for (int i = 0; i < 4; ++i) {
    auto op = s.Next(seconds(0));
    ASSERT_TRUE(op);
    EXPECT_TRUE(op->predicted);
    order.push_back(op->run.first.value / kRegion);
    s.OnCopyDone(*op, true, seconds(0));
  }
  EXPECT_EQ(order, (std::vector<uint64_t>{20, 30, 10, 40}));
  // The queue is bounded: the least likely requests are dropped.
  for (size_t i = 0; i < Scheduler::kMaxPrefetch + 10; ++i) s.Prefetch({GranuleIndex(50 * kRegion), 1}, 0.1);
  EXPECT_EQ(s.prefetch_queued(), Scheduler::kMaxPrefetch);
}

TEST(SchedulerTest, PredictionsTakeAtMostTheirShareOfTheSlots) {
  // However much is predicted, half the in-flight slots (2 of 4) stay for background
  // work, so the migration keeps moving.
  ChunkMap map(100 * kRegion * kG, kG);
  Scheduler s(map, Opts(Policy::kAdaptive), seconds(0));
  for (uint64_t i = 0; i < 50; ++i) s.Prefetch({GranuleIndex(50 * kRegion + i * 4), 1}, 0.9);
  int predicted = 0, background = 0;
  while (auto op = s.Next(seconds(0))) {
    predicted += op->predicted;
    background += op->priority == CopyPriority::kBackground;
  }
  EXPECT_EQ(predicted, 2);
  EXPECT_EQ(background, 2);
}

TEST(SchedulerTest, AdaptiveCopiesHotRegionsFirstInSmallChunks) {
  ChunkMap map(10 * kRegion * kG, kG);
  Scheduler s(map, Opts(Policy::kAdaptive), seconds(0));
  // Region 6 is hammered; region 2 is touched once.
  for (int i = 0; i < 20; ++i) s.OnAppIo(Read(6 * kRegion * kG, kRegion * kG, i));
  s.OnAppIo(Read(2 * kRegion * kG, kG, 30));
  auto runs = Drain(s);
  ASSERT_GE(runs.size(), 3u);
  EXPECT_EQ(runs[0].first.value, 6 * kRegion);
  EXPECT_EQ(runs[0].count, 1u);  // wholly hot: minimum chunks
  size_t i = 0;
  while (i < runs.size() && runs[i].first.value / kRegion == 6) ++i;
  EXPECT_EQ(i, kRegion);
  EXPECT_EQ(runs[i].first.value / kRegion, 2u);
  EXPECT_EQ(runs[i].count, kRegion);  // one touch in 32 granules: still a cold-sized chunk
  EXPECT_TRUE(s.done());
  EXPECT_EQ(runs.back().first.value / kRegion, 9u);
}

TEST(SchedulerTest, AdaptiveBacksOffWhileDemandCopiesAreSlow) {
  ChunkMap map(100 * kRegion * kG, kG);
  SchedulerOptions o = Opts(Policy::kAdaptive);
  o.busy_bytes = 1 << 20;  // one cold chunk (the sizer starts at 1 MiB)
  o.busy_hold = milliseconds(500);
  Scheduler s(map, o, seconds(0));
  // A demand that takes 2 ms: the fastest seen, so no back-off.
  auto d = s.Demand({GranuleIndex(90 * kRegion), 1}, milliseconds(1000));
  ASSERT_EQ(d.size(), 1u);
  s.OnCopyDone(d[0], true, milliseconds(1002));
  std::vector<CopyOp> bg;
  while (auto op = s.Next(milliseconds(1002))) bg.push_back(*op);
  EXPECT_EQ(bg.size(), 4u);
  // A demand that waits 100 ms behind background copies: back off to one cold chunk.
  auto slow = s.Demand({GranuleIndex(95 * kRegion), 1}, milliseconds(1010));
  ASSERT_EQ(slow.size(), 1u);
  s.OnCopyDone(slow[0], true, milliseconds(1110));
  for (int i = 0; i < 3; ++i) s.OnCopyDone(bg[i], true, milliseconds(1110));  // three of the four finish
  EXPECT_EQ(s.background_in_flight(), 1);
  EXPECT_FALSE(s.Next(milliseconds(1200)).has_value());
  EXPECT_TRUE(s.Next(milliseconds(1700)).has_value());  // busy_hold has passed

  // The dm-clone baseline never backs off.
  ChunkMap map2(100 * kRegion * kG, kG);
  Scheduler base(map2, Opts(Policy::kDmClone), seconds(0));
  auto bd = base.Demand({GranuleIndex(90 * kRegion), 1}, milliseconds(1000));
  base.OnCopyDone(bd[0], true, milliseconds(1002));
  auto bd2 = base.Demand({GranuleIndex(91 * kRegion), 1}, milliseconds(1010));
  base.OnCopyDone(bd2[0], true, milliseconds(1500));
  int m = 0;
  while (base.Next(milliseconds(1500))) ++m;
  EXPECT_EQ(m, 4);
}

TEST(SchedulerTest, AdaptiveDemandFetchesOnlyWhatTheAccessNeedsAndQueuesTheRest) {
  ChunkMap map(10 * kRegion * kG, kG);
  Scheduler s(map, Opts(Policy::kAdaptive), seconds(0));
  auto d = s.Demand({GranuleIndex(5 * kRegion + 7), 1}, seconds(0));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].run.first.value, 5 * kRegion + 7);
  EXPECT_EQ(d[0].run.count, 1u);
  // The rest of its (cold, whole-region) chunk comes next, before any background copy.
  auto a = s.Next(seconds(0));
  auto b = s.Next(seconds(0));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->priority, CopyPriority::kPrefetch);
  EXPECT_EQ(a->run.first.value, 5 * kRegion);
  EXPECT_EQ(a->run.count, 7u);
  EXPECT_EQ(b->priority, CopyPriority::kPrefetch);
  EXPECT_EQ(b->run.first.value, 5 * kRegion + 8);
  EXPECT_EQ(b->run.count, kRegion - 8);
  auto c = s.Next(seconds(0));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->priority, CopyPriority::kBackground);
}

TEST(SchedulerTest, ClairvoyantFollowsTheGivenOrder) {
  ChunkMap map(10 * kRegion * kG, kG);
  Scheduler s(map, Opts(Policy::kClairvoyant), seconds(0));
  s.SetOrder({5 * kRegion + 1, 3 * kRegion});
  auto runs = Drain(s);
  ASSERT_GE(runs.size(), 3u);
  EXPECT_EQ(runs[0].first.value, 5 * kRegion);
  EXPECT_EQ(runs[1].first.value, 3 * kRegion);
  EXPECT_EQ(runs[2].first.value, 0u);
}

TEST(SchedulerTest, SourceZeroGranulesAreCopiedAsSeparateLargeRuns) {
  ChunkMap map(200 * kRegion * kG, kG);
  IntervalSet zero;
  zero.Add(kG, 150 * kRegion * kG);  // granules 1 .. 150*32
  Scheduler s(map, Opts(Policy::kAdaptive), seconds(0));
  s.SetSourceZero(&zero);
  auto a = s.Next(seconds(0));
  auto b = s.Next(seconds(0));
  auto c = s.Next(seconds(0));
  ASSERT_TRUE(a && b && c);
  EXPECT_FALSE(a->source_zero);
  EXPECT_EQ(a->run.count, 1u);
  EXPECT_TRUE(b->source_zero);
  EXPECT_EQ(b->run.first.value, 1u);
  EXPECT_EQ(b->run.count, 150 * kRegion);
  EXPECT_FALSE(c->source_zero);
  EXPECT_EQ(c->run.first.value, 150 * kRegion + 1);
  EXPECT_EQ(c->run.count, kRegion - 1);  // up to the aligned block's end
}

TEST(SchedulerTest, WrittenGranulesNeedNoCopyAndFailedCopiesComeBack) {
  ChunkMap map(kRegion * kG, kG);
  Scheduler s(map, Opts(Policy::kDmClone), seconds(0));
  s.MarkWritten({GranuleIndex(0), 4});
  auto op = s.Next(seconds(0));
  ASSERT_TRUE(op);
  EXPECT_EQ(op->run.first.value, 4u);
  EXPECT_EQ(op->run.count, kRegion - 4);
  s.OnCopyDone(*op, false, seconds(0));
  EXPECT_EQ(map.state(GranuleIndex(5)), GranuleState::kMissing);
  auto again = s.Next(seconds(0));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->run.first.value, 4u);
  s.OnCopyDone(*again, true, seconds(0));
  EXPECT_TRUE(s.done());
}

TEST(SchedulerTest, PolicyNamesRoundTrip) {
  for (Policy p : {Policy::kDmClone, Policy::kQemuStream, Policy::kHeat, Policy::kAdaptive, Policy::kClairvoyant}) {
    auto parsed = ParsePolicy(PolicyName(p));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, p);
  }
  EXPECT_FALSE(ParsePolicy("fastest").ok());
}

}  // namespace
}  // namespace ferry
