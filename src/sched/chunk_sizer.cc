#include "sched/chunk_sizer.h"

#include <algorithm>

namespace ferry {

namespace {
constexpr double kSignificant = 0.05;  // a change under 5% is noise
constexpr int kHoldWindows = 4;
}  // namespace

ChunkSizer::ChunkSizer(uint64_t min_size, uint64_t max_size, Clock::time_point now,
                       Clock::duration window, int min_ops)
    : min_(min_size),
      max_(std::max(min_size, max_size)),
      window_(window),
      min_ops_(min_ops),
      size_(std::clamp(kStartSize, min_, max_)),
      window_start_(now) {}

void ChunkSizer::Step(bool up) {
  uint64_t next = up ? size_ * 2 : size_ / 2;
  size_ = std::clamp(next, min_, max_);
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

  if (min_ == max_) return;
  if (hold_ > 0) {
    --hold_;
    last_throughput_ = throughput;
    if (hold_ == 0) Step(growing_);  // probe again
    return;
  }
  if (last_throughput_ > 0) {
    if (throughput < last_throughput_ * (1 - kSignificant)) {
      growing_ = !growing_;  // the last step hurt: go back
    } else if (throughput < last_throughput_ * (1 + kSignificant)) {
      hold_ = kHoldWindows;  // flat: stay here a while
      last_throughput_ = throughput;
      return;
    }
  }
  last_throughput_ = throughput;
  // At a bound, turn around so the next probe is a real change.
  if ((growing_ && size_ >= max_) || (!growing_ && size_ <= min_)) growing_ = !growing_;
  Step(growing_);
}

}  // namespace ferry
