// RateLimiter: spaces requests so that at most `bytes_per_second` pass on average
// (`--rate`): Reserve(n) books n bytes and says when they may go; the copier waits
// until PaidUntil() before it takes the next copy. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace ferry {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(uint64_t bytes_per_second) : rate_(bytes_per_second) {}

  // A new rate from now on (0: unlimited); what is booked stays booked.
  void SetRate(uint64_t bytes_per_second) { rate_ = bytes_per_second; }
  uint64_t rate() const { return rate_; }

  // Returns the time at which `bytes` may start, and books them; 0 rate: now.
  Clock::time_point Reserve(uint64_t bytes, Clock::time_point now);
  // When the bytes reserved so far are paid for (a time in the past when they are, or
  // the rate is 0).
  Clock::time_point PaidUntil();

 private:
  std::atomic<uint64_t> rate_;
  std::mutex mu_;
  Clock::time_point next_{};
};

}  // namespace ferry
