// ChunkPlanner: variable chunk boundaries over the missing granules of a ChunkMap, sized
// by heat (DESIGN.md "Chunks"): toward the minimum chunk where a range is predominantly
// hot (a demand fetch finishes sooner, less is copied that a write would overwrite),
// toward the cold size where it is cold (throughput, fewer operations).
//
// The volume is divided into regions of `max_chunk`, aligned. Replan() scores every
// region that holds touched granules: its heat is the mean access weight per granule
// (GranuleHeat::weight: the access count, or the accesses weighted by their age), and
// its hotness is the share of its granules that are hot plus half the share that are
// warm (hot = at or above the `hot_quantile` count of the touched granules). A region's
// chunk size is cold_size * (min_chunk / cold_size) ^ hotness, rounded to the nearest
// power of two granules: one hot region is cut into min-sized chunks, a cold one into
// cold-sized ones. Chunks are aligned within their region, so the same granule always
// belongs to the same chunk whatever order the copy takes; a chunk is the run of
// missing granules around a granule, clipped to its aligned block.
//
// Replan() costs O(touched granules + heated regions), independent of volume size. The
// granule bitmap stays the ground truth; the plan is only a view of it (the scheduler
// cuts a chunk from it where it copies: Scheduler::ChunkAt). Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "heat/heat_map.h"
#include "plan/chunk_map.h"

namespace ferry {

struct PlanOptions {
  uint64_t min_chunk = 64 << 10;  // Default: one 64 KiB granule.
  uint64_t max_chunk = 2 << 20;   // Default: 2 MiB; also the region size.
  double hot_quantile = 0.9;      // Default: the top 10% of touched granules are hot.
};

// One region of max_chunk with accesses in the heat window.
struct HeatRegion {
  uint64_t first_granule = 0;
  uint64_t granules = 0;
  double heat = 0;     // access weight per granule in the window
  double hotness = 0;  // 0 (cold) .. 1 (every granule hot)
};

class ChunkPlanner {
 public:
  // `options` must satisfy granule <= min_chunk <= max_chunk, all powers of two.
  ChunkPlanner(const ChunkMap& map, const PlanOptions& options);

  // Scores regions from `heat` (a HeatMap snapshot, in any order); regions with no
  // missing granule left are dropped.
  void Replan(const std::vector<GranuleHeat>& heat);

  // Regions that hold missing granules and heat, hottest first (ties: lower offset).
  const std::vector<HeatRegion>& hot_order() const { return hot_order_; }

  // The chunk size for granule g, in granules, when cold chunks are `cold_granules`
  // long (a power of two <= the region size; the throughput sizer's choice) and hot ones
  // at least `hot_granules` (0: the minimum chunk; the link's floor, which may be more:
  // on a latency-bound link a small chunk costs a round trip for little data).
  uint64_t ChunkGranulesAt(uint64_t g, uint64_t cold_granules, uint64_t hot_granules = 0) const;
  double HeatAt(uint64_t g) const;

 private:
  const HeatRegion* RegionOf(uint64_t g) const;

  const ChunkMap& map_;
  PlanOptions options_;
  uint64_t region_granules_;
  uint64_t min_granules_;
  std::vector<HeatRegion> by_offset_;  // heated regions, ascending
  std::vector<HeatRegion> hot_order_;
};

}  // namespace ferry
