// HeatProfile: where a workload lives over time, for `ferry heat`: accesses binned by
// offset and time (the heat-map picture), hot/warm/cold bytes over time as the sliding
// window sees them, and the hottest ranges of the whole trace (the volume in up to 4096
// aligned buckets, the busiest ones, adjacent ones merged).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "heat/heat_map.h"

namespace ferry {

struct HeatProfileOptions {
  HeatOptions heat;
  double hot_quantile = 0.9;   // Default: the top 10% of touched granules are hot.
  uint32_t hot_count = 0;      // > 0: hot is this many accesses or more in the window, instead
  uint64_t volume_size = 0;    // 0: the end of the highest access
  int time_bins = 120;
  int offset_bins = 80;
  int top_ranges = 10;
};

struct ClassSample {
  double time_s = 0;
  uint64_t hot_bytes = 0, warm_bytes = 0, cold_bytes = 0;
  uint32_t hot_threshold = 0;  // accesses in the window that make a granule hot
};

struct HotRange {
  uint64_t offset = 0, length = 0;
  uint64_t accesses = 0;       // granule touches over the whole trace
  double per_granule = 0;      // accesses / granules
};

struct HeatProfile {
  uint64_t events = 0, volume_size = 0, touched_granules = 0;
  double span_s = 0;
  std::vector<double> grid;    // offset_bins rows x time_bins columns, row 0 = offset 0
  int rows = 0, cols = 0;
  std::vector<ClassSample> classes;
  std::vector<HotRange> hottest;
};

// Events in time order (as traces are; an event earlier than its predecessor counts at
// the predecessor's time).
HeatProfile BuildHeatProfile(const std::vector<IoEvent>& events, const HeatProfileOptions& options);

}  // namespace ferry
