#include "heat/profile.h"

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <bit>

namespace ferry {

namespace {

// Hottest ranges: the volume in up to 4096 aligned buckets (at least a granule); the
// top `top_ranges` buckets by accesses, adjacent ones merged; busiest first.
std::vector<HotRange> HottestRanges(const absl::flat_hash_map<uint64_t, uint64_t>& totals, uint64_t g,
                                    uint64_t volume_size, int top_ranges) {
  const uint64_t bucket = std::max<uint64_t>(g, std::bit_ceil(std::max<uint64_t>(1, volume_size / 4096)));
  absl::flat_hash_map<uint64_t, uint64_t> per_bucket;
  for (const auto& [k, n] : totals) per_bucket[k * g / bucket] += n;
  std::vector<std::pair<uint64_t, uint64_t>> top(per_bucket.begin(), per_bucket.end());  // bucket, accesses
  std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  if (top.size() > static_cast<size_t>(std::max(0, top_ranges))) top.resize(static_cast<size_t>(std::max(0, top_ranges)));
  std::sort(top.begin(), top.end());
  std::vector<HotRange> ranges;
  for (const auto& [b, n] : top) {
    if (!ranges.empty() && ranges.back().offset + ranges.back().length == b * bucket) {
      ranges.back().length += bucket;
      ranges.back().accesses += n;
    } else {
      ranges.push_back({b * bucket, bucket, n, 0});
    }
  }
  for (auto& r : ranges) {
    r.length = std::min(r.length, std::max(volume_size, r.offset + g) - r.offset);
    r.per_granule = static_cast<double>(r.accesses) / static_cast<double>(std::max<uint64_t>(1, (r.length + g - 1) / g));
  }
  std::sort(ranges.begin(), ranges.end(), [](const HotRange& a, const HotRange& b) {
    return a.accesses != b.accesses ? a.accesses > b.accesses : a.offset < b.offset;
  });
  return ranges;
}

}  // namespace

HeatProfile BuildHeatProfile(const std::vector<IoEvent>& events, const HeatProfileOptions& o) {
  HeatProfile p;
  p.events = events.size();
  const uint64_t g = o.heat.granule_size;
  uint64_t highest = 0;
  std::chrono::nanoseconds t0 = events.empty() ? std::chrono::nanoseconds(0) : events.front().time, t1 = t0;
  for (const IoEvent& e : events) highest = std::max(highest, e.offset + e.length), t1 = std::max(t1, e.time);
  p.volume_size = o.volume_size ? o.volume_size : highest;
  p.span_s = std::chrono::duration<double>(t1 - t0).count();
  p.rows = std::max(1, o.offset_bins);
  p.cols = std::max(1, o.time_bins);
  p.grid.assign(static_cast<size_t>(p.rows) * static_cast<size_t>(p.cols), 0.0);
  const double span_ns = std::max<double>(1, static_cast<double>((t1 - t0).count()));
  const uint64_t volume_granules = std::max<uint64_t>(1, (p.volume_size + g - 1) / g);

  HeatMap heat(o.heat);
  absl::flat_hash_map<uint64_t, uint64_t> totals;
  auto sample = [&](double time_s) {
    ClassSample s;
    s.time_s = time_s;
    const std::vector<GranuleHeat> snapshot = heat.Snapshot(/*sorted=*/false);
    HeatThresholds th = o.hot_count ? HeatThresholds{1, o.hot_count} : QuantileThresholds(snapshot, o.hot_quantile);
    s.hot_threshold = th.hot;
    uint64_t hot = 0, warm = 0;
    for (const GranuleHeat& h : snapshot) {
      if (h.granule >= volume_granules) continue;
      (th.Classify(h.count) == HeatClass::kHot ? hot : warm) += 1;
    }
    s.hot_bytes = hot * g;
    s.warm_bytes = warm * g;
    s.cold_bytes = (volume_granules - std::min(volume_granules, hot + warm)) * g;
    p.classes.push_back(s);
  };
  int next_col = 1;  // the time bin whose start triggers the next sample
  std::chrono::nanoseconds last = t0;
  for (const IoEvent& e : events) {
    const auto t = std::max(e.time, last);
    last = t;
    const double rel = static_cast<double>((t - t0).count());
    int col = std::min(p.cols - 1, static_cast<int>(rel / span_ns * p.cols));
    while (next_col <= col) {
      heat.AdvanceTo(t0 + std::chrono::nanoseconds(static_cast<int64_t>(span_ns * next_col / p.cols)));
      sample(span_ns * next_col / p.cols / 1e9);
      ++next_col;
    }
    heat.Record(e.offset, e.length, t);
    if (e.offset < p.volume_size) {
      int row = std::min<int>(p.rows - 1, static_cast<int>(static_cast<double>(e.offset) / static_cast<double>(p.volume_size) * p.rows));
      p.grid[static_cast<size_t>(row) * static_cast<size_t>(p.cols) + static_cast<size_t>(col)] += 1;
    }
    const uint64_t first = e.offset / g, end = e.length ? (e.offset + e.length - 1) / g + 1 : first + 1;
    for (uint64_t k = first; k < end; ++k) ++totals[k];
  }
  if (!events.empty()) sample(p.span_s);
  p.touched_granules = totals.size();

  p.hottest = HottestRanges(totals, g, p.volume_size, o.top_ranges);
  return p;
}

}  // namespace ferry
