// HeatMap: sliding-window access counts per granule (see heat_map.h).
#include "heat/heat_map.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

namespace ferry {

const char* HeatClassName(HeatClass c) {
  switch (c) {
    case HeatClass::kCold: return "cold";
    case HeatClass::kWarm: return "warm";
    case HeatClass::kHot: return "hot";
  }
  return "?";
}

Status ValidateHeatOptions(const HeatOptions& o) {
  if (!std::has_single_bit(o.granule_size) || o.granule_size < 512) {
    return InvalidArgument("--granule " + std::to_string(o.granule_size) + ": must be a power of two of at least 512");
  }
  if (o.slide.count() <= 0) return InvalidArgument("--slide must be positive");
  if (o.window < o.slide) return InvalidArgument("--window must be at least --slide");
  if (o.half_life.count() < 0) return InvalidArgument("the heat's half-life must not be negative");
  // Within a window the weights span at most 2^256 (HeatMap::kMaxWeightExponent).
  if (o.half_life.count() > 0 && o.window / o.half_life > 256) {
    return InvalidArgument("the heat's half-life must be at least the window / 256");
  }
  if (o.window / o.slide > 100000) return InvalidArgument("--window / --slide must be at most 100000 slots");
  return OkStatus();
}

HeatMap::HeatMap(const HeatOptions& options)
    : options_(options), granule_shift_(std::countr_zero(options.granule_size)),
      half_life_slides_(static_cast<double>(options.half_life.count()) / static_cast<double>(options.slide.count())) {
  assert(std::has_single_bit(options.granule_size));
  assert(options.slide.count() > 0 && options.window >= options.slide);
  const int64_t slots = (options.window.count() + options.slide.count() - 1) / options.slide.count();
  max_closed_ = static_cast<size_t>(slots - 1);
}

void HeatMap::AdvanceTo(std::chrono::nanoseconds now) {
  const int64_t slot = now.count() / options_.slide.count();
  if (open_slot_ < 0) {
    open_slot_ = slot;
    return;
  }
  if (slot <= open_slot_) return;
  const size_t used = open_.size();
  closed_.emplace_back(open_slot_, std::move(open_));
  open_ = Counts();
  open_.reserve(used);  // the next slot likely touches as many: no regrowth
  open_slot_ = slot;
  // Slots with index <= slot - slots have left the window: at most max_closed_ remain.
  const int64_t oldest_kept = slot - static_cast<int64_t>(max_closed_);
  while (!closed_.empty() && closed_.front().first < oldest_kept) {
    if (closed_.front().first <= total_through_ && !rebuild_) {
      if (leaving_.size() >= max_closed_ + 1) {
        rebuild_ = true;  // queries are rare: start over at the next one
        leaving_.clear();
      } else {
        leaving_.push_back(std::move(closed_.front()));
      }
    }
    closed_.pop_front();
  }
}

void HeatMap::Record(uint64_t offset, uint64_t length, std::chrono::nanoseconds time) {
  AdvanceTo(time);
  const uint64_t first = offset >> granule_shift_;
  const uint64_t last = length == 0 ? first : (offset + length - 1) >> granule_shift_;
  for (uint64_t g = first; g <= last; ++g) ++open_[g];
  total_touches_ += last - first + 1;
}

double HeatMap::SlotFactor(int64_t slot) const {
  return half_life_slides_ > 0 ? std::exp2(static_cast<double>(slot - weight_base_) / half_life_slides_) : 1.0;
}

const HeatMap::Totals& HeatMap::ClosedTotal() const {
  if (rebuild_) {
    closed_total_.clear();
    total_through_ = -1;
    rebuild_ = false;
  }
  for (const auto& [slot, gone] : leaving_) {
    const double factor = SlotFactor(slot);
    for (const auto& [g, c] : gone) {
      auto it = closed_total_.find(g);
      if (it->second.count == c) {
        closed_total_.erase(it);
      } else {
        it->second.count -= c;
        it->second.weight -= c * factor;
      }
    }
  }
  leaving_.clear();
  // Keep the newest slot's factor bounded: rescale every sum to a newer base.
  if (half_life_slides_ > 0 && !closed_.empty() &&
      static_cast<double>(closed_.back().first - weight_base_) / half_life_slides_ > kMaxWeightExponent) {
    const int64_t base = closed_.front().first;
    const double rescale = std::exp2(-static_cast<double>(base - weight_base_) / half_life_slides_);
    for (auto& [g, t] : closed_total_) t.weight *= rescale;
    weight_base_ = base;
  }
  for (const auto& [index, counts] : closed_) {
    if (index <= total_through_) continue;
    const double factor = SlotFactor(index);
    for (const auto& [g, c] : counts) {
      Total& t = closed_total_[g];
      t.count += c;
      t.weight += c * factor;
    }
    total_through_ = index;
  }
  return closed_total_;
}

uint32_t HeatMap::Count(uint64_t g) const {
  uint32_t n = 0;
  if (auto it = open_.find(g); it != open_.end()) n += it->second;
  const Totals& closed = ClosedTotal();
  if (auto it = closed.find(g); it != closed.end()) n += it->second.count;
  return n;
}

size_t HeatMap::touched() const {
  const Totals& closed = ClosedTotal();
  size_t n = closed.size();
  for (const auto& [g, c] : open_) n += !closed.contains(g);
  return n;
}

std::vector<GranuleHeat> HeatMap::Snapshot(bool sorted) const {
  const Totals& closed = ClosedTotal();
  // A closed sum's weight is relative to weight_base_; an open access weighs 1. With no
  // half-life every factor is 1 and a weight is its count, exactly.
  const double scale = 1.0 / SlotFactor(open_slot_);
  std::vector<GranuleHeat> out;
  out.reserve(closed.size() + open_.size());
  for (const auto& [g, t] : closed) {
    auto it = open_.find(g);
    const uint32_t open = it == open_.end() ? 0 : it->second;
    out.push_back({g, t.count + open, t.weight * scale + open});
  }
  for (const auto& [g, c] : open_) {
    if (!closed.contains(g)) out.push_back({g, c, static_cast<double>(c)});
  }
  if (sorted) {
    std::sort(out.begin(), out.end(), [](const GranuleHeat& a, const GranuleHeat& b) { return a.granule < b.granule; });
  }
  return out;
}

HeatThresholds QuantileThresholds(const std::vector<GranuleHeat>& heat, double hot_quantile) {
  HeatThresholds t;
  if (heat.empty()) return t;
  std::vector<uint32_t> counts(heat.size());
  for (size_t i = 0; i < heat.size(); ++i) counts[i] = heat[i].count;
  hot_quantile = std::clamp(hot_quantile, 0.0, 1.0);
  size_t k = std::min(counts.size() - 1, static_cast<size_t>(hot_quantile * static_cast<double>(counts.size())));
  std::nth_element(counts.begin(), counts.begin() + static_cast<ptrdiff_t>(k), counts.end());
  t.hot = std::max<uint32_t>(2, counts[k]);
  return t;
}

}  // namespace ferry
