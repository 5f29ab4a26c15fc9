#include "engine/rate_limiter.h"

#include <algorithm>

namespace ferry {

RateLimiter::Clock::time_point RateLimiter::Reserve(uint64_t bytes, Clock::time_point now) {
  const uint64_t rate = rate_;
  if (rate == 0) return now;
  std::lock_guard<std::mutex> lock(mu_);
  // No credit for idle time beyond now: a pause does not buy a burst later.
  Clock::time_point start = std::max(next_, now);
  next_ = start + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(static_cast<double>(bytes) / static_cast<double>(rate)));
  return start;
}

RateLimiter::Clock::time_point RateLimiter::PaidUntil() {
  if (rate_ == 0) return Clock::time_point{};
  std::lock_guard<std::mutex> lock(mu_);
  return next_;
}

}  // namespace ferry
