// A latency histogram for hot paths: logarithmic buckets (8 per doubling, from 1 us to
// about 2 minutes), counted with relaxed atomics so that recording takes no lock.
// Percentiles are read from a snapshot of the counts, to within 1/8 of a doubling (9%).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace ferry {

class LatencyHistogram {
 public:
  static constexpr int kPerDoubling = 8;
  static constexpr int kDoublings = 27;  // 2^27 us = 134 s; slower lands in the last bucket
  static constexpr int kBuckets = 1 + kPerDoubling * kDoublings;

  void Add(std::chrono::nanoseconds d) { counts_[Bucket(d)].fetch_add(1, std::memory_order_relaxed); }
  // The counts since the last Take(), which it resets.
  std::vector<uint64_t> Take();

  static int Bucket(std::chrono::nanoseconds d);
  // The latency in microseconds a bucket stands for (its geometric middle; 0 for bucket 0).
  static double BucketMicros(int bucket);
  // The q-quantile (0..1) in microseconds of a snapshot's counts; 0 when it is empty.
  static double Percentile(const std::vector<uint64_t>& counts, double q);
  // Adds `from` into `into` (both snapshots; `into` may be empty).
  static void Merge(std::vector<uint64_t>& into, const std::vector<uint64_t>& from);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
};

}  // namespace ferry
