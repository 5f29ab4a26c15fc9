// ChunkSizer: picks the copy chunk size between a minimum and a maximum from the
// throughput the copy actually achieves. Pure policy: it is told how many bytes finished
// and when (the clock is injected), and answers with the size to use next.
//
// Method: hill climbing over powers of two. Each measurement window (at least
// `window` long and `min_ops` operations) yields a throughput. From a base size it
// probes one step (double or halve) for one window: a gain of more than 10% makes the
// probe the new base and probes further the same way; otherwise it returns to the base,
// holds there a few windows (twice as many after each failure in a row, up to 32x) and
// probes the other way next. So a flat response never
// walks the size off (10%: the window-to-window spread measured on local and NBD copies
// here). It starts at 1 MiB,
// clamped to [min, max]: nbdcopy's knee is 256 KiB with 64 requests in flight per
// connection, ferry keeps fewer in flight (--threads) so it wants larger requests, and
// 1 MiB measured best for file and NBD copies (docs/benchmarks.md). Remote sources with
// high latency climb toward --max-chunk by themselves.
// Thread-compatible: callers serialise access.
#pragma once

#include <chrono>
#include <cstdint>

namespace ferry {

class ChunkSizer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr uint64_t kStartSize = 1 << 20;

  // `start` 0: kStartSize; the first size is clamped to [min_size, max_size].
  ChunkSizer(uint64_t min_size, uint64_t max_size, Clock::time_point now,
             Clock::duration window = std::chrono::milliseconds(100), int min_ops = 8, uint64_t start = 0);

  uint64_t size() const { return size_; }
  // While an application waits on copies (a live migration), a smaller chunk is worth
  // having for its own sake: a demand queues behind less, and the copy order is finer.
  // Then a probe down is kept when it gives at least (1 - 10%) of the best throughput
  // seen, which bounds the cost at 10%. Off for a plain copy.
  void set_prefer_small(bool on) { prefer_small_ = on; }
  // Whether a larger chunk may be worth probing: the caller knows the link (a chunk
  // whose transmission outlasts the link's round trip gains nothing from growing, and
  // the probe costs a window at the larger size). Default: true.
  void set_may_grow(bool on) { may_grow_ = on; }
  // Records that `bytes` finished at `now`; may change size().
  void OnCompleted(uint64_t bytes, Clock::time_point now);

 private:
  // Moves size_ one step from base_size_ in direction growing_; false at a bound.
  bool Probe();

  const uint64_t min_;
  const uint64_t max_;
  const Clock::duration window_;
  const int min_ops_;
  uint64_t size_;
  uint64_t base_size_;
  double base_throughput_ = 0;  // bytes/s measured at base_size_ (0: not yet)
  double best_throughput_ = 0;  // the most seen in any window
  bool prefer_small_ = false;
  bool may_grow_ = true;
  bool probing_ = false;        // size_ is a probe away from base_size_
  bool growing_ = true;
  // Windows left at the base before the next probe. The first window holds: it spans
  // the copy's start (the link filling up: 700 MB/s where 1 MiB chunks then ran at
  // 1,000 MB/s), and a probe measured against it looked better for that alone.
  int hold_ = 1;
  int failed_probes_ = 0;       // probes in a row that gave nothing
  Clock::time_point window_start_;
  uint64_t window_bytes_ = 0;
  int window_ops_ = 0;
};

}  // namespace ferry
