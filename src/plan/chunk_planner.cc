// ChunkPlanner: heat-sized chunk boundaries (see chunk_planner.h).
#include "plan/chunk_planner.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

#include <absl/container/flat_hash_map.h>

namespace ferry {

ChunkPlanner::ChunkPlanner(const ChunkMap& map, const PlanOptions& options)
    : map_(map), options_(options),
      region_granules_(std::max<uint64_t>(1, options.max_chunk / map.granule_size())),
      min_granules_(std::max<uint64_t>(1, options.min_chunk / map.granule_size())) {
  assert(std::has_single_bit(region_granules_) && std::has_single_bit(min_granules_));
  assert(min_granules_ <= region_granules_);
}

void ChunkPlanner::Replan(const std::vector<GranuleHeat>& heat) {
  by_offset_.clear();
  const uint32_t hot = QuantileThresholds(heat, options_.hot_quantile).hot;
  const uint64_t n = map_.granule_count();
  // Weights are summed in fixed point: exact, so a region's heat does not depend on the
  // order its granules come in (a HeatMap snapshot's hash order changes from run to run,
  // and the simulator must be deterministic).
  constexpr double kFixed = 1 << 16;
  auto fixed = [](double weight) { return static_cast<uint64_t>(std::llround(weight * kFixed)); };
  auto add_region = [&](uint64_t region, uint64_t sum, uint64_t hot_count, uint64_t warm_count) {
    HeatRegion r;
    r.first_granule = region * region_granules_;
    r.granules = std::min(region_granules_, n - r.first_granule);
    if (!map_.NextMissing(GranuleIndex(r.first_granule), 1, r.first_granule + r.granules)) return;  // all copied
    const double g = static_cast<double>(r.granules);
    r.heat = static_cast<double>(sum) / kFixed / g;
    r.hotness = (static_cast<double>(hot_count) + 0.5 * static_cast<double>(warm_count)) / g;
    by_offset_.push_back(r);
  };
  auto by_granule = [](const GranuleHeat& a, const GranuleHeat& b) { return a.granule < b.granule; };
  // Many touched granules in hash order: sorting them beats summing into a hash table
  // too large for the cache (bench/policy_bench.cc, BM_Replan16TiB).
  constexpr size_t kSortAbove = 256 << 10;
  std::vector<GranuleHeat> sorted_copy;
  const bool sorted = std::is_sorted(heat.begin(), heat.end(), by_granule);
  if (!sorted && heat.size() > kSortAbove) {
    sorted_copy = heat;
    std::sort(sorted_copy.begin(), sorted_copy.end(), by_granule);
  }
  const std::vector<GranuleHeat>& in = sorted_copy.empty() ? heat : sorted_copy;
  if (sorted || !sorted_copy.empty()) {
    // One pass, region by region.
    size_t i = 0;
    while (i < in.size() && in[i].granule < n) {
      const uint64_t region = in[i].granule / region_granules_;
      uint64_t sum = 0, hot_count = 0, warm_count = 0;
      for (; i < in.size() && in[i].granule < n && in[i].granule / region_granules_ == region; ++i) {
        sum += fixed(in[i].weight);
        (in[i].count >= hot ? hot_count : warm_count) += 1;
      }
      add_region(region, sum, hot_count, warm_count);
    }
  } else {
    // Hash order (a HeatMap snapshot): sum per region, then sort only the regions.
    struct Sums {
      uint64_t sum = 0, hot = 0, warm = 0;
    };
    absl::flat_hash_map<uint64_t, Sums> regions;
    regions.reserve(std::min<size_t>(heat.size(), static_cast<size_t>(n / region_granules_ + 1)));
    for (const GranuleHeat& h : heat) {
      if (h.granule >= n) continue;  // heat beyond the volume's end
      Sums& s = regions[h.granule / region_granules_];
      s.sum += fixed(h.weight);
      (h.count >= hot ? s.hot : s.warm) += 1;
    }
    by_offset_.reserve(regions.size());
    for (const auto& [region, s] : regions) add_region(region, s.sum, s.hot, s.warm);
    std::sort(by_offset_.begin(), by_offset_.end(),
              [](const HeatRegion& a, const HeatRegion& b) { return a.first_granule < b.first_granule; });
  }
  hot_order_ = by_offset_;
  std::stable_sort(hot_order_.begin(), hot_order_.end(),
                   [](const HeatRegion& a, const HeatRegion& b) { return a.heat > b.heat; });
}

const HeatRegion* ChunkPlanner::RegionOf(uint64_t g) const {
  auto it = std::upper_bound(by_offset_.begin(), by_offset_.end(), g,
                             [](uint64_t v, const HeatRegion& r) { return v < r.first_granule; });
  if (it == by_offset_.begin()) return nullptr;
  --it;
  return g < it->first_granule + it->granules ? &*it : nullptr;
}

double ChunkPlanner::HeatAt(uint64_t g) const {
  const HeatRegion* r = RegionOf(g);
  return r ? r->heat : 0;
}

uint64_t ChunkPlanner::ChunkGranulesAt(uint64_t g, uint64_t cold_granules, uint64_t hot_granules) const {
  cold_granules = std::clamp<uint64_t>(std::bit_floor(std::max<uint64_t>(1, cold_granules)), min_granules_, region_granules_);
  const uint64_t hot = std::clamp<uint64_t>(std::bit_floor(std::max(hot_granules, min_granules_)), min_granules_, cold_granules);
  const HeatRegion* r = RegionOf(g);
  if (!r || r->hotness <= 0) return cold_granules;
  // Geometric interpolation between the cold size and the minimum, rounded to the
  // nearest power of two in log space (rounding down would halve the chunks of a region
  // with a single touched granule).
  const double log_size = std::log2(static_cast<double>(cold_granules)) +
                          r->hotness * (std::log2(static_cast<double>(hot)) - std::log2(static_cast<double>(cold_granules)));
  const uint64_t size = uint64_t{1} << static_cast<int>(std::lround(std::max(0.0, log_size)));
  return std::clamp<uint64_t>(size, hot, cold_granules);
}

}  // namespace ferry
