#include "sim/simulator.h"

#include <gtest/gtest.h>

#include <random>

#include "sched/scheduler.h"

namespace ferry {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr uint64_t kG = 64 << 10;
constexpr uint64_t kVolume = 256ull << 20;  // 4096 granules

IoEvent Ev(IoOp op, uint64_t offset, uint64_t length, std::chrono::nanoseconds t) {
  IoEvent e;
  e.op = op;
  e.offset = offset;
  e.length = length;
  e.time = t;
  return e;
}

// A workload that lives near the end of the volume: 4 KiB reads over a 4 MiB hot set at
// 192 MiB, every 10 ms for 100 s, plus one write at the volume's end (its size).
std::vector<IoEvent> HotTail() {
  std::vector<IoEvent> ev;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    uint64_t off = (192ull << 20) + (rng() % (4 << 20)) / 4096 * 4096;
    ev.push_back(Ev(IoOp::kRead, off, 4096, milliseconds(10 * i)));
  }
  ev.push_back(Ev(IoOp::kWrite, kVolume - kG, kG, milliseconds(100000)));
  return ev;
}

SimResult RunPolicy(std::vector<IoEvent> ev, Policy p, SimScenario s = {}) {
  auto r = ResolveScenario(ev, s);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return Simulate(ev, *r, p);
}

