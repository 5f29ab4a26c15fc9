// Scheduler: the pure copy policy that drives both the real engine and the simulator
// (DESIGN.md "Architecture": one policy code path). It never touches a volume, a thread
// or a clock: it is told what happened (an application I/O, a demand, a source read
// sent and answered, a copy finished, the time) and asked what to copy next.
//
// Priorities: demand (an application access waits on missing granules) is answered at
// once by Demand(), outside any limit; then queued prefetch requests; then background
// work in the policy's order. Background and prefetch copies are limited by the source
// link's controller (sched/link.h: the bandwidth-delay product while the application
// is idle, a queueing-delay target while it is active, a floor rate always) for the
// adaptive and clairvoyant policies; the baselines keep a fixed `baseline_in_flight`
// copies in flight, as the systems they model do. `max_in_flight` caps every policy
// (the executor's workers).
//
// Policies (the baselines model the real systems' behaviour, see docs/design-notes.md):
//   dmclone      fixed region (the granule), ascending, contiguous missing regions
//                batched up to max_chunk; reads of missing regions go to the source
//                without hydrating (ReadsThrough() true, nothing queued); writes hydrate.
//   qemu-stream  ascending 512 KiB pieces; copy-on-read of exactly what is read.
//   heat         fixed max_chunk chunks, hottest regions first, then ascending; a read
//                miss fetches its whole chunk.
//   adaptive     ferry: heat-sized chunks (ChunkPlanner), hottest regions first, cold
//                chunks sized by measured throughput (ChunkSizer) and held to the
//                link's chunk limit. A read miss is answered from a source read of
//                exactly its bytes (the executor does it, ReadsThrough()), and its
//                granules are copied right behind it at demand priority, the rest of
//                their chunk queued first among prefetches (OnReadThrough; DESIGN.md
//                "The live request path"); on a congested link they are queued first
//                instead, within the link's budget. A partial write's demand copies exactly the granules it needs.
//   clairvoyant  adaptive's chunks in the order of the true next access (SetOrder), a
//                bound for the simulator, not a policy for real use.
// Every chunk is a run of missing granules cut from the ChunkMap, which stays the ground
// truth. Thread-compatible: the engine calls it under its own mutex.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "common/interval_set.h"
#include "ferry/policy.h"
#include "ferry/status.h"
#include "heat/heat_map.h"
#include "plan/chunk_map.h"
#include "plan/chunk_planner.h"
#include "sched/chunk_sizer.h"
#include "sched/link.h"

namespace ferry {

enum class CopyPriority : uint8_t { kDemand, kPrefetch, kBackground };
const char* CopyPriorityName(CopyPriority p);

struct CopyOp {
  uint64_t id = 0;
  GranuleRun run;
  Range bytes;
  CopyPriority priority = CopyPriority::kBackground;
  bool source_zero = false;  // the source reads as zero here: nothing to read
  bool predicted = false;    // a prefetch a predictor asked for (not a demand's rest)
};

struct SchedulerOptions {
  Policy policy = Policy::kAdaptive;
  uint64_t min_chunk = 64 << 10;  // Default: 64 KiB.
  uint64_t max_chunk = 2 << 20;   // Default: 2 MiB.
  // Background + prefetch copies at once, at most, under any policy (the executor's
  // workers). Default: 64, as nbdcopy's requests in flight per connection.
  int max_in_flight = 64;
  // The baselines' fixed copies in flight (they have no link controller). Default: 8,
  // ferry's fixed depth before the controller (docs/benchmarks.md).
  int baseline_in_flight = 8;
  // The source link's controller (adaptive, clairvoyant); min_chunk and max_chunk are
  // taken from here.
  LinkOptions link;
  bool adapt_chunk_size = true;   // adaptive/clairvoyant: cold chunks from measured throughput.
  uint64_t initial_chunk = 0;     // the sizer's first cold size; 0: ChunkSizer::kStartSize (1 MiB).
  // granule_size is taken from the ChunkMap; a half_life of 0 becomes the window's
  // kHeatHalfLifeDivisor-th part: the hottest-first order weighs an access by its age, so
  // of two regions touched as often the one touched last goes first. (Measured with
  // `ferry simulate --policy adaptive` on the shared traces: cloudphysics 3643 -> 3600
  // read stalls, at 24 MiB/s 2448 -> 2365, at 96 MiB/s 1608 -> 1573; the others equal.
  // A half-life of a sixth of the window gave less, of a millionth (newest first) more
  // stalls than none.)
  HeatOptions heat;
  static constexpr int kHeatHalfLifeDivisor = 3;
  double hot_quantile = 0.9;      // Default: the top 10% of touched granules are hot.
  std::chrono::nanoseconds replan_interval{std::chrono::seconds(1)};  // Default: 1 s.
  // Re-plan only once new accesses amount to this share of the granules the last plan
  // saw. Default: 10%.
  double replan_change = 0.1;
  // Predicted prefetch bytes in flight, at most this share of the link's budget (at
  // least one copy). Default: half.
  double prefetch_share = 0.5;
};

class Scheduler {
 public:
  using Time = std::chrono::nanoseconds;  // the injected clock: any fixed epoch

