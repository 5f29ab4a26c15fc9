// Records a live migration's history (ferry/live.h LiveHistory) for its report. The
// request path and the copy threads count with relaxed atomics, taking no lock; Sample()
// closes an interval about once a second, from the supervisor.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "common/latency_histogram.h"
#include "ferry/live.h"

namespace ferry {

enum class CopyPriority : uint8_t;

class LiveRecorder {
 public:
  static constexpr size_t kBins = 200;

  explicit LiveRecorder(uint64_t volume_size);

  // `waited`: a read that waited for the source (some of its bytes were not present),
  // or a write that waited for a copy (invariants 3 and 4).
  void Request(uint64_t offset, uint64_t length, bool write, std::chrono::nanoseconds latency, bool waited = false);
  void Copied(uint64_t offset, uint64_t length, CopyPriority priority);
  void ReadThrough(uint64_t length) { read_through_.fetch_add(length, std::memory_order_relaxed); }

  // Closes the interval ending `now_s` seconds after the start. The counters are the
  // run's totals so far (the recorder keeps the differences).
  // `source`: the source's health now, for the outages' times.
  void Sample(double now_s, uint64_t present_bytes, uint64_t read_stalls, uint64_t write_stalls,
              const LiveLink& link = {}, const VolumeHealth& source = {});

  LiveHistory history() const;
  // Whole-run latency percentiles in microseconds (0 when there were no such requests).
  enum class Of { kReads, kMissedReads, kWrites, kWaitedWrites };
  double Percentile(Of of, double q) const;
  uint64_t missed_read_bytes() const { return missed_bytes_.load(std::memory_order_relaxed); }

 private:
  void AddToMap(std::array<std::atomic<uint64_t>, kBins>& map, uint64_t offset, uint64_t length);
  static std::vector<uint64_t> TakeMap(std::array<std::atomic<uint64_t>, kBins>& map);

  const uint64_t volume_size_;
  const uint64_t bin_bytes_;
  // The current interval.
  std::array<std::atomic<uint64_t>, kBins> io_map_{}, copy_map_{};
  std::array<std::atomic<uint64_t>, 3> copied_{};  // by CopyPriority
  std::atomic<uint64_t> reads_{0}, writes_{0};
  std::atomic<uint64_t> read_through_{0};
  LatencyHistogram read_latency_, write_latency_, missed_latency_, waited_write_latency_;
  std::atomic<uint64_t> missed_bytes_{0};

  mutable std::mutex mu_;  // guards what follows
  double last_s_ = 0;
  uint64_t last_read_stalls_ = 0, last_write_stalls_ = 0;
  // The source's health at the last sample, for the outages' times.
  uint64_t outages_seen_ = 0;
  double down_seen_ = 0, down_before_outage_ = 0;
  LiveHistory history_;
};

}  // namespace ferry