TEST(SimulatorTest, ScenarioDefaultsFollowTheTrace) {
  auto ev = HotTail();
  auto r = ResolveScenario(ev, SimScenario{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->volume_size, kVolume);
  EXPECT_EQ(r->migration_start, seconds(25));
  EXPECT_EQ(r->warmup_events, 2500u);
  // A bare copy takes half of the 75 s after the warm-up.
  EXPECT_NEAR(static_cast<double>(r->source_bw), kVolume / 37.5, 1.0);
}

TEST(SimulatorTest, BadScenariosAreRefused) {
  std::vector<IoEvent> none;
  EXPECT_FALSE(ResolveScenario(none, {}).ok());
  auto ev = HotTail();
  SimScenario s;
  s.warmup = 1.0;
  EXPECT_FALSE(ResolveScenario(ev, s).ok());
  s = {};
  s.max_chunk = 3 << 20;
  EXPECT_FALSE(ResolveScenario(ev, s).ok());
  s = {};
  s.time_scale = 0;
  EXPECT_FALSE(ResolveScenario(ev, s).ok());
}

TEST(SimulatorTest, SameInputSameOutput) {
  SimResult a = RunPolicy(HotTail(), Policy::kAdaptive);
  SimResult b = RunPolicy(HotTail(), Policy::kAdaptive);
  EXPECT_EQ(a.read_stalls, b.read_stalls);
  EXPECT_EQ(a.copy_ops, b.copy_ops);
  EXPECT_EQ(a.read_latencies_us, b.read_latencies_us);
  EXPECT_DOUBLE_EQ(a.migration_time_s, b.migration_time_s);
}

TEST(SimulatorTest, HeatFirstBeatsAscendingOrderOnAHotTail) {
  SimResult dm = RunPolicy(HotTail(), Policy::kDmClone);
  SimResult qs = RunPolicy(HotTail(), Policy::kQemuStream);
  SimResult ad = RunPolicy(HotTail(), Policy::kAdaptive);
  SimResult cv = RunPolicy(HotTail(), Policy::kClairvoyant);
  for (const SimResult* r : {&dm, &qs, &ad, &cv}) {
    EXPECT_TRUE(r->completed) << PolicyName(r->policy);
    EXPECT_EQ(r->reads, 7500u);
    // Every stall is a first touch or a seen one; the hot set was read in the warm-up,
    // so dm-clone's stalls there are seen ones.
    EXPECT_EQ(r->read_stalls_first_touch + r->read_stalls_seen, r->read_stalls) << PolicyName(r->policy);
  }
  EXPECT_GT(dm.read_stalls_seen, dm.read_stalls / 2);
  // dm-clone never hydrates on read: every read of the hot set stalls until the
  // ascending copy reaches 192 MiB, three quarters of the way through its 37.5 s, so
  // for 28 s of the 75.
  EXPECT_GT(dm.read_stall_ratio, 0.35);
  EXPECT_LT(ad.read_stall_ratio, qs.read_stall_ratio);
  EXPECT_LT(ad.read_stall_ratio, 0.05);
  // Clairvoyant knows the order of the accesses but not the link's queue: a read of a
  // granule whose copy is queued still waits, so on a workload adaptive also gets
  // nearly right the two are within a few reads of each other (here both copy the hot
  // set first at about the rate the reads reach new granules).
  EXPECT_LE(cv.read_stalls, ad.read_stalls + ad.read_stalls / 5 + 1);
  EXPECT_LT(cv.read_stalls, qs.read_stalls);
  EXPECT_LT(ad.read_latency_us.p99, dm.read_latency_us.p99);
  // The same bandwidth, the same volume: migration times within 5%.
  EXPECT_NEAR(ad.migration_time_s, dm.migration_time_s, 0.05 * dm.migration_time_s);
  EXPECT_GE(dm.bytes_from_source, kVolume);
}

TEST(SimulatorTest, RatePacesTheBackgroundButNotDemands) {
  SimScenario s;
  s.warmup = 0;
  s.source_bw = 10ull << 30;  // a link that is never the limit
  SimResult fast = RunPolicy(HotTail(), Policy::kDmClone, s);
  s.rate = 4 << 20;  // 256 MiB at 4 MiB/s: 64 s
  SimResult paced = RunPolicy(HotTail(), Policy::kDmClone, s);
  ASSERT_TRUE(fast.completed && paced.completed);
  EXPECT_LT(fast.migration_time_s, 2);
  EXPECT_GE(paced.migration_time_s, 63.5);
  EXPECT_LE(paced.migration_time_s, 66);
  // Adaptive's demands for the hot set go ahead of the paced background: reads of it
  // stall only on their first touches.
  SimResult adaptive = RunPolicy(HotTail(), Policy::kAdaptive, s);
  EXPECT_LT(adaptive.read_latency_us.p99, 10000);
}

TEST(SimulatorTest, ReadsOfPresentDataCostTheDestinationLatency) {
  std::vector<IoEvent> ev;
  ev.push_back(Ev(IoOp::kRead, 0, 4096, seconds(0)));
  // After the copy has finished (half the window), reads hit the destination.
  for (int i = 0; i < 10; ++i) ev.push_back(Ev(IoOp::kRead, 0, 4096, seconds(90 + i)));
  SimScenario s;
  s.volume_size = 64 << 20;
  SimResult r = RunPolicy(ev, Policy::kDmClone, s);
  EXPECT_EQ(r.reads, 10u);
  EXPECT_EQ(r.read_stalls, 0u);
  EXPECT_DOUBLE_EQ(r.read_latency_us.p50, 100.0);
  EXPECT_TRUE(r.completed);
}

TEST(SimulatorTest, WholeGranuleWritesSkipTheCopyAndPartialOnesAreLeftBehindIt) {
  std::vector<IoEvent> ev;
  ev.push_back(Ev(IoOp::kRead, 0, 4096, seconds(0)));
  // While the first half is being copied (one copy at a time): a whole-granule write
  // and a partial one into the second half.
  ev.push_back(Ev(IoOp::kWrite, 60 * kG, kG, seconds(26)));
  ev.push_back(Ev(IoOp::kWrite, 61 * kG + 512, 512, seconds(26)));
  ev.push_back(Ev(IoOp::kRead, 0, 4096, seconds(100)));
  SimScenario s;
  s.volume_size = 64 * kG;
  s.max_in_flight = 1;
  SimResult r = RunPolicy(ev, Policy::kDmClone, s);
  EXPECT_EQ(r.writes, 2u);
  // The partial one is answered at once, its granule copied behind it (the engine's
  // WriteBehind). Before the copy lands, a read of the written bytes alone is answered
  // from them; a read of others in the granule waits for the source.
  EXPECT_EQ(r.write_stalls, 0u);
  EXPECT_EQ(r.bytes_from_source, 63 * kG);  // granule 60 never came from the source
  ev.insert(ev.begin() + 3, Ev(IoOp::kRead, 61 * kG + 512, 512, seconds(26)));
  r = RunPolicy(ev, Policy::kDmClone, s);
  EXPECT_EQ(r.read_stalls, 0u);
  ev.insert(ev.begin() + 4, Ev(IoOp::kRead, 61 * kG, 4096, seconds(26)));
  r = RunPolicy(ev, Policy::kDmClone, s);
  EXPECT_EQ(r.read_stalls, 1u);
}

// The engine keeps the bytes of partial writes left behind their copies for at most
// Scheduler::kMaxWrittenBehindBytes of granules; a partial write to one more granule
// waits for its copy, and so does the simulator's.
TEST(SimulatorTest, PartialWritesBeyondTheBytesKeptForThemWaitForTheirGranules) {
  const uint64_t kept = Scheduler::kMaxWrittenBehindBytes / kG;  // granules
  std::vector<IoEvent> ev{Ev(IoOp::kRead, 0, 4096, seconds(0))};
  for (uint64_t i = 0; i < kept + 10; ++i) ev.push_back(Ev(IoOp::kWrite, (1000 + i) * kG + 512, 512, seconds(1)));
  ev.push_back(Ev(IoOp::kRead, 0, 4096, seconds(1000)));
  SimScenario s;
  s.volume_size = kVolume;
  s.max_in_flight = 1;
  s.warmup = 0;
  const SimResult r = RunPolicy(ev, Policy::kDmClone, s);
  EXPECT_EQ(r.writes, kept + 10);
  EXPECT_EQ(r.write_stalls, 10u);  // all at one instant: no copy has landed to make room
}

// The link controller (sched/link.h) against the simulator's deterministic link.

// An idle volume: no application I/O during the migration (one write long after it).
SimResult IdleCopy(uint64_t volume, std::chrono::nanoseconds latency, uint64_t bw) {
  std::vector<IoEvent> ev{Ev(IoOp::kWrite, 0, 4096, seconds(0)), Ev(IoOp::kWrite, 0, 4096, seconds(1000))};
  SimScenario s;
  s.volume_size = volume;
  s.source_latency = latency;
  s.source_bw = bw;
  s.warmup = 0;
  return RunPolicy(ev, Policy::kAdaptive, s);
}

TEST(SimulatorTest, OnALatencyBoundLinkTheCopyFillsTheBandwidthDelayProduct) {
  // 20 ms and 1 GB/s: 20 MB must be in flight to use the link; one 2 MiB copy at a time
  // would take 21 ms per 2 MiB, ten times the bare copy. (The window's start from a few
  // small copies, about 0.1 s, is a tenth of a 1 GiB copy here: 4 GiB.)
  const uint64_t volume = 4ull << 30, bw = 1000000000;
  const SimResult r = IdleCopy(volume, milliseconds(20), bw);
  ASSERT_TRUE(r.completed);
  const double bare = static_cast<double>(volume) / static_cast<double>(bw) + 0.020;
  EXPECT_LT(r.migration_time_s, bare * 1.05) << "bare copy " << bare << " s";
}

TEST(SimulatorTest, OnABandwidthBoundLinkTheCopyEndsInTheBareCopyTime) {
  const uint64_t volume = 256ull << 20, bw = 20000000;  // 2 ms, 20 MB/s
  const SimResult r = IdleCopy(volume, milliseconds(2), bw);
  ASSERT_TRUE(r.completed);
  const double bare = static_cast<double>(volume) / static_cast<double>(bw) + 0.002;
  EXPECT_LT(r.migration_time_s, bare * 1.05) << "bare copy " << bare << " s";
}

// A token bucket in front (nbdkit's rate filter, burst credits): what it holds crosses
// at once, so the copy ends that much sooner, and no sooner.
TEST(SimulatorTest, ATokenBucketsBurstShortensTheCopyByWhatItHolds) {
  const uint64_t volume = 256ull << 20, bw = 20000000;  // 2 ms, 20 MB/s: 13.4 s bare
  std::vector<IoEvent> ev{Ev(IoOp::kWrite, 0, 4096, seconds(0)), Ev(IoOp::kWrite, 0, 4096, seconds(1000))};
  SimScenario s;
  s.volume_size = volume;
  s.source_bw = bw;
  s.warmup = 0;
  s.source_burst = seconds(2);
  const SimResult r = RunPolicy(ev, Policy::kAdaptive, s);
  ASSERT_TRUE(r.completed);
  const double bare = static_cast<double>(volume) / static_cast<double>(bw) + 0.002;
  EXPECT_GT(r.migration_time_s, bare - 2.0);
  EXPECT_LT(r.migration_time_s, (bare - 2.0) * 1.05) << "bare copy " << bare << " s less the burst";
  EXPECT_EQ(r.bytes_from_source, volume);
  // At twice the bandwidth, the bucket's 2 s of it take 1 s.
  s.source_burst_bw = 2 * bw;
  const SimResult half = RunPolicy(ev, Policy::kAdaptive, s);
  ASSERT_TRUE(half.completed);
  EXPECT_GT(half.migration_time_s, bare - 1.0);
  EXPECT_LT(half.migration_time_s, (bare - 1.0) * 1.05);
}

TEST(SimulatorTest, AnActiveApplicationOnALatencyBoundLinkDoesNotHoldTheCopyBack) {
  // 4 KiB random reads every 0.5 ms over 4 GiB on a 2 ms, 10 GB/s link: the copies add
  // almost no queueing (a 2 MiB chunk is 0.2 ms of the link), so the window grows as
  // fast as it would idle (slow start) and chunks grow to fill the link with the
  // requests allowed. Measured: 1.11 times the idle copy's time; growing the window by
  // one chunk per round trip from the start (no slow start) took 1.94 times.
  const uint64_t volume = 4ull << 30, bw = 10000000000;
  std::vector<IoEvent> ev;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 4000; ++i) {
    ev.push_back(Ev(IoOp::kRead, (rng() % volume) / 4096 * 4096, 4096, std::chrono::microseconds(500 * i)));
  }
  SimScenario s;
  s.volume_size = volume;
  s.source_bw = bw;
  s.warmup = 0;
  const SimResult active = RunPolicy(ev, Policy::kAdaptive, s);
  const SimResult idle = IdleCopy(volume, milliseconds(2), bw);
  ASSERT_TRUE(active.completed && idle.completed);
  EXPECT_LT(active.migration_time_s, 1.25 * idle.migration_time_s) << "idle " << idle.migration_time_s << " s, active " << active.migration_time_s;
}

