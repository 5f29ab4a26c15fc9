#include "common/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ferry {

int LatencyHistogram::Bucket(std::chrono::nanoseconds d) {
  const auto ns = d.count();
  if (ns < 1000) return 0;
  const uint64_t us = static_cast<uint64_t>(ns) / 1000;  // >= 1
  const int log2 = std::bit_width(us) - 1;
  if (log2 >= kDoublings) return kBuckets - 1;
  // The position within the doubling, from the fraction of ns above 2^log2 us.
  const double frac = static_cast<double>(ns) / (1000.0 * static_cast<double>(uint64_t{1} << log2)) - 1.0;
  const int sub = std::clamp(static_cast<int>(frac * kPerDoubling), 0, kPerDoubling - 1);
  return 1 + log2 * kPerDoubling + sub;
}

double LatencyHistogram::BucketMicros(int bucket) {
  if (bucket <= 0) return 0;
  const int i = bucket - 1;
  const double lo = std::ldexp(1.0 + static_cast<double>(i % kPerDoubling) / kPerDoubling, i / kPerDoubling);
  const double hi = std::ldexp(1.0 + static_cast<double>(i % kPerDoubling + 1) / kPerDoubling, i / kPerDoubling);
  return std::sqrt(lo * hi);
}

std::vector<uint64_t> LatencyHistogram::Take() {
  std::vector<uint64_t> out(kBuckets);
  for (int i = 0; i < kBuckets; ++i) out[static_cast<size_t>(i)] = counts_[static_cast<size_t>(i)].exchange(0, std::memory_order_relaxed);
  return out;
}

double LatencyHistogram::Percentile(const std::vector<uint64_t>& counts, double q) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0) return 0;
  // The smallest bucket with at least ceil(q * total) samples at or below it.
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(total))));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank) return BucketMicros(static_cast<int>(i));
  }
  return BucketMicros(static_cast<int>(counts.size()) - 1);
}

void LatencyHistogram::Merge(std::vector<uint64_t>& into, const std::vector<uint64_t>& from) {
  if (into.size() < from.size()) into.resize(from.size(), 0);
  for (size_t i = 0; i < from.size(); ++i) into[i] += from[i];
}

}  // namespace ferry
