#include "engine/live_record.h"

#include <algorithm>

#include "sched/scheduler.h"

namespace ferry {

LiveRecorder::LiveRecorder(uint64_t volume_size)
    : volume_size_(volume_size), bin_bytes_(std::max<uint64_t>(1, (volume_size + kBins - 1) / kBins)) {
  history_.volume_size = volume_size;
  history_.map_bins = kBins;
}

void LiveRecorder::AddToMap(std::array<std::atomic<uint64_t>, kBins>& map, uint64_t offset, uint64_t length) {
  const uint64_t end = std::min(offset + length, volume_size_);
  while (offset < end) {
    const uint64_t bin = offset / bin_bytes_;
    const uint64_t stop = std::min(end, (bin + 1) * bin_bytes_);
    map[std::min<uint64_t>(bin, kBins - 1)].fetch_add(stop - offset, std::memory_order_relaxed);
    offset = stop;
  }
}

std::vector<uint64_t> LiveRecorder::TakeMap(std::array<std::atomic<uint64_t>, kBins>& map) {
  std::vector<uint64_t> out(kBins);
  for (size_t i = 0; i < kBins; ++i) out[i] = map[i].exchange(0, std::memory_order_relaxed);
  return out;
}

void LiveRecorder::Request(uint64_t offset, uint64_t length, bool write, std::chrono::nanoseconds latency,
                           bool waited) {
  AddToMap(io_map_, offset, length);
  (write ? writes_ : reads_).fetch_add(1, std::memory_order_relaxed);
  (write ? write_latency_ : read_latency_).Add(latency);
  if (waited && write) waited_write_latency_.Add(latency);
  if (waited && !write) {
    missed_latency_.Add(latency);
    missed_bytes_.fetch_add(length, std::memory_order_relaxed);
  }
}

void LiveRecorder::Copied(uint64_t offset, uint64_t length, CopyPriority priority) {
  AddToMap(copy_map_, offset, length);
  copied_[static_cast<size_t>(priority)].fetch_add(length, std::memory_order_relaxed);
}

namespace {

void MergeInto(LiveRow& a, const LiveRow& b) {
  a.end_s = b.end_s;
  a.present_bytes = b.present_bytes;
  a.demand_bytes += b.demand_bytes;
  a.prefetch_bytes += b.prefetch_bytes;
  a.background_bytes += b.background_bytes;
  a.read_through_bytes += b.read_through_bytes;
  a.link = b.link;
  a.reads += b.reads;
  a.read_stalls += b.read_stalls;
  a.writes += b.writes;
  a.write_stalls += b.write_stalls;
  LatencyHistogram::Merge(a.read_latency, b.read_latency);
  LatencyHistogram::Merge(a.io_map, b.io_map);
  LatencyHistogram::Merge(a.copy_map, b.copy_map);
}

}  // namespace

void LiveRecorder::Sample(double now_s, uint64_t present_bytes, uint64_t read_stalls, uint64_t write_stalls,
                          const LiveLink& link, const VolumeHealth& source) {
  std::lock_guard<std::mutex> lock(mu_);
  // An outage opens when the source is first seen lost (it began down_now_seconds ago)
  // and closes when it is seen back, its length from the volume's total time down.
  auto& outages = history_.outages;
  const bool open = !outages.empty() && outages.back().ongoing;
  if (source.down_now_seconds > 0 && !open) {
    outages.push_back({now_s - source.down_now_seconds, source.down_now_seconds, true});
    down_before_outage_ = source.down_seconds - source.down_now_seconds;
  } else if (source.down_now_seconds > 0) {
    outages.back().seconds = source.down_now_seconds;
  } else if (open) {
    outages.back().seconds = source.down_seconds - down_before_outage_;
    outages.back().ongoing = false;
  } else if (source.outages > outages_seen_) {
    // Lost and back between two samples: it happened within this interval.
    outages.push_back({last_s_, source.down_seconds - down_seen_, false});
  }
  outages_seen_ = source.outages;
  down_seen_ = source.down_seconds;
  LiveRow r;
  r.link = link;
  r.read_through_bytes = read_through_.exchange(0, std::memory_order_relaxed);
  r.start_s = last_s_;
  r.end_s = now_s;
  r.present_bytes = present_bytes;
  r.demand_bytes = copied_[static_cast<size_t>(CopyPriority::kDemand)].exchange(0, std::memory_order_relaxed);
  r.prefetch_bytes = copied_[static_cast<size_t>(CopyPriority::kPrefetch)].exchange(0, std::memory_order_relaxed);
  r.background_bytes = copied_[static_cast<size_t>(CopyPriority::kBackground)].exchange(0, std::memory_order_relaxed);
  r.reads = reads_.exchange(0, std::memory_order_relaxed);
  r.writes = writes_.exchange(0, std::memory_order_relaxed);
  r.read_stalls = read_stalls - last_read_stalls_;
  r.write_stalls = write_stalls - last_write_stalls_;
  r.read_latency = read_latency_.Take();
  LatencyHistogram::Merge(history_.read_latency, r.read_latency);
  LatencyHistogram::Merge(history_.write_latency, write_latency_.Take());
  LatencyHistogram::Merge(history_.missed_read_latency, missed_latency_.Take());
  LatencyHistogram::Merge(history_.waited_write_latency, waited_write_latency_.Take());
  r.io_map = TakeMap(io_map_);
  r.copy_map = TakeMap(copy_map_);
  last_s_ = now_s;
  last_read_stalls_ = read_stalls;
  last_write_stalls_ = write_stalls;
  auto& rows = history_.rows;
  rows.push_back(std::move(r));
  if (rows.size() > LiveHistory::kMaxRows) {
    // Neighbours merge: each row now covers twice as long.
    std::vector<LiveRow> merged;
    merged.reserve(rows.size() / 2 + 1);
    for (size_t i = 0; i < rows.size(); i += 2) {
      merged.push_back(std::move(rows[i]));
      if (i + 1 < rows.size()) MergeInto(merged.back(), rows[i + 1]);
    }
    rows = std::move(merged);
  }
}

LiveHistory LiveRecorder::history() const {
  std::lock_guard<std::mutex> lock(mu_);
  return history_;
}

double LiveRecorder::Percentile(Of of, double q) const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<uint64_t>& h = of == Of::kReads         ? history_.read_latency
                                   : of == Of::kMissedReads ? history_.missed_read_latency
                                   : of == Of::kWrites      ? history_.write_latency
                                                            : history_.waited_write_latency;
  return LatencyHistogram::Percentile(h, q);
}

}  // namespace ferry
