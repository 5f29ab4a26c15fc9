// HeatMap: where a workload lives now. Sliding-window access counts per granule
// (DESIGN.md "Architecture": heat map), the input of the chunk planner and the
// scheduler's hot-first order, and of `ferry heat`.
//
// The window is a ring of `slide`-long slots, each a hash map of counts. An access adds
// one to each granule it touches in the open slot; when time passes a slot boundary the
// slot closes, and slots older than `window` leave. So a count is the number of
// accesses in the last `window` rounded up to whole slides, and memory is proportional
// to the granules touched in that window. Ingest is one hash update per touched granule
// (absl::flat_hash_map) and nothing per slot; the closed slots' sum is brought up to
// date at the first query after slots close or leave, at the cost of the slots that
// changed (bench/policy_bench.cc).
//
// Thread-compatible: callers serialise access.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "ferry/io_event.h"
#include "ferry/status.h"

namespace ferry {

struct HeatOptions {
  uint64_t granule_size = 64 << 10;          // Default: 64 KiB, the migration granule.
  std::chrono::nanoseconds window{std::chrono::seconds(60)};  // Default: 60 s.
  std::chrono::nanoseconds slide{std::chrono::seconds(5)};    // Default: 5 s.
  // GranuleHeat::weight counts an access in a slot `age` slides old as
  // 2^(-age * slide / half_life). 0: every access in the window weighs 1 (the default).
  std::chrono::nanoseconds half_life{0};
};

enum class HeatClass : uint8_t { kCold, kWarm, kHot };
const char* HeatClassName(HeatClass c);

// Count thresholds: a granule with count >= hot is hot, >= warm is warm, else cold.
struct HeatThresholds {
  uint32_t warm = 1;
  uint32_t hot = 2;
  HeatClass Classify(uint32_t count) const {
    return count >= hot ? HeatClass::kHot : count >= warm ? HeatClass::kWarm : HeatClass::kCold;
  }
};

struct GranuleHeat {
  uint64_t granule = 0;
  uint32_t count = 0;
  // The accesses weighted by their age (HeatOptions::half_life); `count` when the
  // options give no half-life.
  double weight = 0;
};

// Thresholds from the distribution of counts over `heat` (touched granules, any order):
// hot is the count at quantile `hot_quantile` (e.g. 0.9: the top 10% are hot), warm is
// any touched granule. At least {1, 2}.
HeatThresholds QuantileThresholds(const std::vector<GranuleHeat>& heat, double hot_quantile);

class HeatMap {
 public:
  // `granule_size` must be a power of two; `slide` > 0 and <= `window` (callers validate,
  // see ValidateHeatOptions).
  explicit HeatMap(const HeatOptions& options);

  const HeatOptions& options() const { return options_; }

  // Counts one access to [offset, offset+length) at `time` (zero-length: one granule).
  // Time should not go backwards; an earlier access counts in the open slot.
  void Record(uint64_t offset, uint64_t length, std::chrono::nanoseconds time);
  void Record(const IoEvent& e) { Record(e.offset, e.length, e.time); }
  // Moves the window's end to `now`, closing and expiring slots.
  void AdvanceTo(std::chrono::nanoseconds now);

  // Accesses to granule `g` in the window.
  uint32_t Count(uint64_t g) const;
  // Granules with a non-zero count in the window.
  size_t touched() const;
  // Every touched granule with its count, ascending by granule (or in no particular
  // order, which is cheaper, when not `sorted`).
  std::vector<GranuleHeat> Snapshot(bool sorted = true) const;
  // QuantileThresholds over this window's touched granules.
  HeatThresholds QuantileThresholds(double hot_quantile) const {
    return ferry::QuantileThresholds(Snapshot(false), hot_quantile);
  }
  // Total accesses recorded since construction (granule touches, not events).
  uint64_t total_touches() const { return total_touches_; }

 private:
  using Counts = absl::flat_hash_map<uint64_t, uint32_t>;
  // A granule's accesses in the closed slots, and with a half-life their weighted sum:
  // each access counts 2^((slot - weight_base_) / half-life in slides), so the sum of a
  // granule needs no update as slots age; a query scales it by 2^(-(open slot -
  // weight_base_) / half-life). weight_base_ moves up (every sum rescaled) before the
  // factors grow past 2^kMaxWeightExponent.
  struct Total {
    uint32_t count = 0;
    double weight = 0;
  };
  using Totals = absl::flat_hash_map<uint64_t, Total>;
  static constexpr double kMaxWeightExponent = 256;
  // The closed slots' totals; brought up to date on the first query after a slot closes.
  const Totals& ClosedTotal() const;
  double SlotFactor(int64_t slot) const;  // 2^((slot - weight_base_) / half-life in slides)

  HeatOptions options_;
  int granule_shift_;
  size_t max_closed_;        // closed slots kept: window / slide rounded up, minus the open one
  double half_life_slides_;  // 0: no half-life
  int64_t open_slot_ = -1;   // index (time / slide) of the open slot; -1 before the first access
  Counts open_;              // counts of the open slot
  std::deque<std::pair<int64_t, Counts>> closed_;  // (slot index, counts), oldest first
  // The sum of the closed slots with index <= total_through_, kept up to date lazily:
  // a query adds the slots closed since and takes back those that left (kept in
  // leaving_ until then, at most a window's worth; beyond that, a full rebuild).
  mutable Totals closed_total_;
  mutable int64_t total_through_ = -1;
  mutable int64_t weight_base_ = 0;
  mutable std::deque<std::pair<int64_t, Counts>> leaving_;
  mutable bool rebuild_ = false;
  uint64_t total_touches_ = 0;
};

// kInvalidArgument naming the option when the options are unusable.
Status ValidateHeatOptions(const HeatOptions& options);

}  // namespace ferry
