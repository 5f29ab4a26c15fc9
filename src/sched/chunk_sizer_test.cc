#include "sched/chunk_sizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace ferry {
namespace {

using Clock = ChunkSizer::Clock;
using std::chrono::microseconds;

// Drives the sizer with a modelled device: each op costs latency + size/bandwidth,
// `depth` ops in flight. Returns the size it settles on.
uint64_t Settle(double latency_s, double bw, uint64_t min, uint64_t max, bool prefer_small = false,
                uint64_t start = 0) {
  Clock::time_point t{};
  ChunkSizer s(min, max, t, std::chrono::milliseconds(100), 8, start);
  s.set_prefer_small(prefer_small);
  for (int i = 0; i < 20000; ++i) {
    uint64_t size = s.size();
    double op_s = latency_s + static_cast<double>(size) / bw;
    t += microseconds(static_cast<int64_t>(op_s * 1e6));
    s.OnCompleted(size, t);
  }
  return s.size();
}

// A copy starts slowly (its requests fill the link), so its first window measures less
// than the size can give: a probe measured against it looks better for that alone.
TEST(ChunkSizerTest, TheFirstWindowIsNoBaseForAProbe) {
  Clock::time_point t{};
  ChunkSizer s(64 << 10, 2 << 20, t, std::chrono::milliseconds(100), 8);
  // Every size gives 1 GB/s, but the first 100 ms only 600 MB/s.
  for (int i = 0; i < 2000; ++i) {
    const uint64_t size = s.size();
    const double rate = t < Clock::time_point{} + std::chrono::milliseconds(100) ? 6e8 : 1e9;
    t += microseconds(static_cast<int64_t>(static_cast<double>(size) / rate * 1e6));
    s.OnCompleted(size, t);
  }
  EXPECT_EQ(s.size(), 1u << 20);
}

// Where the caller knows a larger chunk cannot pay (its transmission already outlasts
// the link's round trip), the sizer does not probe up, and still probes down.
TEST(ChunkSizerTest, DoesNotProbeUpWhereLargerCannotPay) {
  Clock::time_point t{};
  ChunkSizer s(64 << 10, 64 << 20, t, std::chrono::milliseconds(100), 8);
  s.set_may_grow(false);
  uint64_t largest = 0, smallest = ~0ull;
  for (int i = 0; i < 20000; ++i) {
    const uint64_t size = s.size();
    largest = std::max(largest, size);
    smallest = std::min(smallest, size);
    // 20 ms a request: larger chunks would give more (HighLatencySourceClimbsToMiBs).
    t += microseconds(static_cast<int64_t>((0.020 + static_cast<double>(size) / 1e9) * 1e6));
    s.OnCompleted(size, t);
  }
  EXPECT_EQ(largest, 1u << 20);
  EXPECT_LT(smallest, 1u << 20);  // it did look down
}

TEST(ChunkSizerTest, StartsAtOneMiBClamped) {
  EXPECT_EQ(ChunkSizer(64 << 10, 16 << 20, Clock::time_point{}).size(), 1u << 20);
  EXPECT_EQ(ChunkSizer(4 << 20, 16 << 20, Clock::time_point{}).size(), 4u << 20);
  EXPECT_EQ(ChunkSizer(4096, 64 << 10, Clock::time_point{}).size(), 64u << 10);
}

TEST(ChunkSizerTest, LowLatencySourceDoesNotClimbToTheMaximum) {
  // 50 us per request at 2 GB/s: 256 KiB already spends under 30% in latency, and
  // bigger steps gain less than the noise threshold, so it settles well below 64 MiB.
  EXPECT_LE(Settle(0.00005, 2e9, 64 << 10, 64 << 20), 8u << 20);
}

TEST(ChunkSizerTest, HighLatencySourceClimbsToMiBs) {
  // 20 ms per request, 1 GB/s: small requests waste nearly all the time in latency.
  EXPECT_GE(Settle(0.020, 1e9, 64 << 10, 64 << 20), 8u << 20);
}

TEST(ChunkSizerTest, StaysWithinBounds) {
  uint64_t s = Settle(0.020, 1e9, 64 << 10, 1 << 20);
  EXPECT_LE(s, 1u << 20);
  s = Settle(0.0, 1e9, 64 << 10, 1 << 20);
  EXPECT_GE(s, 64u << 10);
}

TEST(ChunkSizerTest, PrefersSmallerChunksOnlyWhenTheyCostLittle) {
  // Bandwidth-bound (no latency): every size gives the same throughput. A plain copy
  // stays where it started; with an application waiting it walks down to the minimum.
  EXPECT_EQ(Settle(0.0, 1e8, 64 << 10, 2 << 20, false, 2 << 20), 2u << 20);
  EXPECT_EQ(Settle(0.0, 1e8, 64 << 10, 2 << 20, true, 2 << 20), 64u << 10);
  // Latency-bound (20 ms a request): halving the chunk loses far more than 10%, so it
  // still climbs to MiBs.
  EXPECT_GE(Settle(0.020, 1e9, 64 << 10, 64 << 20, true), 8u << 20);
}

TEST(ChunkSizerTest, FixedWhenMinEqualsMax) {
  EXPECT_EQ(Settle(0.001, 1e8, 1 << 20, 1 << 20), 1u << 20);
}

}  // namespace
}  // namespace ferry
