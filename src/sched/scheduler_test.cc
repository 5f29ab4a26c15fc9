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

// Tells the scheduler's link model of a fast local link (100 us, about 670 MB/s),
// measured just before time 0, so that the controller's limits do not bind in tests of
// the policy's order.
void MeasureFastLink(Scheduler& s) {
  LinkSend small = s.SourceSent(4096, /*app=*/false, milliseconds(-1000));
  s.SourceAnswered(small, milliseconds(-1000) + std::chrono::microseconds(100));
  LinkSend big = s.SourceSent(64 << 20, /*app=*/false, milliseconds(-999));
  s.SourceAnswered(big, milliseconds(-899));
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
  EXPECT_TRUE(s.ReadsThrough(0, 4096));  // dm-clone reads misses from the source, hydrating nothing
}

TEST(SchedulerTest, OnACongestedLinkALargeReadOfAGranuleDemandsItInsteadOfReadingThrough) {
  ChunkMap map(10 * kRegion * kG, kG);
  Scheduler s(map, Opts(Policy::kAdaptive), seconds(0));
  MeasureFastLink(s);
  // An idle link: every miss reads through, whatever its size.
  EXPECT_TRUE(s.ReadsThrough(0, 4096));
  EXPECT_TRUE(s.ReadsThrough(0, kG / 2));
  // The application's own reads fill the link far past its bandwidth-delay product.
  LinkSend burst = s.SourceSent(512 << 20, /*app=*/true, seconds(0));
  ASSERT_TRUE(s.link().Congested());
  EXPECT_TRUE(s.ReadsThrough(0, 4096));                 // a sixteenth of its granule
  EXPECT_TRUE(s.ReadsThrough(kG - 4096, 8192));         // 8 KiB of two granules' 128 KiB
  EXPECT_FALSE(s.ReadsThrough(0, kG / 2));              // half of it: demanded whole
  EXPECT_FALSE(s.ReadsThrough(kG / 2, kG));             // half of each of two
  s.SourceAnswered(burst, seconds(1));
  EXPECT_FALSE(s.link().Congested());
  EXPECT_TRUE(s.ReadsThrough(0, kG / 2));
}

TEST(SchedulerTest, QemuStreamCopiesIn512KPieces) {
  ChunkMap map(2 << 20, kG);
  Scheduler s(map, Opts(Policy::kQemuStream), seconds(0));
  auto runs = Drain(s);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[1].first.value, 8u);
  EXPECT_EQ(runs[1].count, 8u);
  EXPECT_FALSE(s.ReadsThrough(0, 4096));  // copy-on-read: the read waits for its copy
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

TEST(SchedulerTest, ReadThroughsKeepThePrefetchQueueBoundedNewestFirst) {
  // Misses faster than the copy: the queue keeps the kMaxPrefetch newest wants, and the
  // newest miss's granule is copied first.
  ChunkMap map(4096 * kRegion * kG, kG);
  Scheduler s(map, Opts(Policy::kAdaptive), seconds(0));
  ASSERT_TRUE(s.ReadsThrough(0, 4096));
  for (uint64_t i = 0; i < 2 * Scheduler::kMaxPrefetch; ++i) {
    EXPECT_TRUE(s.OnReadThrough({GranuleIndex(i * kRegion + 5), 1}, seconds(0), /*copy_now=*/false).empty());
  }
  EXPECT_EQ(s.prefetch_queued(), Scheduler::kMaxPrefetch);
  auto op = s.Next(seconds(0));
  ASSERT_TRUE(op.has_value());
  const uint64_t newest = (2 * Scheduler::kMaxPrefetch - 1) * kRegion + 5;
  EXPECT_LE(op->run.first.value, newest);
  EXPECT_GT(op->run.first.value + op->run.count, newest);
}

TEST(SchedulerTest, PredictionsTakeAtMostTheirShareOfTheBudget) {
  // However much is predicted, half the link's budget (1 MiB here) stays for background
  // work, so the migration keeps moving.
  ChunkMap map(100 * kRegion * kG, kG);
  SchedulerOptions o = Opts(Policy::kAdaptive);
  o.max_in_flight = 64;
  o.max_chunk = 256 << 10;
  o.link.idle_floor = 1 << 20;
  Scheduler s(map, o, seconds(0));
  MeasureFastLink(s);
  ASSERT_EQ(s.link().Budget(seconds(0)), 1u << 20);
  for (uint64_t i = 0; i < 50; ++i) s.Prefetch({GranuleIndex(50 * kRegion + i * 4), 1}, 0.9);
  int predicted = 0, background = 0;
  while (auto op = s.Next(seconds(0))) {
    predicted += op->predicted;
    background += op->priority == CopyPriority::kBackground;
  }
  EXPECT_EQ(predicted, 8);   // 512 KiB of 64 KiB predictions
  EXPECT_EQ(background, 2);  // then 256 KiB chunks up to the budget
}

