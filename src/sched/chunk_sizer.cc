#include "sched/chunk_sizer.h"

#include <algorithm>

namespace ferry {

namespace {
constexpr double kSignificant = 0.10;  // a change under 10% is noise (measured window-to-window spread here)
constexpr int kHoldWindows = 4;
constexpr int kMaxHoldDoublings = 5;
}  // namespace

ChunkSizer::ChunkSizer(uint64_t min_size, uint64_t max_size, Clock::time_point now,
                       Clock::duration window, int min_ops, uint64_t start)
    : min_(min_size),
      max_(std::max(min_size, max_size)),
      window_(window),
      min_ops_(min_ops),
      size_(std::clamp(start ? start : kStartSize, min_, max_)),
      base_size_(size_),
      window_start_(now) {}

bool ChunkSizer::Probe() {
  auto step = [&] {
    const uint64_t next = std::clamp(growing_ ? base_size_ * 2 : base_size_ / 2, min_, max_);
    return growing_ && !may_grow_ ? base_size_ : next;
  };
  uint64_t next = step();
  if (next == base_size_) {  // at a bound (or not to grow): try the other way
    growing_ = !growing_;
    next = step();
    if (next == base_size_) return false;  // nowhere to go
  }
  size_ = next;
  probing_ = true;
  return true;
}

void ChunkSizer::OnCompleted(uint64_t bytes, Clock::time_point now) {
  window_bytes_ += bytes;
  ++window_ops_;
  auto elapsed = now - window_start_;
  if (elapsed < window_ || window_ops_ < min_ops_) return;
  double throughput = window_bytes_ / std::chrono::duration<double>(elapsed).count();
  window_start_ = now;
  window_bytes_ = 0;
  window_ops_ = 0;
  best_throughput_ = std::max(best_throughput_, throughput);

  if (!probing_) {  // a window at the base size
    base_throughput_ = throughput;
    if (hold_ > 0) {
      --hold_;
      return;
    }
    Probe();
    return;
  }
  probing_ = false;
  const bool better = throughput > base_throughput_ * (1 + kSignificant);
  const bool smaller_enough = prefer_small_ && size_ < base_size_ && throughput >= best_throughput_ * (1 - kSignificant);
  if (better || smaller_enough) {  // the probe is better (or smaller, and good enough): go on
    base_size_ = size_;
    base_throughput_ = throughput;
    failed_probes_ = 0;
    Probe();
    return;
  }
  // Worse or no better: back to the base, rest there, then look the other way. Each
  // failure in a row doubles the rest (up to 32x), so a settled size costs little probing.
  size_ = base_size_;
  growing_ = !growing_;
  hold_ = kHoldWindows << std::min(failed_probes_, kMaxHoldDoublings);
  ++failed_probes_;
}

}  // namespace ferry