  // `map` outlives the scheduler; it is the scheduler's to change (Set) from now on.
  Scheduler(ChunkMap& map, const SchedulerOptions& options, Time now);

  const SchedulerOptions& options() const { return options_; }
  const ChunkMap& map() const { return map_; }
  const HeatMap& heat() const { return heat_; }
  const ChunkPlanner& planner() const { return planner_; }

  // Granules wholly inside `zero` read as zero on the source; they are copied as
  // separate zero runs of up to 1 GiB (no data to read). The set outlives the scheduler.
  void SetSourceZero(const IntervalSet* zero) { source_zero_ = zero; }
  // Clairvoyant order: granules in order of their next access; copied first.
  void SetOrder(std::vector<uint64_t> granules);

  // An application I/O happened (the access monitor): feeds the heat map.
  void OnAppIo(const IoEvent& e);

  // Whether an application read of [offset, offset + length), which misses, is answered
  // from a source read of exactly its bytes (then OnReadThrough), rather than by demand
  // copies of its granules that it waits for. dm-clone: always. Adaptive and
  // clairvoyant: unless the link is congested (SourceLink::Congested) and the read
  // asks for more than 1/kReadThroughShare of its missing granules' bytes: then
  // bandwidth is what every waiting read is short of, and reading those bytes twice
  // (through, then in the granule's copy) takes it from them all. (Measured on
  // cloudphysics, whose reads average 37 KiB and whose link the application saturates:
  // 3931 stalls reading through always, 3669 with this rule, 3593 never reading
  // through; a 4 KiB read of a 64 KiB granule still reads through.)
  bool ReadsThrough(uint64_t offset, uint64_t length) const;
  static constexpr uint64_t kReadThroughShare = 4;
  // Copies in flight the chunk size aims at on a link that shares its bandwidth among
  // the requests on it (SourceLink::SharesPerRequest).
  static constexpr int kSharedLinkCopies = 2;
  // Whether a read that covers missing granules whole copies them on demand (and reads
  // the destination) rather than reading them through: the bytes cross the link once
  // either way, and so they land. Adaptive and clairvoyant; dm-clone does not hydrate
  // on reads.
  bool DemandsWholeGranules() const;
  // Whether a read-through's answer is kept for re-reads of its bytes until its
  // granules land (sched/kept_reads.h). Adaptive and clairvoyant; dm-clone keeps
  // nothing.
  bool KeepsReadThroughs() const;
  // A read of `run` was sent to the source (ReadsThrough): adaptive and clairvoyant
  // return demand copies of its missing granules, for the executor to send right
  // behind the read, and queue the rest of their chunk first among prefetches. When the
  // link is congested (SourceLink::Congested), or `copy_now` is false (the executor
  // cannot take copies now), nothing is returned and the granules are queued first
  // instead, within the link's budget: a re-read of a granule soon after its miss finds
  // it on its way (zipf's hot granules: half the anchor benchmark's waits were such
  // re-reads while the copies waited for the budget), and a congested link gets no
  // bytes beyond its budget. dm-clone queues nothing (it hydrates on writes and in the
  // background only).
  [[nodiscard]] std::vector<CopyOp> OnReadThrough(GranuleRun run, Time now, bool copy_now = true);

