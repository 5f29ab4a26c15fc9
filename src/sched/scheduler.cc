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
  if (h.half_life.count() == 0) h.half_life = h.window / SchedulerOptions::kHeatHalfLifeDivisor;
  return h;
}

LinkOptions LinkFor(const SchedulerOptions& o) {
  LinkOptions l = o.link;
  l.min_chunk = o.min_chunk;
  l.max_chunk = o.max_chunk;
  return l;
}

bool Controlled(Policy p) { return p == Policy::kAdaptive || p == Policy::kClairvoyant; }

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
             options.initial_chunk),
      link_(LinkFor(options)) {
  assert(options.min_chunk >= map.granule_size() && options.max_chunk >= options.min_chunk);
}

void Scheduler::SetOrder(std::vector<uint64_t> granules) {
  order_ = std::move(granules);
  order_pos_ = 0;
}

void Scheduler::OnAppIo(const IoEvent& e) { heat_.Record(e); }

bool Scheduler::ReadsThrough(uint64_t offset, uint64_t length) const {
  const Policy p = options_.policy;
  if (p == Policy::kDmClone) return true;
  if (!Controlled(p)) return false;
  if (!link_.Congested()) return true;
  // A congested link: the read's bytes in missing granules against those granules'.
  const uint64_t g = map_.granule_size();
  const uint64_t end = std::min(offset + std::max<uint64_t>(length, 1), map_.volume_size());
  uint64_t read = 0, missing = 0;
  for (uint64_t i = offset / g; i * g < end; ++i) {
    if (map_.state(GranuleIndex(i)) != GranuleState::kMissing) continue;
    read += std::min(end, (i + 1) * g) - std::max(offset, i * g);
    missing += std::min(g, map_.volume_size() - i * g);
  }
  return read * kReadThroughShare <= missing;
}

bool Scheduler::DemandsWholeGranules() const { return Controlled(options_.policy); }

bool Scheduler::KeepsReadThroughs() const { return Controlled(options_.policy); }

std::vector<CopyOp> Scheduler::OnReadThrough(GranuleRun run, Time now, bool copy_now) {
  if (!Controlled(options_.policy)) return {};
  if (copy_now && !link_.Congested()) return Demand(run, now);
  const uint64_t end = std::min(run.first.value + run.count, map_.granule_count());
  // The read's own granules first, then the rest of their chunks: pushed in reverse so
  // the first granule ends up at the front.
  std::vector<PrefetchWant> wants;
  for (uint64_t g = run.first.value; g < end;) {
    auto m = map_.NextMissing(GranuleIndex(g), end - g, end);
    if (!m || m->first.value >= end) break;
    wants.push_back({*m, 3.0, false});
    const GranuleRun chunk = ChunkAt(m->first.value);
    if (chunk.count > m->count) wants.push_back({chunk, 2.0, false});
    g = m->first.value + m->count;
  }
  for (auto it = wants.rbegin(); it != wants.rend(); ++it) prefetch_.push_front(*it);
  // The newest misses are the most urgent: what falls off the back is the oldest.
  while (prefetch_.size() > kMaxPrefetch) prefetch_.pop_back();
  return {};
}

bool Scheduler::SourceZero(uint64_t g) const {
  if (!source_zero_ || source_zero_->empty()) return false;
  Range r = map_.Bytes({GranuleIndex(g), 1});
  return source_zero_->Covers(r.offset, r.length);
}

uint64_t Scheduler::ColdGranules() const {
  const bool adaptive = Controlled(options_.policy);
  uint64_t bytes = adaptive && options_.adapt_chunk_size ? sizer_.size() : options_.max_chunk;
  // The link's chunk limit (last_now_: the scheduler's latest time): while the
  // application is active, no chunk holds the link longer than the budget allows.
  if (adaptive) bytes = std::max(std::min(bytes, link_.ChunkLimit(last_now_)), LinkChunkFloor());
  return std::max<uint64_t>(1, bytes / map_.granule_size());
}

uint64_t Scheduler::LinkChunkFloor() const {
  // A link that shares its bandwidth among the requests on it gives an application read
  // one share per request: there, few large copies rather than many small ones.
  const int requests = link_.SharesPerRequest() ? kSharedLinkCopies : std::max(1, options_.max_in_flight);
  return link_.ChunkFloor(static_cast<uint32_t>(requests), last_now_);
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
    default:
      // Hot chunks no smaller than the link needs to be filled by the copies that may
      // be in flight (DESIGN.md "The source link": chunk size follows the budget).
      size = planner_.ChunkGranulesAt(g, ColdGranules(), LinkChunkFloor() / map_.granule_size());
      break;
  }
  size = std::max<uint64_t>(1, size);
  const uint64_t lo = g - g % size, hi = std::min(lo + size, n);
  uint64_t first = g, end = g + 1;
  while (first > lo && missing(first - 1) && !SourceZero(first - 1)) --first;
  while (end < hi && missing(end) && !SourceZero(end)) ++end;
  return {GranuleIndex(first), end - first};
}