// `n` 4 KiB reads at random over 1 GiB, one every 5 ms, and their scenario: the whole
// trace migrating over a 2 ms, 50 MB/s link.
std::vector<IoEvent> RandomReads(int n, uint64_t seed) {
  std::vector<IoEvent> ev;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < n; ++i) {
    ev.push_back(Ev(IoOp::kRead, (rng() % (1ull << 30)) / 4096 * 4096, 4096, milliseconds(5 * i)));
  }
  return ev;
}
SimScenario RandomReadsScenario() {
  SimScenario s;
  s.volume_size = 1ull << 30;
  s.source_bw = 50000000;
  s.warmup = 0;
  return s;
}

TEST(SimulatorTest, AStreadyApplicationsReadsQueueNoLongerThanTheTargetBehindCopies) {
  // 4 KiB random reads, 200 a second for 20 s, over 1 GiB on a 2 ms, 50 MB/s link: the
  // copy needs 21.5 s, so most of them miss. Each miss is read through: its own 4 KiB
  // behind at most the target's worth of copies (the controller) and one copy being
  // sent (a read may arrive just after it started).
  const std::vector<IoEvent> ev = RandomReads(4000, 3);
  SimScenario s = RandomReadsScenario();
  const SimResult r = RunPolicy(ev, Policy::kAdaptive, s);
  ASSERT_GT(r.read_stalls, 1500u);
  const double link = 0.002 + 4096.0 / 50e6, chunk = 65536.0 / 50e6;
  const double target = 3 * chunk;  // the default: three smallest copies' transmission
  // LEDBAT holds the queueing delay about the target: on average under it, and the
  // slowest read no more than two copies over it.
  double waited = 0;
  int n = 0;
  for (double us : r.read_latencies_us) {
    if (us > 1000) {
      waited += us / 1e6;
      ++n;
    }
  }
  EXPECT_LT(waited / n, link + target) << "mean of the reads that waited";
  EXPECT_LT(r.read_latency_us.p99 / 1e6, link + target + 2 * chunk) << r.read_latency_us.p99;
  // The dm-clone baseline, with no controller, makes the same reads wait far longer.
  const SimResult d = RunPolicy(ev, Policy::kDmClone, s);
  EXPECT_GT(d.read_latency_us.p99, 5 * r.read_latency_us.p99);
}