TEST(SchedulerTest, AdaptiveCopiesHotRegionsFirstInSmallChunks) {
  ChunkMap map(10 * kRegion * kG, kG);
  SchedulerOptions o = Opts(Policy::kAdaptive);
  o.max_in_flight = 128;  // enough requests to fill the link with minimum chunks
  Scheduler s(map, o, seconds(0));
  MeasureFastLink(s);
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

TEST(SchedulerTest, TheHottestFirstOrderWeighsAnAccessByItsAge) {
  // The window is 60 s: an access half a minute old weighs 2^-1.5 (half-life 20 s).
  auto first_region = [](int old_reads) {
    ChunkMap map(10 * kRegion * kG, kG);
    Scheduler s(map, Opts(Policy::kAdaptive), seconds(0));
    MeasureFastLink(s);
    for (int i = 0; i < old_reads; ++i) s.OnAppIo(Read(3 * kRegion * kG, kRegion * kG, 1000 + i));
    for (int i = 0; i < 3; ++i) s.OnAppIo(Read(7 * kRegion * kG, kRegion * kG, 31000 + i));
    return Drain(s).front().first.value / kRegion;
  };
  // Touched as often: the one touched last goes first, though higher.
  EXPECT_EQ(first_region(3), 7u);
  // Touched 8 times 30 s ago against 3 times now: 2.8 < 3.
  EXPECT_EQ(first_region(8), 7u);
  // Touched 9 times: 3.2 > 3.
  EXPECT_EQ(first_region(9), 3u);
}

TEST(SchedulerTest, OnALinkFewRequestsCannotFillHotChunksGrowToFillIt) {
  // The same hot region, but only 4 copies may be in flight: 64 KiB chunks would hold
  // 256 KiB of a budget of megabytes, so each chunk is a quarter of the budget at least
  // (capped by the largest chunk).
  ChunkMap map(10 * kRegion * kG, kG);
  Scheduler s(map, Opts(Policy::kAdaptive), seconds(0));
  MeasureFastLink(s);
  const uint64_t floor = s.link().ChunkFloor(4, seconds(0));
  ASSERT_GE(floor, s.link().Budget(seconds(0)) / 4);
  for (int i = 0; i < 20; ++i) s.OnAppIo(Read(6 * kRegion * kG, kRegion * kG, i));
  auto runs = Drain(s);
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs[0].first.value, 6 * kRegion);
  EXPECT_EQ(runs[0].count * kG, std::min<uint64_t>(floor, kRegion * kG));
}

TEST(SchedulerTest, AdaptiveHoldsCopiesToTheLinkBudgetWhileTheApplicationIsActive) {
  ChunkMap map(100 * kRegion * kG, kG);
  SchedulerOptions o = Opts(Policy::kAdaptive);
  o.max_in_flight = 64;
  o.link.idle_floor = 0;
  Scheduler s(map, o, seconds(0));
  // Measure the link (2 ms, 50 MB/s): a 4 KiB read, then a 4 MiB one, each alone.
  LinkSend small = s.SourceSent(4096, /*app=*/false, milliseconds(0));
  s.SourceAnswered(small, std::chrono::microseconds(2082));
  LinkSend big = s.SourceSent(4 << 20, /*app=*/false, milliseconds(5));
  s.SourceAnswered(big, std::chrono::microseconds(5000 + 2000 + 83886));
  const double rate = s.link().delivery_rate();
  EXPECT_GT(rate, 40e6);
  EXPECT_NEAR(std::chrono::duration<double>(s.link().base_latency()).count(), 0.002, 0.0002);
  // Idle: the bandwidth-delay product and two chunks at least, and no more than 10 ms of
  // queue for a read that arrives; chunks of half of it.
  const double bdp = rate * 0.002;
  const uint64_t idle = s.link().Budget(milliseconds(100));
  EXPECT_GE(idle, bdp + 2 * kG);
  EXPECT_LE(idle, bdp + rate * 0.01 + 2 * kG + 1);
  uint64_t bytes = 0;
  std::vector<CopyOp> ops;
  while (auto op = s.Next(milliseconds(100))) {
    bytes += op->bytes.length;
    EXPECT_LE(op->bytes.length, std::max<uint64_t>(kG, idle / 2));
    ops.push_back(*op);
  }
  EXPECT_GE(bytes, idle);
  EXPECT_LT(bytes, idle + idle / 2 + kG);
  for (const CopyOp& op : ops) s.OnCopyDone(op, true, milliseconds(105));

  // The application waits on a source read (a miss): the budget drops to what keeps its
  // queueing delay near the target, chunks shrink to half of it, and the miss's
  // granules go first.
  s.OnAppIo(Read(77 * kRegion * kG, 4096, 130));
  const LinkSend miss = s.SourceSent(4096, /*app=*/true, milliseconds(130));
  const uint64_t active = s.link().Budget(milliseconds(130));
  const double target = std::chrono::duration<double>(s.link().latency_target()).count();
  EXPECT_NEAR(static_cast<double>(active), rate * (0.002 + target), rate * 0.0002);
  EXPECT_LT(active, idle);
  ASSERT_TRUE(s.ReadsThrough(0, 4096));
  EXPECT_TRUE(s.OnReadThrough({GranuleIndex(77 * kRegion), 1}, milliseconds(130), /*copy_now=*/false).empty());
  auto first = s.Next(milliseconds(130));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->priority, CopyPriority::kPrefetch);
  EXPECT_LE(first->run.first.value, 77 * kRegion);
  EXPECT_GT(first->run.first.value + first->run.count, 77 * kRegion);
  EXPECT_LE(first->bytes.length, std::max<uint64_t>(kG, active / 2));
  uint64_t in_flight = first->bytes.length;
  while (auto op = s.Next(milliseconds(130))) in_flight += op->bytes.length;
  EXPECT_LE(in_flight, active + active / 2 + kG);

  // The application is active while it waits for its read, however long; once it has
  // not waited on the source for active_hold, the idle budget is back.
  EXPECT_TRUE(s.link().AppActive(milliseconds(400)));
  s.SourceAnswered(miss, milliseconds(131));
  EXPECT_EQ(s.link().Budget(milliseconds(331)), s.link().Budget(milliseconds(5000)));
  EXPECT_GT(s.link().Budget(milliseconds(331)), active);
}