CopyOp Scheduler::Issue(GranuleRun run, CopyPriority priority) {
  CopyOp op;
  op.id = next_id_++;
  op.run = run;
  op.bytes = map_.Bytes(run);
  op.priority = priority;
  op.source_zero = SourceZero(run.first.value);
  map_.Set(run, GranuleState::kInFlight);
  if (priority != CopyPriority::kDemand) {
    ++background_in_flight_;
    background_bytes_ += op.bytes.length;
    if (!op.source_zero) link_bytes_ += op.bytes.length;
  }
  return op;
}

std::vector<CopyOp> Scheduler::Demand(GranuleRun run, Time /*now: the demand is answered at once*/) {
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
      ops.push_back(Issue(chunk, CopyPriority::kDemand));
      g = chunk.first.value + chunk.count;
      continue;
    }
    // Exactly the granules the access needs (dm-clone's region, QEMU's copy-on-read,
    // ferry's demand fetch); ferry's policies queue the rest of their chunk.
    if (p == Policy::kAdaptive || p == Policy::kClairvoyant) {
      GranuleRun chunk = ChunkAt(m->first.value);
      if (chunk.count > m->count) prefetch_.push_front({chunk, 2.0, false});
    }
    ops.push_back(Issue(*m, CopyPriority::kDemand));
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
  last_now_ = std::max(last_now_, now);
  const bool controlled = Controlled(p);
  const int depth = controlled ? options_.max_in_flight : std::min(options_.max_in_flight, options_.baseline_in_flight);
  if (background_in_flight_ >= std::max(1, depth)) return std::nullopt;
  // The link's budget: copy bytes in flight; when it allows nothing, the floor rate
  // may still start one copy with nothing else in flight.
  bool floor = false;
  uint64_t budget = ~0ull;
  if (controlled) {
    budget = link_.Budget(now);
    if (link_bytes_ >= budget) {
      if (!link_.FloorDue(link_bytes_, now)) return std::nullopt;
      floor = true;
    }
  }
  std::optional<CopyOp> op = NextCopy(budget);
  if (op && floor) link_.OnFloorCopy(op->bytes.length, now);
  return op;
}

std::optional<CopyOp> Scheduler::NextCopy(uint64_t budget) {
  const uint64_t predicted_cap = std::max<uint64_t>(
      1, budget == ~0ull ? ~0ull : static_cast<uint64_t>(options_.prefetch_share * static_cast<double>(budget)));
  while (!prefetch_.empty()) {
    GranuleRun& want = prefetch_.front().run;
    const bool predicted = prefetch_.front().predicted;
    if (predicted && predicted_bytes_ > 0 && predicted_bytes_ >= predicted_cap) break;  // background's turn
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
    CopyOp op = Issue(chunk, CopyPriority::kPrefetch);
    op.predicted = predicted;
    if (predicted) predicted_bytes_ += op.bytes.length;
    return op;
  }

  auto g = NextBackgroundGranule();
  if (!g) return std::nullopt;
  GranuleRun chunk = ChunkAt(*g);
  if (*g >= cursor_ && order_pos_ >= order_.size() && hot_pos_ >= planner_.hot_order().size()) {
    cursor_ = chunk.first.value + chunk.count;
  }
  return Issue(chunk, CopyPriority::kBackground);
}

void Scheduler::OnCopyDone(const CopyOp& op, bool ok, Time now) {
  map_.Set(op.run, ok ? GranuleState::kPresent : GranuleState::kMissing);
  last_now_ = std::max(last_now_, now);
  if (op.predicted) predicted_bytes_ -= op.bytes.length;
  if (op.priority != CopyPriority::kDemand) {
    --background_in_flight_;
    background_bytes_ -= op.bytes.length;
    if (!op.source_zero) link_bytes_ -= op.bytes.length;
    if (ok && !op.source_zero) link_.OnCopyAnswered(op.bytes.length, now);
  }
  // While an application waits on copies, a smaller chunk is worth having.
  if (ok && link_.AppActive(now)) sizer_.set_prefer_small(true);
  if (!ok) {
    Revisit(op.run.first.value);
    return;
  }
  if (!op.source_zero && options_.adapt_chunk_size) {
    // Where a larger chunk cannot pay, the probe up costs a window for nothing: 2 MiB
    // chunks between two local nbdkit servers ran 20-30% slower than 1 MiB for the
    // probe's 100 ms (docs/design-notes.md, "Chunk size from throughput").
    sizer_.set_may_grow(link_.LargerChunkPays(sizer_.size()));
    sizer_.OnCompleted(op.bytes.length, AsTimePoint(now));
  }
}

Scheduler::Time Scheduler::NextLookAt(Time now) const {
  if (!Controlled(options_.policy)) return Time::max();
  Time t = Time::max();
  if (link_.AppActive(now)) t = link_.ActiveUntil();
  if (link_bytes_ == 0 && link_.FloorNext() > now) t = std::min(t, link_.FloorNext());
  return t > now ? t : Time::max();
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
