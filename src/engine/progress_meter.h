// ProgressMeter: turns "done bytes at time t" samples into Progress reports (rate as
// an exponentially weighted average, ETA), at most one per interval. Used by Migrate and
// Verify from their calling thread.
#pragma once

#include <chrono>

#include "ferry/engine.h"

namespace ferry {

class ProgressMeter {
 public:
  using Clock = std::chrono::steady_clock;
  ProgressMeter(const ProgressFn& fn, std::chrono::milliseconds interval, uint64_t total, uint64_t initial_done)
      : fn_(fn), interval_(interval), total_(total), start_(Clock::now()), last_(start_),
        last_done_(initial_done) {}

  // When the interval has passed (or `force`), reports `done` to the callback.
  void Update(uint64_t done, uint64_t chunk_size, bool force = false) {
    if (!fn_) return;
    auto now = Clock::now();
    double dt = std::chrono::duration<double>(now - last_).count();
    if (!force && now - last_ < interval_) return;
    if (dt > 0) {
      double inst = static_cast<double>(done - last_done_) / dt;
      // Weight recent samples more, but not so much that the ETA jumps (time constant ~2 s).
      double alpha = std::min(1.0, dt / 2.0);
      rate_ = have_rate_ ? rate_ + alpha * (inst - rate_) : inst;
      have_rate_ = true;
    }
    last_ = now;
    last_done_ = done;
    Progress p;
    p.total_bytes = total_;
    p.done_bytes = done;
    p.elapsed_s = std::chrono::duration<double>(now - start_).count();
    p.rate_bps = rate_;
    p.eta_s = rate_ > 0 ? static_cast<double>(total_ - done) / rate_ : -1;
    if (done >= total_) p.eta_s = 0;
    p.chunk_size = chunk_size;
    fn_(p);
  }

 private:
  const ProgressFn& fn_;
  const std::chrono::milliseconds interval_;
  const uint64_t total_;
  const Clock::time_point start_;
  Clock::time_point last_;
  uint64_t last_done_;
  double rate_ = 0;
  bool have_rate_ = false;
};

}  // namespace ferry