TEST(SimulatorTest, OnALinkSharedPerRequestAReadThroughPassesTheCopies) {
  // dm-clone's copies fill the link (no controller); 4 KiB misses read through. First
  // come first served, each waits for the copies ahead of it; on a link that shares
  // its bandwidth per request (nbdkit's rate filter), it takes its share beside them:
  // its bytes times the requests on the link, as the live runs measure it.
  const std::vector<IoEvent> ev = RandomReads(2000, 5);
  SimScenario s = RandomReadsScenario();
  const SimResult fifo = RunPolicy(ev, Policy::kDmClone, s);
  s.shared_link = true;
  const SimResult shared = RunPolicy(ev, Policy::kDmClone, s);
  const double alone = 0.002 + 4096.0 / 50e6;
  EXPECT_GT(fifo.read_latency_us.p50 / 1e6, 5 * alone) << fifo.read_latency_us.p50;
  // 64 copies on the link at most: a 4 KiB read takes 65 times its own transmission.
  EXPECT_LT(shared.read_latency_us.p99 / 1e6, 0.002 + 65 * 4096.0 / 50e6 + 1e-6) << shared.read_latency_us.p99;
  EXPECT_GT(shared.read_latency_us.p50 / 1e6, alone);
  // The copies still carry the same bytes: the migration takes as long.
  EXPECT_NEAR(shared.migration_time_s, fifo.migration_time_s, 0.05 * fifo.migration_time_s);
}

}  // namespace
}  // namespace ferry
