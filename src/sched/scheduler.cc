// Scheduler: the copy policy (see scheduler.h).
#include "sched/scheduler.h"

#include <algorithm>
#include <cassert>

namespace ferry {
namespace {

// A zero run (a hole in the source) costs no data transfer, so it may be much larger
// than a data chunk: one Zero request (or nothing) per run of up to 1 GiB.
constexpr uint64_t kMaxZeroRun = 1ull << 30;
// QEMU's block-stream job copies in 512 KiB steps (block/stream.c, STREAM_CHUNK).
constexpr uint64_t kQemuStreamChunk = 512 << 10;

ChunkSizer::Clock::time_point AsTimePoint(Scheduler::Time t) {
  return ChunkSizer::Clock::time_point(std::chrono::duration_cast<ChunkSizer::Clock::duration>(t));
}

HeatOptions HeatFor(const SchedulerOptions& o, const ChunkMap& map) {
  HeatOptions h = o.heat;
  h.granule_size = map.granule_size();
  return h;
}

PlanOptions PlanFor(const SchedulerOptions& o) {
  PlanOptions p;
  p.min_chunk = o.min_chunk;
  p.max_chunk = o.max_chunk;
  p.hot_quantile = o.hot_quantile;
  return p;
}

}  // namespace

const char* CopyPriorityName(CopyPriority p) {
  switch (p) {
    case CopyPriority::kDemand: return "demand";
    case CopyPriority::kPrefetch: return "prefetch";
    case CopyPriority::kBackground: return "background";
  }
  return "?";
}

Scheduler::Scheduler(ChunkMap& map, const SchedulerOptions& options, Time now)
    : map_(map), options_(options), heat_(HeatFor(options, map)), planner_(map, PlanFor(options)),
      sizer_(options.min_chunk, options.max_chunk, AsTimePoint(now), std::chrono::milliseconds(100), 8,
             options.initial_chunk) {
  assert(options.min_chunk >= map.granule_size() && options.max_chunk >= options.min_chunk);
}

void Scheduler::SetOrder(std::vector<uint64_t> granules) {
  order_ = std::move(granules);
  order_pos_ = 0;
}

void Scheduler::OnAppIo(const IoEvent& e) {
  heat_.Record(e);
}

bool Scheduler::SourceZero(uint64_t g) const {
  if (!source_zero_ || source_zero_->empty()) return false;
  Range r = map_.Bytes({GranuleIndex(g), 1});
  return source_zero_->Covers(r.offset, r.length);
}

uint64_t Scheduler::ColdGranules() const {
  const bool adaptive = options_.policy == Policy::kAdaptive || options_.policy == Policy::kClairvoyant;
  const uint64_t bytes = adaptive && options_.adapt_chunk_size ? sizer_.size() : options_.max_chunk;
  return std::max<uint64_t>(1, bytes / map_.granule_size());
}

uint64_t Scheduler::chunk_size() const { return ColdGranules() * map_.granule_size(); }

GranuleRun Scheduler::ChunkAt(uint64_t g) const {
  const uint64_t n = map_.granule_count();
  auto missing = [&](uint64_t i) { return map_.state(GranuleIndex(i)) == GranuleState::kMissing; };
  if (SourceZero(g)) {
    const uint64_t limit = std::max<uint64_t>(1, kMaxZeroRun / map_.granule_size());
    uint64_t end = g + 1;
    while (end < n && end - g < limit && missing(end) && SourceZero(end)) ++end;
    return {GranuleIndex(g), end - g};
  }
  uint64_t size;
  switch (options_.policy) {
    case Policy::kDmClone:
    case Policy::kHeat: size = options_.max_chunk / map_.granule_size(); break;
    case Policy::kQemuStream: size = std::max<uint64_t>(1, kQemuStreamChunk / map_.granule_size()); break;
    default: size = planner_.ChunkGranulesAt(g, ColdGranules()); break;
  }
  size = std::max<uint64_t>(1, size);
  const uint64_t lo = g - g % size, hi = std::min(lo + size, n);
  uint64_t first = g, end = g + 1;
  while (first > lo && missing(first - 1) && !SourceZero(first - 1)) --first;
  while (end < hi && missing(end) && !SourceZero(end)) ++end;
  return {GranuleIndex(first), end - first};
}

CopyOp Scheduler::Issue(GranuleRun run, CopyPriority priority, Time now) {
  CopyOp op;
  op.id = next_id_++;
  op.issued = now;
  op.run = run;
  op.bytes = map_.Bytes(run);
  op.priority = priority;
  op.source_zero = SourceZero(run.first.value);
  map_.Set(run, GranuleState::kInFlight);
  if (priority != CopyPriority::kDemand) {
    ++background_in_flight_;
    background_bytes_ += op.bytes.length;
  }
  return op;
}

std::vector<CopyOp> Scheduler::Demand(GranuleRun run, Time now) {
  std::vector<CopyOp> ops;
  const uint64_t end = std::min(run.first.value + run.count, map_.granule_count());
  const Policy p = options_.policy;
  uint64_t g = run.first.value;
  while (g < end) {
    auto m = map_.NextMissing(GranuleIndex(g), end - g, end);
    if (!m || m->first.value >= end) break;
    if (p == Policy::kHeat) {
      // The heat baseline fetches its whole fixed chunk.
      GranuleRun chunk = ChunkAt(m->first.value);
      ops.push_back(Issue(chunk, CopyPriority::kDemand, now));
      g = chunk.first.value + chunk.count;
      continue;
    }
    // Exactly the granules the access needs (dm-clone's region, QEMU's copy-on-read,
    // ferry's demand fetch); ferry's policies queue the rest of their chunk.
    if (p == Policy::kAdaptive || p == Policy::kClairvoyant) {
      GranuleRun chunk = ChunkAt(m->first.value);
      if (chunk.count > m->count) prefetch_.push_front({chunk, 2.0, false});
    }
    ops.push_back(Issue(*m, CopyPriority::kDemand, now));
    g = m->first.value + m->count;
  }
  return ops;
}

void Scheduler::Prefetch(GranuleRun run, double likelihood, uint32_t ahead) {
  if (run.count == 0) return;
  likelihood /= std::max<uint32_t>(1, ahead);
  auto pos = std::find_if(prefetch_.begin(), prefetch_.end(),
                          [&](const PrefetchWant& w) { return w.likelihood < likelihood; });
  if (prefetch_.size() >= kMaxPrefetch && pos == prefetch_.end()) return;  // less likely than all kept
  prefetch_.insert(pos, {run, likelihood, true});
  if (prefetch_.size() > kMaxPrefetch) prefetch_.pop_back();
}

std::optional<uint64_t> Scheduler::NextBackgroundGranule() {
  while (order_pos_ < order_.size()) {
    const uint64_t g = order_[order_pos_];
    if (g < map_.granule_count() && map_.state(GranuleIndex(g)) == GranuleState::kMissing) return g;
    ++order_pos_;
  }
  const auto& hot = planner_.hot_order();
  while (hot_pos_ < hot.size()) {
    const HeatRegion& r = hot[hot_pos_];
    auto m = map_.NextMissing(GranuleIndex(r.first_granule), 1, r.first_granule + r.granules);
    if (m && m->first.value < r.first_granule + r.granules) return m->first.value;
    ++hot_pos_;
  }
  auto m = map_.NextMissing(GranuleIndex(cursor_), 1);
  if (!m) return std::nullopt;
  return m->first.value;
}

void Scheduler::Replan(Time now) {
  const std::vector<GranuleHeat> heat = heat_.Snapshot(/*sorted=*/false);
  planner_.Replan(heat);
  hot_pos_ = 0;
  touches_at_replan_ = heat_.total_touches();
  touched_at_replan_ = heat.size();
  next_replan_ = now + options_.replan_interval;
  ++replans_;
}

std::optional<CopyOp> Scheduler::Next(Time now) {
  const Policy p = options_.policy;
  // Re-plan as the heat changes: at most every replan_interval, and only once the
  // accesses since the last plan amount to `replan_change` of the granules it saw.
  if (p != Policy::kDmClone && p != Policy::kQemuStream &&
      (!next_replan_ ||
       (now >= *next_replan_ &&
        static_cast<double>(heat_.total_touches() - touches_at_replan_) >=
            std::max(1.0, options_.replan_change * static_cast<double>(touched_at_replan_))))) {
    Replan(now);
  }
  int depth = options_.max_in_flight;
  const bool backs_off = p == Policy::kAdaptive || p == Policy::kClairvoyant;
  if (background_in_flight_ >= std::max(1, depth)) return std::nullopt;
  // Backing off: at most busy_bytes in flight (at least one copy), so a demand waits
  // behind little while the link stays busy.
  if (backs_off && last_suffer_ && now - *last_suffer_ < options_.busy_hold && background_in_flight_ > 0 &&
      background_bytes_ >= options_.busy_bytes) {
    return std::nullopt;
  }

  const int predicted_cap = std::max(1, static_cast<int>(options_.prefetch_share * depth));
  while (!prefetch_.empty()) {
    GranuleRun& want = prefetch_.front().run;
    const bool predicted = prefetch_.front().predicted;
    if (predicted && predicted_in_flight_ >= predicted_cap) break;  // background's turn
    const uint64_t end = std::min(want.first.value + want.count, map_.granule_count());
    auto m = map_.NextMissing(want.first, 1, end);
    if (!m || m->first.value >= end) {
      prefetch_.pop_front();
      continue;
    }
    // A prediction is copied as predicted (its missing run, at most a chunk); the rest
    // of a demand's chunk as the chunk.
    GranuleRun chunk = ChunkAt(m->first.value);
    if (predicted) {
      const GranuleRun run = *map_.NextMissing(m->first, end - m->first.value, end);
      chunk = {run.first, std::min(chunk.first.value + chunk.count, run.first.value + run.count) - run.first.value};
    }
    want.count = end > chunk.first.value + chunk.count ? end - (chunk.first.value + chunk.count) : 0;
    want.first = GranuleIndex(chunk.first.value + chunk.count);
    if (want.count == 0) prefetch_.pop_front();
    CopyOp op = Issue(chunk, CopyPriority::kPrefetch, now);
    op.predicted = predicted;
    predicted_in_flight_ += predicted;
    return op;
  }

  auto g = NextBackgroundGranule();
  if (!g) return std::nullopt;
  GranuleRun chunk = ChunkAt(*g);
  if (*g >= cursor_ && order_pos_ >= order_.size() && hot_pos_ >= planner_.hot_order().size()) {
    cursor_ = chunk.first.value + chunk.count;
  }
  return Issue(chunk, CopyPriority::kBackground, now);
}

void Scheduler::OnCopyDone(const CopyOp& op, bool ok, Time now) {
  map_.Set(op.run, ok ? GranuleState::kPresent : GranuleState::kMissing);
  predicted_in_flight_ -= op.predicted;
  if (op.priority != CopyPriority::kDemand) {
    --background_in_flight_;
    background_bytes_ -= op.bytes.length;
  }
  if (ok && op.priority == CopyPriority::kDemand) {
    const Time took = now - op.issued;
    if (!fastest_demand_ || took < *fastest_demand_) fastest_demand_ = took;
    if (took > 2 * *fastest_demand_) last_suffer_ = now;
    sizer_.set_prefer_small(true);
  }
  if (!ok) {
    Revisit(op.run.first.value);
    return;
  }
  if (!op.source_zero && options_.adapt_chunk_size) {
    sizer_.OnCompleted(op.bytes.length, AsTimePoint(now));
  }
}

void Scheduler::MarkWritten(GranuleRun run) {
  const uint64_t end = std::min(run.first.value + run.count, map_.granule_count());
  uint64_t g = run.first.value;
  while (auto m = map_.NextMissing(GranuleIndex(g), end - g, end)) {
    if (m->first.value >= end) break;
    map_.Set(*m, GranuleState::kPresent);
    g = m->first.value + m->count;
    if (g >= end) break;
  }
}

std::vector<GranuleRun> Scheduler::ReserveForWrite(GranuleRun run) {
  std::vector<GranuleRun> reserved;
  const uint64_t end = std::min(run.first.value + run.count, map_.granule_count());
  uint64_t g = run.first.value;
  while (g < end) {
    auto m = map_.NextMissing(GranuleIndex(g), end - g, end);
    if (!m || m->first.value >= end) break;
    map_.Set(*m, GranuleState::kInFlight);
    reserved.push_back(*m);
    g = m->first.value + m->count;
  }
  return reserved;
}

void Scheduler::OnWriteDone(const std::vector<GranuleRun>& reserved, bool ok) {
  for (const GranuleRun& r : reserved) map_.Set(r, ok ? GranuleState::kPresent : GranuleState::kMissing);
  if (!ok && !reserved.empty()) Revisit(reserved.front().first.value);
}

void Scheduler::Revisit(uint64_t g) {
  cursor_ = std::min(cursor_, g);
  hot_pos_ = 0;
  order_pos_ = 0;
}

}  // namespace ferry
