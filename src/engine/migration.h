// Migration: the engine's shared core (DESIGN.md "Architecture"), one object per
// migration, bulk or live. It holds the granule map, the scheduler (with its model of
// the source link) and the one lock that guards them; the parts that use it live in
// files named for what they do:
//   migration.cc     set-up, the bulk run, the live start and stop, the commits that
//                    keep invariant 5, the supervisor, statistics
//   copier.cc        the copy workers: next copy from the scheduler, source read (fed
//                    to the link model), zero detection, destination write, retries
//   request_path.cc  the live request path: reads (read-through of missing bytes;
//                    a read of present granules takes no lock: present_mirror.h),
//                    writes (invariants 3, 4), trim, zero, flush, extents, cache
// Internal to the engine: ferry/engine.h (Migrate) and ferry/live.h (LiveMigration)
// are its public faces.
#pragma once

#include <absl/base/thread_annotations.h>
#include <absl/container/flat_hash_map.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "common/byte_buffer.h"
#include "common/interval_set.h"
#include "engine/live_record.h"
#include "engine/present_mirror.h"
#include "engine/written_set.h"
#include "engine/rate_limiter.h"
#include "ferry/engine.h"
#include "ferry/live.h"
#include "plan/chunk_map.h"
#include "predict/predictor.h"
#include "sched/kept_reads.h"
#include "sched/prediction_path.h"
#include "sched/scheduler.h"

namespace ferry {

using Clock = std::chrono::steady_clock;

class Migration {
 public:
  // `src` is shared so that a reader that took it keeps it open after DropSource().
  Migration(std::shared_ptr<Volume> src, Volume& dst, Journal* journal, const MigrateOptions& o, bool live = false);

  // The bulk copy: Prepare, workers until nothing is left, commits from this thread.
  Result<MigrateStats> Run();

  // Live: Prepare, then StartLive(); requests through the request path; StopLive().
  Status Prepare(MigrateStats* stats);
  void StartLive(std::function<void()> on_complete);
  Status StopLive();
  Status Read(uint64_t offset, std::span<std::byte> buf);
  Status Write(uint64_t offset, std::span<const std::byte> buf, bool fua);
  Status Zero(uint64_t offset, uint64_t length, bool fua);
  Status Trim(uint64_t offset, uint64_t length, bool fua);
  Status Flush();
  Status Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out);
  void Cache(uint64_t offset, uint64_t length);
  void Pause(bool paused);
  void SetRate(uint64_t rate) {
    limiter_.SetRate(rate);
    work_cv_.notify_all();  // workers waiting for the old rate
  }
  LiveStats Stats();
  LiveHistory History() const { return recorder_->history(); }
  bool complete() const { return complete_.load(std::memory_order_acquire); }
  // Once complete, no request needs the source: it is closed when the last reader that
  // took it (a read-through or an Extents call already under way) is done.
  void DropSource();
  uint64_t size() const { return map_.volume_size(); }
  // Granules the application wrote (engine/written_set.h).
  const WrittenSet& written() const { return written_; }
  // Records `state` in the journal (no journal: nothing), one commit at a time.
  Status RecordState(JournalState state);
  void SetConclusion(std::string conclusion) {
    std::lock_guard<std::mutex> lock(mu_);
    live_stats_.conclusion = std::move(conclusion);
  }

