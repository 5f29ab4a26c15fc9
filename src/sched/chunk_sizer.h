// ChunkSizer: picks the copy chunk size between a minimum and a maximum from the
// throughput the copy actually achieves. Pure policy: it is told how many bytes finished
// and when (the clock is injected), and answers with the size to use next.
//
// Method: hill climbing over powers of two. Each measurement window (at least
// `window` long and `min_ops` operations) yields a throughput at the current size; a
// gain of more than 5% keeps moving the same way, a loss of more than 5% turns back, and
// a flat result holds the size for a few windows before probing again. It starts at
// 256 KiB (nbdcopy's measured knee for local and fast NBD), clamped to [min, max];
// remote sources with high latency climb to MiBs by themselves.
// Thread-compatible: callers serialise access.
#pragma once

#include <chrono>
#include <cstdint>

namespace ferry {

class ChunkSizer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr uint64_t kStartSize = 256 << 10;

  ChunkSizer(uint64_t min_size, uint64_t max_size, Clock::time_point now,
             Clock::duration window = std::chrono::milliseconds(250), int min_ops = 8);

  uint64_t size() const { return size_; }
  // Records that `bytes` finished at `now`; may change size().
  void OnCompleted(uint64_t bytes, Clock::time_point now);

 private:
  void Step(bool up);

  const uint64_t min_;
  const uint64_t max_;
  const Clock::duration window_;
  const int min_ops_;
  uint64_t size_;
  bool growing_ = true;
  int hold_ = 0;                 // windows left to hold after a flat result
  double last_throughput_ = 0;   // bytes/s of the previous window (0: none yet)
  Clock::time_point window_start_;
  uint64_t window_bytes_ = 0;
  int window_ops_ = 0;
};

}  // namespace ferry