  // An application access needs the missing granules of `run`: returns the copies to
  // issue now, covering every missing (not in-flight) granule of `run`, highest
  // priority. Granules already in flight are not repeated: the caller waits for them.
  std::vector<CopyOp> Demand(GranuleRun run, Time now);
  // A predictor expects `run` to be touched with `likelihood` (0..1) at the `ahead`-th
  // access from now: queued ahead of background work, by urgency (likelihood / ahead,
  // highest first). The queue keeps the kMaxPrefetch most urgent requests; the rest of
  // a demand's chunk goes ahead of all of them. Predicted copies take at most
  // `prefetch_share` of the in-flight slots, so background work always moves and the
  // migration finishes in its time however much is predicted.
  static constexpr size_t kMaxPrefetch = 1024;
  // Both executors keep the bytes of partial writes written behind their granules'
  // copies (the engine's Migration::WriteBehind, the simulator's written_behind_) in a
  // granule-sized buffer each, kMaxWrittenBehindBytes of them at most (one at least):
  // a partial write to a granule not present beyond that waits for its copy instead.
  // `granule_kept`: the granule already has written-behind bytes (it takes no more room).
  static constexpr uint64_t kMaxWrittenBehindBytes = 16 << 20;
  static bool CanWriteBehind(bool granule_kept, size_t granules_kept, uint64_t granule_size) {
    return granule_kept || (granules_kept + 1) * granule_size <= std::max(kMaxWrittenBehindBytes, granule_size);
  }
  void Prefetch(GranuleRun run, double likelihood = 0.5, uint32_t ahead = 1);
  size_t prefetch_queued() const { return prefetch_.size(); }
  // The next prefetch or background copy, or nullopt when none may start now (the
  // in-flight limit) or nothing is left. The caller issues it and reports OnCopyDone.
  std::optional<CopyOp> Next(Time now);
  // A copy finished: `ok` marks its granules present, otherwise missing again.
  void OnCopyDone(const CopyOp& op, bool ok, Time now);
  // When Next() may have a copy to give with nothing else happening first (the floor
  // rate's next turn, or the application turning idle and the budget growing); after
  // `now`, or Time::max() when there is no such moment. For a virtual clock.
  Time NextLookAt(Time now) const;

  // The source link (sched/link.h): every source read goes through these, copies and
  // read-throughs alike, so the controller sees the link as it is. `app`: the
  // application waits for this read (a read-through or a demand copy).
  LinkSend SourceSent(uint64_t bytes, bool app, Time now) { return link_.OnSend(bytes, app, now); }
  void SourceAnswered(const LinkSend& send, Time now) { link_.OnAnswer(send, now); }
  void SourceFailed(const LinkSend& send) { link_.OnFailed(send); }
  const SourceLink& link() const { return link_; }
  uint64_t copy_bytes_in_flight() const { return link_bytes_; }
  // The application wrote (or trimmed) the whole of these granules: present without a
  // copy. Granules in flight are left alone (the caller waits for their copy first).
  void MarkWritten(GranuleRun run);
  // The live write path (invariants 3 and 4): the application is about to write the
  // whole of these granules, none of them in flight. The missing ones are reserved (set
  // in flight) so no copy starts on them, and returned; OnWriteDone then marks them
  // present (`ok`) or missing again (the write failed: the source still has them).
  std::vector<GranuleRun> ReserveForWrite(GranuleRun run);
  void OnWriteDone(const std::vector<GranuleRun>& reserved, bool ok);

  bool done() const { return map_.complete(); }
  int background_in_flight() const { return background_in_flight_; }
  // The cold chunk size now (bytes): the throughput sizer's choice for adaptive.
  uint64_t chunk_size() const;
  uint64_t replans() const { return replans_; }

 private:
  bool SourceZero(uint64_t g) const;
  // The chunk of missing granules that holds g under the policy (zero runs forward).
  GranuleRun ChunkAt(uint64_t g) const;
  // The smallest chunk that lets the copies allowed in flight fill the link (adaptive).
  uint64_t LinkChunkFloor() const;
  uint64_t ColdGranules() const;
  CopyOp Issue(GranuleRun run, CopyPriority priority);
  // The next prefetch or background copy, predicted ones held to a share of `budget`.
  std::optional<CopyOp> NextCopy(uint64_t budget);
  std::optional<uint64_t> NextBackgroundGranule();
  void Replan(Time now);
  // Granules from `g` on went missing again: the background orders look at them again.
  void Revisit(uint64_t g);

  ChunkMap& map_;
  SchedulerOptions options_;
  HeatMap heat_;
  ChunkPlanner planner_;
  ChunkSizer sizer_;
  const IntervalSet* source_zero_ = nullptr;
  std::vector<uint64_t> order_;  // clairvoyant
  size_t order_pos_ = 0;
  size_t hot_pos_ = 0;
  uint64_t cursor_ = 0;
  struct PrefetchWant {
    GranuleRun run;
    double likelihood = 0;
    bool predicted = false;
  };
  std::deque<PrefetchWant> prefetch_;
  SourceLink link_;
  int background_in_flight_ = 0;
  uint64_t predicted_bytes_ = 0;      // predicted prefetch bytes in flight
  uint64_t background_bytes_ = 0;
  uint64_t link_bytes_ = 0;           // of which read from the source (not zero runs)
  uint64_t next_id_ = 1;
  Time last_now_{0};  // the latest time the scheduler was told
  std::optional<Time> next_replan_;
  uint64_t touches_at_replan_ = 0;
  size_t touched_at_replan_ = 0;
  uint64_t replans_ = 0;
};

}  // namespace ferry