TEST(SchedulerTest, TheFloorRateMovesTheCopyWhenTheBudgetAllowsNothing) {
  ChunkMap map(100 * kRegion * kG, kG);
  SchedulerOptions o = Opts(Policy::kAdaptive);
  o.link.min_rate = 1 << 20;  // 1 MiB/s
  o.link.latency_target = milliseconds(1);
  Scheduler s(map, o, seconds(0));
  // The base latency: a small read answered in 2 ms.
  LinkSend first = s.SourceSent(4096, /*app=*/true, milliseconds(0));
  s.SourceAnswered(first, milliseconds(2));
  // Application reads that waited 48 ms, each behind a copy the window allowed: the
  // budget halves to nothing.
  for (int i = 1; i <= 20; ++i) {
    LinkSend copy = s.SourceSent(kG, /*app=*/false, milliseconds(10 * i));
    LinkSend send = s.SourceSent(4096, /*app=*/true, milliseconds(10 * i));
    s.SourceAnswered(send, milliseconds(10 * i + 50));
    s.SourceAnswered(copy, milliseconds(10 * i + 50));
  }
  EXPECT_EQ(s.link().Budget(milliseconds(250)), 0u);
  uint64_t bytes = 0;
  std::vector<std::pair<CopyOp, LinkSend>> in_flight;
  for (int ms = 250; ms < 1250; ms += 10) {
    for (const auto& [op, sent] : in_flight) {
      s.SourceAnswered(sent, milliseconds(ms));
      s.OnCopyDone(op, true, milliseconds(ms));
    }
    in_flight.clear();
    while (auto op = s.Next(milliseconds(ms))) {
      bytes += op->bytes.length;
      in_flight.emplace_back(*op, s.SourceSent(op->bytes.length, /*app=*/false, milliseconds(ms)));
      EXPECT_EQ(in_flight.size(), 1u);  // one copy at a time
    }
    // The application keeps waiting 9 ms on each of its source reads, behind the copy.
    LinkSend send = s.SourceSent(4096, /*app=*/true, milliseconds(ms));
    s.SourceAnswered(send, milliseconds(ms + 9));
  }
  // One second at the floor rate: about 1 MiB.
  EXPECT_GE(bytes, 1u << 20);
  EXPECT_LE(bytes, (1u << 20) + (1u << 20) / 2);

  // The baselines have no controller: dm-clone keeps its fixed depth whatever happens.
  ChunkMap map2(100 * kRegion * kG, kG);
  Scheduler base(map2, Opts(Policy::kDmClone), seconds(0));
  (void)base.SourceSent(4096, /*app=*/true, milliseconds(0));
  int m = 0;
  while (base.Next(milliseconds(1))) ++m;
  EXPECT_EQ(m, 4);
}

TEST(SchedulerTest, AdaptiveDemandFetchesOnlyWhatTheAccessNeedsAndQueuesTheRest) {
  ChunkMap map(10 * kRegion * kG, kG);
  Scheduler s(map, Opts(Policy::kAdaptive), seconds(0));
  MeasureFastLink(s);
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
  MeasureFastLink(s);
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