 private:
  // The scheduler's clock: time since the start, after the recorded history's end.
  Scheduler::Time Now() const {
    return std::chrono::duration_cast<Scheduler::Time>(Clock::now() - start_) + history_end_;
  }
  std::optional<CopyOp> Next();
  void Worker();
  // Feeds the history to the heat map and the predictor, trains it, and queues the
  // continuation it predicts; returns the granules queued. Live, the predictor's part
  // is left to TeachHistory on the predictor's thread (returns 0).
  uint64_t LearnHistory();
  // The predictor's thread, first: the history observed, the model trained, the
  // continuation queued (the lock taken for that alone).
  void TeachHistory();
  // The predictor's thread, first: makes the predictor when MigrateOptions::make_predictor
  // is to (false, with predictor_error set, when it cannot).
  bool MakePredictor();
  // f(first, last, op) for each history event's granules within the volume. Once `stop`
  // (when given) is true, looked at every 4096 accesses, the rest is left out and it
  // returns false: a cancel is not held up by a long history (an LSTM's inference on
  // each access: 2.1 s for 300,000).
  template <typename F>
  bool ForEachHistoryAccess(const std::vector<IoEvent>& history, F f, const std::atomic<bool>* stop = nullptr) const;
  // The predictor's own thread (live): it takes the accesses the request path queued
  // (feed_), asks the predictor with no lock held, and queues what it predicts.
  void PredictLoop();
  static constexpr std::chrono::seconds kSampleInterval{1};
  // Bytes one attempt at a chunk accounted for; published only when it succeeds.
  struct Tally {
    uint64_t copied = 0, skipped = 0;
    bool at_destination = false;  // the attempt failed writing the destination
  };
  // `src`: the source as Source() gave it, held for the copy's whole time. Synchronous
  // (the request path's demand copies, and retries); `attempt`: attempts already made.
  // After failed attempt number `attempt` (from 0): whether to try again; if so, counts
  // the retry and sleeps the backoff (retry_backoff, doubling, at most 2 s).
  bool BackOff(const Status& s, int attempt);
  // Sets *at_destination when the last attempt failed at the destination.
  Status CopyWithRetry(Volume& src, const CopyOp& w, ByteBuffer& buf, int attempt = 0,
                       bool* at_destination = nullptr);
  Status Copy(Volume& src, const CopyOp& w, ByteBuffer& buf, Tally* tally);
  // Calls zero_run(offset, length) and data_run(offset, bytes) over the runs of whole
  // zero granules and of data in w's source data, in order; stops at the first error.
  template <typename ZeroRun, typename DataRun>
  Status ForEachRun(const CopyOp& w, std::span<const std::byte> data, ZeroRun zero_run, DataRun data_run);
  // Writes a copy's source data to the destination (zero runs zeroed or skipped).
  Status Store(const CopyOp& w, std::span<const std::byte> data, Tally* tally);
  // Counts a successful attempt's bytes; returns s.ok().
  bool Publish(const Tally& tally, const Status& s);
  // A copy whose source read was sent asynchronously: answered, then landed by a worker.
  struct SourceReadUnderWay {
    CopyOp work;
    std::shared_ptr<Volume> src;  // held until landed
    ByteBuffer buf;
    LinkSend send;
    Status status;  // the read's answer, then the landing's
    // The landing: what it accounts for (and whether it failed at the destination),
    // data writes sent (Volume::WriteAsync) and not yet done, the first write error.
    Tally tally;
    std::atomic<int> writes_left{0};
    std::mutex landing_mu;
    Status landing_error ABSL_GUARDED_BY(landing_mu);
  };
  // Sends w's source read (Volume::ReadAsync) and returns with `lock` held again; the
  // answer is landed from the source's thread (dst_async_) or goes to answered_, a
  // failure to landed_. Unlocks around the send.
  void StartRead(std::unique_lock<std::mutex>& lock, CopyOp w, std::shared_ptr<Volume> src)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts copy w: its source read (StartRead), or for a run the source holds as zeroes
  // its zeroing, finished at once. `lock` is held again on return.
  void Launch(std::unique_lock<std::mutex>& lock, CopyOp w, std::shared_ptr<Volume> src)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Lands an answered read: zero runs from this thread, data runs sent to the
  // destination asynchronously, so that a copy worker does not wait for each write
  // (an NBD destination gets as many writes in flight as there are copies); the last
  // write to finish passes the copy to Landed(). No lock held.
  void StoreAsync(std::unique_ptr<SourceReadUnderWay> r);
  // A copy's writes are done: concludes it at once when they succeeded, else queues it
  // for a worker to retry or record. No lock held.
  void Landed(std::unique_ptr<SourceReadUnderWay> r);
  // Tells the scheduler and the counters that copy r ended with `s`, keeps its buffer.
  void Concluded(std::unique_lock<std::mutex>& lock, std::unique_ptr<SourceReadUnderWay> r, const Status& s)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A copy whose read or writes failed: what a retry may mend is retried synchronously
  // from this thread; returns the last attempt's result. No lock held.
  Status RetryFailed(SourceReadUnderWay& r);
  // Stops the copy: records `why` as the run's error unless one is already recorded
  // (OkStatus: none), and wakes every worker, those waiting for the rate too.
  void Halt(const Status& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A copy is over: tells the scheduler, counts, records a failure (`at_destination`:
  // it failed writing the destination).
  void Finish(std::unique_lock<std::mutex>& lock, const CopyOp& w, const Status& s, bool at_destination)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Live: the destination failed (full, or an I/O error): the background copy pauses
  // until the operator resumes it, and status says why (DESIGN.md "Faults").
  void PauseForDestination(const Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A source read the link model hears of (sched/link.h); `app`: the application waits
  // for it. Takes mu_ around the read, not during it.
  Status SourceRead(Volume& src, uint64_t offset, std::span<std::byte> buf, bool app);
  // The source, for a reader to hold while it reads (null once dropped).
  std::shared_ptr<Volume> Source() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return src_; }
  Status ZeroOrSkip(uint64_t offset, uint64_t length, Tally* tally);
  // Sets *at_destination when the destination's flush failed.
  Status Commit(bool* at_destination = nullptr);
  // Supervises a live migration: commits every commit_interval, notices completion.
  void Supervise();

  // The request path's helpers; `lock` holds mu_.
  GranuleRun RunOf(uint64_t offset, uint64_t length) const;
  bool AllPresent(GranuleRun run) const;
  bool AnyInFlight(GranuleRun run) const;
  // Whether a read of `run` waits for copies in flight rather than reading their
  // granules through: a write's, or a copy whose answer is expected before a read sent
  // now would be (SourceLink::ReadBeforeCopy).
  bool WaitsForCopies(GranuleRun run) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // An application request: feeds the heat map and the predictor. `kept`: a read whose
  // missing bytes kept_ answers.
  void Observe(uint64_t offset, uint64_t length, IoOp op, bool kept = false) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ObserveAt(Now(), offset, length, op, kept);
  }
  void ObserveAt(Scheduler::Time at, uint64_t offset, uint64_t length, IoOp op, bool kept)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A read answered without mu_ (present_mirror_ said its granules are present): it is
  // observed later, in arrival order and before any request that takes mu_ after it, by
  // DrainHits. The reading thread drains them itself when kMaxHits wait.
  void DeferHit(uint64_t offset, uint64_t length);
  void DrainHits() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A read's parts: runs of granules present or not (ReadThrough's).
  struct ReadPart;
  std::vector<ReadPart> PartsOf(GranuleRun run, uint64_t offset, uint64_t length) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What kept_ holds of a read's parts not present (the policy keeps read-throughs):
  // every one, answered (then copied into buf and marked kept); every one, some still
  // on their way; or not every one.
  enum class Kept { kNone, kReady, kComing };
  Kept FromKept(std::vector<ReadPart>& parts, uint64_t offset, std::span<std::byte> buf)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes every granule of `run` present: copies the missing ones from this thread (a
  // demand) and waits for those in flight. Sets *waited when it had to.
  Status EnsurePresent(std::unique_lock<std::mutex>& lock, GranuleRun run, bool* waited)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes (invariants 3, 4): partial ends brought in, copies in flight waited for, the
  // missing whole granules reserved; `apply` then changes the destination unlocked.
  Status WriteLike(uint64_t offset, uint64_t length, IoOp op, bool fua, const std::function<Status()>& apply,
                   std::span<const std::byte> data = {});
  // The request path proper, which Read() and WriteLike() time and record: serves the
  // read from the destination or through the source (sets *missed when it waited for
  // the source), or applies the write.
  Status ServeRead(uint64_t offset, std::span<std::byte> buf, bool* missed);
  // ServeRead's part for granules not all present, `lock` holding mu_ (released on return).
  Status ServeMiss(std::unique_lock<std::mutex>& lock, GranuleRun run, uint64_t offset, std::span<std::byte> buf,
                   bool* missed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A missed read answered with exactly its bytes (DESIGN.md "The live request path"):
  // its parts in runs of granules, each from the destination (present) or the source;
  // the source's sent first, then their granules' copies queued behind them. Called
  // with `lock` holding mu_; returns with it released.
  Status ReadThrough(std::unique_lock<std::mutex>& lock, GranuleRun run, uint64_t offset, std::span<std::byte> buf);
  // Waits for every part's answer (each writes into the read's buffer) and counts them;
  // reads the present parts. `src` is null when every part is present or kept (the
  // source may be dropped by then).
  Status AwaitReadParts(std::vector<ReadPart>& parts, uint64_t offset, std::span<std::byte> buf, Volume* src);
  // `waited`: set when the write waited for a copy. `data`: a write's bytes (empty for
  // zeroes and trims), which a partial write to a granule not present leaves behind it.
  Status ServeWriteLike(uint64_t offset, uint64_t length, IoOp op, bool fua, const std::function<Status()>& apply,
                        std::span<const std::byte> data, bool* waited);
  // A partial write to granule g, not present, written behind its copy: the write's bytes
  // in g are kept (pending_writes_) and laid over the copy's source data when it lands
  // (TakeLanding), so the write is answered once its own bytes are on the destination.
  // The copy is g's async copy not yet landing, or, for a missing g, a demand sent now.
  // False when it cannot be (a write's reservation or a landing copy holds g, a copy
  // that is not asynchronous, Scheduler::kMaxWrittenBehindBytes reached): the write then
  // waits as before.
  bool WriteBehind(std::unique_lock<std::mutex>& lock, uint64_t g, uint64_t offset, std::span<const std::byte> data)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool AnyPendingWrite(GranuleRun run) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  struct PendingPiece;
  // The bytes of writes pending behind copies within [offset, offset + length), cut to
  // it; disjoint.
  std::vector<PendingPiece> PendingPiecesIn(uint64_t offset, uint64_t length) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Copies the pieces into buf, which holds [offset, offset + buf.size()).
  static void LayOver(const std::vector<PendingPiece>& pieces, uint64_t offset, std::span<std::byte> buf);
  // Copy w's source data is at hand and about to be stored: the writes pending on its
  // granules are laid over it, and from now on a write to them waits for the landing
  // (their copy_sent_ entries go).
  void TakeLanding(const CopyOp& w, std::span<std::byte> buf) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // For a run the source holds as zeroes: a buffer of zeroes with the pending writes laid
  // over it, when w's granules have any (else none: the run is zeroed or skipped).
  std::optional<ByteBuffer> ZeroLanding(const CopyOp& w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The granules of `run` are present (a copy landed around their pending writes) or
  // are being written whole: their pending writes are no longer wanted.
  void WritesLanded(GranuleRun run) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Brings in every granule with writes pending (a flush, the stop): waits for their
  // copies, copies again those whose copy failed. Stops at the first error.
  Status SettleWrites();
  // Closes the recorder's interval (the supervisor, about once a second).
  void SampleHistory();
  // The link model now, for status and the report; `mu_` held.
  LiveLink LinkNow() const;

  Volume& dst_;
  Journal* const journal_;
  const MigrateOptions& o_;
  const bool live_;

  // The one lock of the core: the granule map, the scheduler (and its link model), the
  // state of the workers and the counters below. Never held across I/O or a predictor's
  // training. (The annotations document it; gcc does not check them.)
  std::mutex mu_;
  std::condition_variable cv_;        // workers ended, or the supervisor should look
  std::condition_variable work_cv_;   // live workers: new work may be there
  std::condition_variable granule_cv_;  // a copy or write finished: granule states changed
  std::shared_ptr<Volume> src_ ABSL_GUARDED_BY(mu_);
  VolumeHealth dropped_source_health_ ABSL_GUARDED_BY(mu_);  // src_'s when it was dropped
  ChunkMap map_ ABSL_GUARDED_BY(mu_);  // its size and granule are read unlocked: they never change
  const Clock::time_point start_;
  const Scheduler::Time history_end_;
  Scheduler sched_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  Status error_ ABSL_GUARDED_BY(mu_);  // first failure
  int running_ ABSL_GUARDED_BY(mu_) = 0;  // workers
  // Copies whose source read is sent and not yet concluded; answered_ holds those
  // answered (for a worker to land), landed_ those whose read or writes failed (for a
  // worker to retry or record).
  int reads_under_way_ ABSL_GUARDED_BY(mu_) = 0;
  // Granules whose copy's source read is under way (live), and when it was sent.
  absl::flat_hash_map<uint64_t, Scheduler::Time> copy_sent_ ABSL_GUARDED_BY(mu_);
  std::deque<std::unique_ptr<SourceReadUnderWay>> answered_ ABSL_GUARDED_BY(mu_);
  std::deque<std::unique_ptr<SourceReadUnderWay>> landed_ ABSL_GUARDED_BY(mu_);
  // Buffers of landed copies, for the next reads (no allocation per copy).
  static constexpr size_t kSpareBuffers = 16;
  std::vector<ByteBuffer> spare_buffers_ ABSL_GUARDED_BY(mu_);
  // Predictions to prefetches, and why reads stalled. Its Infer() (the predictor alone)
  // runs on the predictor's thread without mu_; everything else under mu_.
  PredictionPath path_;
  // Whether accesses go to a predictor: one is given, or made on its thread (live);
  // false once making it failed.
  bool predicting_ ABSL_GUARDED_BY(mu_);
  // Set by the stop: the predictor's load or training gives up, so the stop does not
  // wait for it (a cold LibTorch load held an exit 18 s). Declared before the
  // predictor, which it must outlive.
  std::atomic<bool> predictor_cancel_{false};
  std::unique_ptr<Predictor> made_predictor_;  // MigrateOptions::make_predictor's
  LiveStats live_stats_ ABSL_GUARDED_BY(mu_);  // the counters
  // Read-throughs' answers, for re-reads of their bytes before their granules land.
  KeptReads kept_ ABSL_GUARDED_BY(mu_);
  // Writes left behind their granule's copy (WriteBehind), by granule: the newest bytes
  // written there (a granule's size of buffer, however often it is written) and which
  // they are (volume offsets). A granule leaves when it becomes present.
  struct PendingGranule {
    std::vector<std::byte> bytes;
    IntervalSet written;
  };
  absl::flat_hash_map<uint64_t, PendingGranule> pending_writes_ ABSL_GUARDED_BY(mu_);
  // A read's copy of pending bytes within its range.
  struct PendingPiece {
    uint64_t offset;
    std::vector<std::byte> data;
  };

  // Accesses for the predictor's thread; mu_ may be held when feed_mu_ is taken, never
  // the other way. At most kMaxFeed wait: a predictor that falls behind skips accesses
  // (counted) rather than hold up the application.
  struct Access {
    uint64_t first, last;
    IoOp op;
    std::vector<PredictionOutcome> outcomes;  // of predictions it settled (usually none)
  };
  static constexpr size_t kMaxFeed = 4096;
  // The predictor's thread is woken when kFeedBatch accesses wait, and looks every
  // kFeedWait whatever: a wake-up per access (17,000 a second on the anchor benchmark)
  // cost the application a fifth of its IOPS on two cores, and a prediction 2 ms late
  // is still a source round trip early.
  static constexpr size_t kFeedBatch = 64;
  static constexpr std::chrono::milliseconds kFeedWait{2};
  // The CPU priority of the history's training (PredictLoop): below the requests'.
  static constexpr int kLearnerNice = 10;
  std::mutex feed_mu_;
  std::condition_variable feed_cv_;
  std::deque<Access> feed_ ABSL_GUARDED_BY(feed_mu_);
  bool feed_stop_ ABSL_GUARDED_BY(feed_mu_) = false;
  uint64_t feed_skipped_ ABSL_GUARDED_BY(feed_mu_) = 0;
  std::thread predictor_thread_;
  // Hits answered without mu_ and not observed yet (DeferHit). mu_ may be held when
  // hits_mu_ is taken, never the other way. At most kMaxHits: 1 hit in 256 takes mu_.
  struct Hit {
    Scheduler::Time at;
    uint64_t offset, length;
  };
  static constexpr size_t kMaxHits = 256;
  std::mutex hits_mu_;
  std::vector<Hit> hits_ ABSL_GUARDED_BY(hits_mu_);
  std::vector<Hit> drained_ ABSL_GUARDED_BY(mu_);  // DrainHits' batch; swapped, so no hit allocates
  PresentMirror present_mirror_;
  // Live: the history, for the predictor's thread to learn (TeachHistory); then empty.
  std::vector<IoEvent> history_to_teach_;

  std::mutex commit_mu_;  // one commit at a time (the journal is not thread-safe)
  std::optional<uint64_t> committed_present_ ABSL_GUARDED_BY(commit_mu_);  // present bytes the journal holds
  std::atomic<bool> complete_{false};
  std::function<void()> on_complete_;
  std::vector<std::thread> threads_;
  std::thread supervisor_;
  bool live_started_ = false;

  IntervalSet src_zero_;  // read-only once workers start
  IntervalSet dst_zero_;  // read-only once workers start
  // The destination's writes are only sent by WriteAsync (VolumeCapabilities::async_io):
  // a source read's answer is landed from the source's thread, not handed to a worker.
  const bool dst_async_;
  RateLimiter limiter_;
  std::atomic<uint64_t> bytes_copied_{0}, bytes_skipped_{0}, copy_ops_{0}, retries_{0};
  std::atomic<uint64_t> reads_{0}, writes_{0};  // application requests
  std::atomic<uint64_t> read_through_bytes_{0};
  std::unique_ptr<LiveRecorder> recorder_;       // live only
  WrittenSet written_;  // thread-safe on its own
};

}  // namespace ferry
