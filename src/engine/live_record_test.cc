// LiveRecorder: the history behind a live run's report.
#include "engine/live_record.h"

#include <gtest/gtest.h>

#include "sched/scheduler.h"

namespace ferry {
namespace {

using std::chrono::microseconds;

TEST(LiveRecorderTest, CountsLandInTheirIntervalAndOffsetBin) {
  const uint64_t size = 200ull << 20;  // 1 MiB per bin
  LiveRecorder r(size);
  r.Request(0, 4096, false, microseconds(100));
  r.Request((1 << 20) - 2048, 4096, true, microseconds(5000));  // straddles bins 0 and 1
  r.Copied(size - 65536, 65536, CopyPriority::kBackground);
  r.Copied(0, 65536, CopyPriority::kDemand);
  r.Sample(1.0, 131072, /*read_stalls=*/1, /*write_stalls=*/0);
  r.Request(4096, 4096, false, microseconds(200));
  r.Sample(2.0, 131072, 1, 1);
  const LiveHistory h = r.history();
  ASSERT_EQ(h.rows.size(), 2u);
  const LiveRow& a = h.rows[0];
  EXPECT_EQ(a.reads, 1u);
  EXPECT_EQ(a.writes, 1u);
  EXPECT_EQ(a.read_stalls, 1u);
  EXPECT_EQ(a.demand_bytes, 65536u);
  EXPECT_EQ(a.background_bytes, 65536u);
  EXPECT_EQ(a.prefetch_bytes, 0u);
  EXPECT_EQ(a.io_map[0], 4096u + 2048u);
  EXPECT_EQ(a.io_map[1], 2048u);
  EXPECT_EQ(a.copy_map[0], 65536u);
  EXPECT_EQ(a.copy_map[LiveRecorder::kBins - 1], 65536u);
  const LiveRow& b = h.rows[1];
  EXPECT_DOUBLE_EQ(b.start_s, 1.0);
  EXPECT_EQ(b.reads, 1u);
  EXPECT_EQ(b.read_stalls, 0u);  // the difference, not the total
  EXPECT_EQ(b.write_stalls, 1u);
  EXPECT_EQ(b.demand_bytes, 0u);
  // Whole-run read latency: 100 us and 200 us.
  EXPECT_NEAR(LatencyHistogram::Percentile(h.read_latency, 0.5), 100, 10);
  EXPECT_NEAR(LatencyHistogram::Percentile(h.read_latency, 1.0), 200, 20);
  EXPECT_NEAR(LatencyHistogram::Percentile(h.write_latency, 0.5), 5000, 500);
}

TEST(LiveRecorderTest, TheWritesThatWaitedHaveTheirOwnLatency) {
  LiveRecorder r(1 << 30);
  r.Request(0, 4096, /*write=*/true, microseconds(50));
  r.Request(65536, 4096, /*write=*/true, microseconds(8000), /*waited=*/true);
  r.Request(0, 4096, /*write=*/false, microseconds(3000), /*waited=*/true);
  r.Sample(1.0, 0, 1, 1);
  using Of = LiveRecorder::Of;
  EXPECT_NEAR(r.Percentile(Of::kWaitedWrites, 0.5), 8000, 800);
  EXPECT_NEAR(r.Percentile(Of::kWrites, 0.0), 50, 5);
  EXPECT_NEAR(r.Percentile(Of::kWrites, 1.0), 8000, 800);
  EXPECT_NEAR(r.Percentile(Of::kMissedReads, 0.5), 3000, 300);  // a waited read is not a waited write
  EXPECT_EQ(r.missed_read_bytes(), 4096u);
}

TEST(LiveRecorderTest, ALongRunMergesRowsAndKeepsEveryCount) {
  LiveRecorder r(1 << 30);
  const int n = 3 * static_cast<int>(LiveHistory::kMaxRows) + 7;
  for (int i = 0; i < n; ++i) {
    const uint64_t off = static_cast<uint64_t>(i % 1024) << 20;
    r.Request(off, 512, false, microseconds(10));
    r.Copied(off, 4096, CopyPriority::kPrefetch);
    r.Sample(i + 1.0, static_cast<uint64_t>(i + 1) * 4096, static_cast<uint64_t>(i), 0);
  }
  const LiveHistory h = r.history();
  ASSERT_LE(h.rows.size(), LiveHistory::kMaxRows);
  uint64_t reads = 0, copied = 0, stalls = 0, io = 0;
  double last_end = 0;
  for (const LiveRow& row : h.rows) {
    EXPECT_DOUBLE_EQ(row.start_s, last_end);  // contiguous
    last_end = row.end_s;
    reads += row.reads;
    copied += row.prefetch_bytes;
    stalls += row.read_stalls;
    for (uint64_t v : row.io_map) io += v;
  }
  EXPECT_DOUBLE_EQ(last_end, n);
  EXPECT_EQ(reads, static_cast<uint64_t>(n));
  EXPECT_EQ(io, 512u * static_cast<uint64_t>(n));
  EXPECT_EQ(copied, 4096u * static_cast<uint64_t>(n));
  EXPECT_EQ(stalls, static_cast<uint64_t>(n - 1));
  EXPECT_EQ(h.rows.back().present_bytes, static_cast<uint64_t>(n) * 4096);
}

TEST(LatencyHistogramTest, PercentilesAreWithinABucket) {
  LatencyHistogram hist;
  for (int us = 1; us <= 10000; ++us) hist.Add(microseconds(us));
  const auto c = hist.Take();
  for (double q : {0.5, 0.9, 0.99}) {
    EXPECT_NEAR(LatencyHistogram::Percentile(c, q), q * 10000, q * 10000 * 0.09) << q;
  }
  EXPECT_EQ(LatencyHistogram::Percentile(hist.Take(), 0.5), 0);  // Take() reset it
  EXPECT_EQ(LatencyHistogram::Bucket(std::chrono::nanoseconds(10)), 0);
  EXPECT_EQ(LatencyHistogram::Bucket(std::chrono::hours(1)), LatencyHistogram::kBuckets - 1);
}

TEST(LiveRecorderTest, OutagesAreRecordedWithTheirStartAndLength) {
  LiveRecorder r(1 << 20);
  VolumeHealth h;
  r.Sample(1.0, 0, 0, 0, {}, h);
  h = {1, 0.4, 0.4};  // lost 0.4 s before the sample at 2 s
  r.Sample(2.0, 0, 0, 0, {}, h);
  h = {1, 1.4, 1.4};
  r.Sample(3.0, 0, 0, 0, {}, h);
  h = {1, 2.1, 0};  // back: 2.1 s in all
  r.Sample(4.0, 0, 0, 0, {}, h);
  h = {2, 2.6, 0};  // lost and back between two samples: 0.5 s
  r.Sample(5.0, 0, 0, 0, {}, h);
  h = {3, 2.9, 0.3};  // lost at the end
  r.Sample(6.0, 0, 0, 0, {}, h);
  const auto out = r.history().outages;
  ASSERT_EQ(out.size(), 3u);
  EXPECT_DOUBLE_EQ(out[0].start_s, 1.6);
  EXPECT_NEAR(out[0].seconds, 2.1, 1e-9);
  EXPECT_FALSE(out[0].ongoing);
  EXPECT_DOUBLE_EQ(out[1].start_s, 4.0);  // within (4 s, 5 s]
  EXPECT_NEAR(out[1].seconds, 0.5, 1e-9);
  EXPECT_NEAR(out[2].start_s, 5.7, 1e-9);
  EXPECT_TRUE(out[2].ongoing);
}

}  // namespace
}  // namespace ferry
