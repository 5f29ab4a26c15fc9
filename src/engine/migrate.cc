// Migrate: the bulk copy. Worker threads ask the Scheduler (the same policy object the
// simulator drives) for the next chunk of missing granules, copy it (skipping holes and
// zero blocks), and report it done; the calling thread commits the journal
// (destination flush first: invariant 5) and reports progress.
//
// The granule map is the ground truth; a chunk is a run of missing granules, homogeneous
// in the source's allocation (all hole, or data), cut and ordered by the scheduler.
//
// The same Migration runs live (LiveMigration, ferry/live.h): then the workers wait for
// work instead of ending when nothing is left to issue, a supervisor thread does the
// commits, and application requests come in through the request path below, which
// copies on demand and keeps the write invariants.
#include <algorithm>
#include <bit>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <absl/container/flat_hash_set.h>
#include <fmt/format.h>

#include "common/interval_set.h"
#include "common/zero.h"
#include "engine/live_record.h"
#include "engine/progress_meter.h"
#include "engine/rate_limiter.h"
#include "ferry/engine.h"
#include "ferry/live.h"
#include "ferry/units.h"
#include "plan/chunk_map.h"
#include "predict/predictor.h"
#include "sched/scheduler.h"
#include "volume/zero_map.h"

namespace ferry {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::nanoseconds HistoryEnd(const MigrateOptions& o) {
  std::chrono::nanoseconds end{0};
  if (o.history) {
    for (const IoEvent& e : *o.history) end = std::max(end, e.time);
  }
  return end;
}

// `history_end`: HistoryEnd(o), the recorded history's span.
SchedulerOptions SchedulerOptionsFor(const MigrateOptions& o, std::chrono::nanoseconds history_end) {
  SchedulerOptions s;
  s.policy = o.policy;
  s.min_chunk = o.min_chunk;
  s.max_chunk = o.max_chunk;
  s.max_in_flight = o.threads;
  s.link.latency_target = o.latency_target;
  s.link.min_rate = o.min_rate;
  s.adapt_chunk_size = o.adapt_chunk_size;
  if (o.history && !o.history->empty()) {
    // The whole recorded history is one heat window.
    s.heat.slide = std::max<std::chrono::nanoseconds>(std::chrono::seconds(1), history_end / 1000);
    s.heat.window = history_end + 2 * s.heat.slide;
  }
  return s;
}

class Migration {
 public:
  Migration(Volume& src, Volume& dst, Journal* journal, const MigrateOptions& o, bool live = false)
      : src_(src), dst_(dst), journal_(journal), o_(o), live_(live),
        map_(src.size(), o.granule_size),
        start_(Clock::now()),
        history_end_(HistoryEnd(o)),
        sched_(map_, SchedulerOptionsFor(o, history_end_), Now()),
        limiter_(o.rate_limit) {
    if (live_) recorder_ = std::make_unique<LiveRecorder>(src.size());
  }

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
  uint64_t size() const { return map_.volume_size(); }

 private:
  using Work = CopyOp;

  // The scheduler's clock: time since the start, after the recorded history's end.
  Scheduler::Time Now() const {
    return std::chrono::duration_cast<Scheduler::Time>(Clock::now() - start_) + history_end_;
  }
  std::optional<Work> Next();
  void Worker();
  // Runs the predictor over the history and queues the continuation it predicts;
  // returns the granules queued.
  uint64_t QueuePredicted();
  static constexpr int kPredictionSteps = 256;
  static constexpr std::chrono::seconds kSampleInterval{1};
  // Bytes one attempt at a chunk accounted for; published only when it succeeds.
  struct Tally {
    uint64_t copied = 0, skipped = 0;
  };
  Status CopyWithRetry(const Work& w, std::vector<std::byte>& buf);
  Status Copy(const Work& w, std::vector<std::byte>& buf, Tally* tally);
  // A source read the link model hears of (sched/link.h); `app`: the application waits
  // for it. Takes mu_ around the read, not during it.
  Status SourceRead(uint64_t offset, std::span<std::byte> buf, bool app);
  Status ZeroOrSkip(uint64_t offset, uint64_t length, Tally* tally);
  Status Commit();
  // Supervises a live migration: commits every commit_interval, notices completion.
  void Supervise();

  // The request path's helpers; `lock` holds mu_.
  GranuleRun RunOf(uint64_t offset, uint64_t length) const;
  bool AllPresent(GranuleRun run) const;
  bool AnyInFlight(GranuleRun run) const;
  // An application request: feeds the heat map and the predictor.
  void Observe(uint64_t offset, uint64_t length, IoOp op);
  // Makes every granule of `run` present: copies the missing ones from this thread (a
  // demand) and waits for those in flight. Sets *waited when it had to.
  Status EnsurePresent(std::unique_lock<std::mutex>& lock, GranuleRun run, bool* waited);
  // Writes (invariants 3, 4): partial ends brought in, copies in flight waited for, the
  // missing whole granules reserved; `apply` then changes the destination unlocked.
  Status WriteLike(uint64_t offset, uint64_t length, IoOp op, bool fua, const std::function<Status()>& apply);
  Status ReadUntimed(uint64_t offset, std::span<std::byte> buf);
  Status WriteLikeUntimed(uint64_t offset, uint64_t length, IoOp op, bool fua, const std::function<Status()>& apply);
  // Closes the recorder's interval (the supervisor, about once a second).
  void SampleHistory();
  // The link model now, for status and the report; `mu_` held.
  LiveLink LinkNow() const;

  Volume& src_;
  Volume& dst_;
  Journal* const journal_;
  const MigrateOptions& o_;
  const bool live_;

  std::mutex mu_;
  std::condition_variable cv_;        // workers ended, or the supervisor should look
  std::condition_variable work_cv_;   // live workers: new work may be there
  std::condition_variable granule_cv_;  // a copy or write finished: granule states changed
  ChunkMap map_;          // guarded by mu_
  const Clock::time_point start_;
  const Scheduler::Time history_end_;
  Scheduler sched_;       // guarded by mu_
  bool stop_ = false;     // guarded by mu_
  bool paused_ = false;   // guarded by mu_
  Status error_;          // first failure; guarded by mu_
  int running_ = 0;       // live workers; guarded by mu_
  PredictionTracker tracker_;  // guarded by mu_
  std::vector<Prediction> predictions_;  // guarded by mu_
  LiveStats live_stats_;  // counters guarded by mu_

  std::mutex commit_mu_;  // one commit at a time (the journal is not thread-safe)
  std::atomic<bool> complete_{false};
  std::function<void()> on_complete_;
  std::vector<std::thread> threads_;
  std::thread supervisor_;
  bool live_started_ = false;

  IntervalSet src_zero_;  // read-only once workers start
  IntervalSet dst_zero_;  // read-only once workers start
  RateLimiter limiter_;
  std::atomic<uint64_t> bytes_copied_{0}, bytes_skipped_{0}, copy_ops_{0}, retries_{0};
  std::atomic<uint64_t> reads_{0}, writes_{0};  // application requests
  std::atomic<uint64_t> read_through_bytes_{0};
  std::unique_ptr<LiveRecorder> recorder_;       // live only
};

std::optional<Migration::Work> Migration::Next() {
  if (stop_) return std::nullopt;
  // One worker per copy in flight, so the scheduler's in-flight limit never binds here.
  auto op = sched_.Next(Now());
  if (op && o_.on_copy) o_.on_copy(op->bytes);
  return op;
}

Status Migration::ZeroOrSkip(uint64_t offset, uint64_t length, Tally* tally) {
  tally->skipped += length;
  if (dst_zero_.Covers(offset, length)) return OkStatus();  // already reads as zero
  return dst_.Zero(offset, length);
}

Status Migration::SourceRead(uint64_t offset, std::span<std::byte> buf, bool app) {
  LinkSend send;
  {
    std::lock_guard<std::mutex> lock(mu_);
    send = sched_.SourceSent(buf.size(), app, Now());
  }
  Status s = src_.Read(offset, buf);
  std::lock_guard<std::mutex> lock(mu_);
  if (s.ok()) {
    sched_.SourceAnswered(send, app, Now());
  } else {
    sched_.SourceFailed(send);
  }
  return s;
}

Status Migration::Copy(const Work& w, std::vector<std::byte>& buf, Tally* tally) {
  const uint64_t off = w.bytes.offset, len = w.bytes.length;
  if (w.source_zero) return ZeroOrSkip(off, len, tally);
  buf.resize(len);
  FERRY_RETURN_IF_ERROR(SourceRead(off, buf, w.priority == CopyPriority::kDemand));
  // Zero detection per granule: write runs of data, zero (or skip) runs of zeroes.
  const uint64_t g = map_.granule_size();
  uint64_t i = 0;
  while (i < len) {
    bool zero = IsAllZero(buf.data() + i, std::min(g, len - i));
    uint64_t j = i + std::min(g, len - i);
    while (j < len && IsAllZero(buf.data() + j, std::min(g, len - j)) == zero) j += std::min(g, len - j);
    if (zero) {
      FERRY_RETURN_IF_ERROR(ZeroOrSkip(off + i, j - i, tally));
    } else {
      FERRY_RETURN_IF_ERROR(dst_.Write(off + i, std::span<const std::byte>(buf.data() + i, j - i)));
      tally->copied += j - i;
    }
    i = j;
  }
  return OkStatus();
}

Status Migration::CopyWithRetry(const Work& w, std::vector<std::byte>& buf) {
  auto backoff = o_.retry_backoff;
  for (int attempt = 0;; ++attempt) {
    Tally tally;
    Status s = Copy(w, buf, &tally);
    if (s.ok()) {
      bytes_copied_ += tally.copied;
      bytes_skipped_ += tally.skipped;
      return s;
    }
    if (!s.retryable() || attempt >= o_.max_retries) {
      if (s.retryable()) s = s.WithContext("giving up after " + std::to_string(attempt + 1) + " attempts");
      return s;
    }
    ++retries_;
    std::this_thread::sleep_for(backoff);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(2));
  }
}

void Migration::Worker() {
  std::vector<std::byte> buf;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (const uint64_t rate = limiter_.rate(); rate != 0 && !paused_ && !stop_) {
      // --rate: no new copy until the bytes booked so far are paid for. The wait comes
      // before the scheduler hands out granules, so none waits in flight for the rate (a
      // request for it would wait too). A rate change or a stop ends it.
      const auto until = limiter_.PaidUntil();
      if (until > RateLimiter::Clock::now()) {
        work_cv_.wait_until(lock, until, [&] { return stop_ || limiter_.rate() != rate; });
        continue;
      }
    }
    std::optional<Work> w = paused_ ? std::nullopt : Next();
    if (w && !w->source_zero && w->priority != CopyPriority::kDemand) {
      limiter_.Reserve(w->bytes.length, RateLimiter::Clock::now());
    }
    if (!w) {
      // Bulk: nothing left to issue. Live: wait for work (a copy that failed, a
      // prediction, a resume) until every granule is present or the migration stops.
      if (!live_ || stop_ || map_.complete()) break;
      work_cv_.wait_for(lock, std::chrono::milliseconds(200));
      continue;
    }
    lock.unlock();
    Status s = CopyWithRetry(*w, buf);
    lock.lock();
    sched_.OnCopyDone(*w, s.ok(), Now());
    granule_cv_.notify_all();
    if (s.ok()) {
      ++copy_ops_;
      if (recorder_) recorder_->Copied(w->bytes.offset, w->bytes.length, w->priority);
    } else if (live_) {
      // The application keeps running: note it, and try these granules again later.
      ++live_stats_.copy_errors;
      live_stats_.last_error = s.message();
      work_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
    } else {
      if (error_.ok()) error_ = s;
      stop_ = true;
    }
  }
  --running_;
  cv_.notify_all();
}

Status Migration::Commit() {
  // One commit at a time, the snapshot included: a later snapshot never lands first.
  std::lock_guard<std::mutex> one(commit_mu_);
  std::vector<uint64_t> present;
  bool complete;
  {
    std::lock_guard<std::mutex> lock(mu_);
    present = map_.present_words();
    complete = map_.complete();
  }
  // Invariant 5: the destination data of every granule in `present` is durable before
  // the journal says so.
  FERRY_RETURN_IF_ERROR(dst_.Flush().WithContext("flushing the destination"));
  if (!journal_) return OkStatus();
  JournalState state = complete ? std::max(journal_->state(), JournalState::kCopied) : JournalState::kCopying;
  return journal_->Commit(present, state).WithContext("committing the journal");
}

uint64_t Migration::QueuePredicted() {
  Predictor& p = *o_.predictor;
  const uint64_t g = map_.granule_size(), n = map_.granule_count();
  std::vector<Prediction> out;
  for (const IoEvent& e : *o_.history) {
    if (e.offset >= src_.size()) continue;
    const uint64_t end = std::min(e.offset + std::max<uint64_t>(e.length, 1), src_.size());
    out.clear();
    p.Observe(e.offset / g, (end - 1) / g, e.op, &out);
  }
  p.Train();
  // The continuation: follow the most likely prediction, each step's predictions
  // queued with the likelihood of the path that leads to them.
  absl::flat_hash_set<uint64_t> queued;
  double path = 1;
  for (int step = 0; step < kPredictionSteps && !out.empty(); ++step) {
    for (const Prediction& pr : out) {
      if (pr.granule >= n) continue;
      const uint64_t count = std::min(pr.count, n - pr.granule);
      sched_.Prefetch({GranuleIndex(pr.granule), count}, path * pr.likelihood, static_cast<uint32_t>(step) + pr.ahead);
      for (uint64_t k = 0; k < count; ++k) queued.insert(pr.granule + k);
    }
    const Prediction next = out.front();
    path *= next.likelihood;
    out.clear();
    p.Observe(next.granule, next.granule + next.count - 1, IoOp::kRead, &out);
  }
  return queued.size();
}

Status Migration::Prepare(MigrateStats* stats) {
  stats->volume_size = src_.size();
  if (dst_.size() < src_.size()) {
    return FailedPrecondition("destination " + dst_.name() + " is smaller than the source");
  }
  if (journal_) map_.LoadPresent(journal_->present());
  stats->bytes_resumed = map_.present_bytes();
  live_stats_.bytes_resumed = stats->bytes_resumed;
  FERRY_RETURN_IF_ERROR(ReadZeroMap(src_, &src_zero_).WithContext(src_.name()));
  FERRY_RETURN_IF_ERROR(ReadZeroMap(dst_, &dst_zero_).WithContext(dst_.name()));
  sched_.SetSourceZero(&src_zero_);
  if (o_.history) {
    for (const IoEvent& e : *o_.history) sched_.OnAppIo(e);
    if (o_.predictor) stats->predicted_granules = QueuePredicted();
  }
  return OkStatus();
}

Result<MigrateStats> Migration::Run() {
  const auto start = Clock::now();
  MigrateStats stats;
  FERRY_RETURN_IF_ERROR(Prepare(&stats));

  ProgressMeter meter(o_.on_progress, o_.progress_interval, src_.size(), stats.bytes_resumed);
  std::vector<std::thread> threads;
  running_ = o_.threads;
  for (int i = 0; i < o_.threads; ++i) threads.emplace_back([this] { Worker(); });

  Status commit_status;
  auto next_commit = Clock::now() + o_.commit_interval;
  {
    std::unique_lock<std::mutex> lock(mu_);
    while (running_ > 0) {
      auto wake = std::min(next_commit, Clock::now() + o_.progress_interval);
      cv_.wait_until(lock, wake);
      if (o_.cancel && o_.cancel->load() && !stop_) {
        stop_ = true;
        if (error_.ok()) error_ = Cancelled("interrupted");
      }
      uint64_t done = map_.present_bytes(), chunk = sched_.chunk_size();
      lock.unlock();
      meter.Update(done, chunk);
      if (journal_ && Clock::now() >= next_commit) {
        Status s = Commit();
        if (!s.ok() && commit_status.ok()) commit_status = s;
        next_commit = Clock::now() + o_.commit_interval;
      }
      lock.lock();
      if (!commit_status.ok()) stop_ = true;  // progress that cannot be recorded is lost work
    }
  }
  for (auto& t : threads) t.join();

  // Record what is durable, whatever happened: a rerun resumes from here.
  Status final_commit = Commit();
  meter.Update(map_.present_bytes(), sched_.chunk_size(), /*force=*/true);
  if (!error_.ok()) return error_;
  if (!commit_status.ok()) return commit_status;
  if (!final_commit.ok()) return final_commit;

  stats.bytes_copied = bytes_copied_;
  stats.bytes_skipped = bytes_skipped_;
  stats.copy_ops = copy_ops_;
  stats.retries = retries_;
  stats.final_chunk_size = sched_.chunk_size();
  stats.seconds = ToSeconds(Clock::now() - start);
  return stats;
}

// ---- live ----

void Migration::StartLive(std::function<void()> on_complete) {
  on_complete_ = std::move(on_complete);
  live_started_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = o_.threads;
  }
  for (int i = 0; i < o_.threads; ++i) threads_.emplace_back([this] { Worker(); });
  supervisor_ = std::thread([this] { Supervise(); });
}

void Migration::Supervise() {
  auto next_commit = Clock::now() + o_.commit_interval;
  auto next_sample = Clock::now() + kSampleInterval;
  bool announced = false;
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t last_copied = bytes_copied_;
  auto last_time = Clock::now();
  while (!stop_) {
    cv_.wait_until(lock, std::min(next_commit, next_sample), [&] { return stop_ || (map_.complete() && !announced); });
    if (stop_) break;
    if (Clock::now() >= next_sample) {
      lock.unlock();
      SampleHistory();
      lock.lock();
      next_sample += kSampleInterval;
    }
    if (Clock::now() < next_commit && !(map_.complete() && !announced)) continue;
    const bool now_complete = map_.complete();
    const auto t = Clock::now();
    if (t - last_time >= std::chrono::milliseconds(100)) {
      const double inst = static_cast<double>(bytes_copied_ - last_copied) / ToSeconds(t - last_time);
      live_stats_.rate_bps = live_stats_.rate_bps == 0 ? inst : 0.5 * live_stats_.rate_bps + 0.5 * inst;
      last_copied = bytes_copied_;
      last_time = t;
    }
    lock.unlock();
    Status s = Commit();  // with the map complete, this records kCopied
    lock.lock();
    if (!s.ok()) {
      live_stats_.last_error = s.message();
    } else if (now_complete && !announced) {
      complete_.store(true, std::memory_order_release);
      announced = true;
      if (on_complete_) {
        lock.unlock();
        on_complete_();
        lock.lock();
      }
    }
    next_commit = Clock::now() + o_.commit_interval;
  }
}

Status Migration::StopLive() {
  if (!live_started_) return OkStatus();
  live_started_ = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  supervisor_.join();
  SampleHistory();
  return Commit();
}

LiveLink Migration::LinkNow() const {
  const LinkSnapshot l = sched_.link().Snapshot(Now());
  LiveLink out;
  out.base_latency_ms = l.base_latency_s * 1e3;
  out.delivery_rate = l.delivery_rate;
  out.queue_delay_ms = l.queue_delay_s * 1e3;
  out.latency_target_ms = l.latency_target_s * 1e3;
  out.in_flight = l.in_flight;
  out.copy_in_flight = sched_.copy_bytes_in_flight();
  out.budget = l.budget;
  out.app_active = l.app_active;
  return out;
}

void Migration::SampleHistory() {
  uint64_t present, read_stalls, write_stalls;
  LiveLink link;
  {
    std::lock_guard<std::mutex> lock(mu_);
    present = map_.present_bytes();
    read_stalls = live_stats_.read_stalls;
    write_stalls = live_stats_.write_stalls;
    link = LinkNow();
  }
  recorder_->Sample(ToSeconds(Clock::now() - start_), present, read_stalls, write_stalls, link);
}

void Migration::Pause(bool paused) {
  std::unique_lock<std::mutex> lock(mu_);
  paused_ = paused;
  live_stats_.paused = paused;
  work_cv_.notify_all();
  // Paused means quiet: the background copies already started finish first.
  if (paused) granule_cv_.wait(lock, [this] { return sched_.background_in_flight() == 0 || stop_; });
}

GranuleRun Migration::RunOf(uint64_t offset, uint64_t length) const {
  const uint64_t g = map_.granule_size();
  const uint64_t first = offset / g, last = (offset + std::max<uint64_t>(length, 1) - 1) / g;
  return {GranuleIndex(first), last - first + 1};
}

bool Migration::AllPresent(GranuleRun run) const {
  for (uint64_t g = run.first.value; g < run.first.value + run.count; ++g) {
    if (map_.state(GranuleIndex(g)) != GranuleState::kPresent) return false;
  }
  return true;
}

bool Migration::AnyInFlight(GranuleRun run) const {
  for (uint64_t g = run.first.value; g < run.first.value + run.count; ++g) {
    if (map_.state(GranuleIndex(g)) == GranuleState::kInFlight) return true;
  }
  return false;
}

void Migration::Observe(uint64_t offset, uint64_t length, IoOp op) {
  IoEvent e;
  e.time = Now();
  e.offset = offset;
  e.length = length;
  e.op = op;
  sched_.OnAppIo(e);
  const GranuleRun run = RunOf(offset, length);
  for (uint64_t g = run.first.value; g < run.first.value + run.count; ++g) {
    tracker_.Accessed(g, map_.state(GranuleIndex(g)) == GranuleState::kPresent);
  }
  if (!o_.predictor) return;
  predictions_.clear();
  o_.predictor->Observe(run.first.value, run.first.value + run.count - 1, op, &predictions_);
  const uint64_t n = map_.granule_count();
  bool queued = false;
  for (const Prediction& p : predictions_) {
    if (p.granule >= n) continue;
    const uint64_t count = std::min(p.count, n - p.granule);
    for (uint64_t g = p.granule; g < p.granule + count; ++g) {
      if (map_.state(GranuleIndex(g)) == GranuleState::kMissing) {
        tracker_.Predicted(g);
        live_stats_.predicted_bytes += map_.granule_size();
        queued = true;
      }
    }
    sched_.Prefetch({GranuleIndex(p.granule), count}, p.likelihood, p.ahead);
  }
  if (queued) work_cv_.notify_all();
}

Status Migration::EnsurePresent(std::unique_lock<std::mutex>& lock, GranuleRun run, bool* waited) {
  std::vector<std::byte> buf;
  for (;;) {
    std::vector<CopyOp> ops = sched_.Demand(run, Now());
    if (!ops.empty()) {
      *waited = true;
      work_cv_.notify_all();  // the rest of a demand's chunk is queued for the workers
      lock.unlock();
      Status first;
      std::vector<bool> ok(ops.size());
      for (size_t i = 0; i < ops.size(); ++i) {
        Status s = first.ok() ? CopyWithRetry(ops[i], buf) : first;  // after a failure, give the rest back
        ok[i] = s.ok();
        if (!s.ok() && first.ok()) first = s;
      }
      lock.lock();
      for (size_t i = 0; i < ops.size(); ++i) {
        sched_.OnCopyDone(ops[i], ok[i], Now());
        if (!ok[i]) continue;
        live_stats_.demand_bytes += ops[i].bytes.length;
        ++copy_ops_;
        recorder_->Copied(ops[i].bytes.offset, ops[i].bytes.length, ops[i].priority);
      }
      granule_cv_.notify_all();
      if (!first.ok()) {
        ++live_stats_.copy_errors;
        live_stats_.last_error = first.message();
        return first;
      }
      continue;
    }
    if (AllPresent(run)) return OkStatus();
    *waited = true;  // another thread's copy (or write) of these granules is in flight
    granule_cv_.wait(lock);
  }
}

Status Migration::Read(uint64_t offset, std::span<std::byte> buf) {
  const auto t0 = Clock::now();
  Status s = ReadUntimed(offset, buf);
  recorder_->Request(offset, buf.size(), /*write=*/false, Clock::now() - t0);
  return s;
}

Status Migration::ReadUntimed(uint64_t offset, std::span<std::byte> buf) {
  ++reads_;
  if (complete()) return dst_.Read(offset, buf);
  std::unique_lock<std::mutex> lock(mu_);
  Observe(offset, buf.size(), IoOp::kRead);
  const GranuleRun run = RunOf(offset, buf.size());
  if (AllPresent(run)) {
    lock.unlock();
    return dst_.Read(offset, buf);
  }
  ++live_stats_.read_stalls;
  if (!sched_.ReadsThrough()) {
    bool waited = false;
    FERRY_RETURN_IF_ERROR(EnsurePresent(lock, run, &waited));
    lock.unlock();
    return dst_.Read(offset, buf);  // invariant 2: every granule is present
  }
  // The read is answered with exactly its bytes, ahead of every copy: per granule run,
  // the destination where present, the source where missing (a write that lands
  // meanwhile is a request concurrent with this read, so either answer is right).
  // Granules in flight are waited for: their copy went out first, so on a first come
  // first served link it lands no later than a read sent now would (and a write's
  // reservation lands its data). Invariant 2 holds: no granule is served from the
  // destination unless present.
  while (AnyInFlight(run)) granule_cv_.wait(lock);
  const uint64_t g = map_.granule_size();
  std::vector<std::pair<Range, bool>> parts;  // (bytes, from the destination)
  for (uint64_t i = run.first.value; i < run.first.value + run.count; ++i) {
    const uint64_t lo = std::max(offset, i * g), hi = std::min(offset + buf.size(), (i + 1) * g);
    const bool present = map_.state(GranuleIndex(i)) == GranuleState::kPresent;
    if (!parts.empty() && parts.back().second == present) {
      parts.back().first.length += hi - lo;
    } else {
      parts.push_back({Range{lo, hi - lo}, present});
    }
  }
  lock.unlock();
  for (const auto& [r, present] : parts) {
    std::span<std::byte> part = buf.subspan(r.offset - offset, r.length);
    Status s = present ? dst_.Read(r.offset, part) : SourceRead(r.offset, part, /*app=*/true);
    for (int attempt = 0; !s.ok() && !present && s.retryable() && attempt < o_.max_retries; ++attempt) {
      std::this_thread::sleep_for(o_.retry_backoff * (1 << attempt));
      s = SourceRead(r.offset, part, /*app=*/true);
    }
    if (!s.ok()) {
      std::lock_guard<std::mutex> relock(mu_);
      ++live_stats_.read_errors;
      live_stats_.last_error = s.message();
      return s;
    }
    if (!present) {
      read_through_bytes_ += r.length;
      recorder_->ReadThrough(r.length);
    }
  }
  // Its granules follow at the front of the prefetch queue (adaptive), within the
  // link's budget.
  lock.lock();
  sched_.OnReadThrough(run);
  lock.unlock();
  work_cv_.notify_all();
  return OkStatus();
}

Status Migration::WriteLike(uint64_t offset, uint64_t length, IoOp op, bool fua,
                            const std::function<Status()>& apply) {
  const auto t0 = Clock::now();
  Status s = WriteLikeUntimed(offset, length, op, fua, apply);
  recorder_->Request(offset, length, /*write=*/true, Clock::now() - t0);
  return s;
}

Status Migration::WriteLikeUntimed(uint64_t offset, uint64_t length, IoOp op, bool fua,
                                   const std::function<Status()>& apply) {
  ++writes_;
  if (complete()) {
    FERRY_RETURN_IF_ERROR(apply());
    return fua ? Flush() : OkStatus();
  }
  const uint64_t g = map_.granule_size();
  const GranuleRun run = RunOf(offset, length);
  const uint64_t first = run.first.value, last = first + run.count - 1;
  // The ends that the request covers only in part (the volume's short last granule is
  // covered whole when the request reaches the volume's end).
  const bool head_partial = offset % g != 0 || (run.count == 1 && offset + length < std::min((first + 1) * g, map_.volume_size()));
  const bool tail_partial = (offset + length) % g != 0 && offset + length < map_.volume_size();
  std::unique_lock<std::mutex> lock(mu_);
  Observe(offset, length, op);
  bool waited = false;
  for (;;) {
    // Invariant 4: a partly written missing granule is brought in first.
    if (head_partial) FERRY_RETURN_IF_ERROR(EnsurePresent(lock, {GranuleIndex(first), 1}, &waited));
    if (tail_partial && last != first) FERRY_RETURN_IF_ERROR(EnsurePresent(lock, {GranuleIndex(last), 1}, &waited));
    // Invariant 3: a copy in flight lands before this write does.
    if (!AnyInFlight(run)) break;
    waited = true;
    granule_cv_.wait(lock);
  }
  if (waited) ++live_stats_.write_stalls;
  // The missing granules left are covered whole: no copy, reserved until written.
  const std::vector<GranuleRun> reserved = sched_.ReserveForWrite(run);
  lock.unlock();
  Status s = apply();
  lock.lock();
  sched_.OnWriteDone(reserved, s.ok());
  granule_cv_.notify_all();
  if (!s.ok()) work_cv_.notify_all();  // reserved granules are missing again
  lock.unlock();
  FERRY_RETURN_IF_ERROR(s);
  return fua ? Flush() : OkStatus();
}

Status Migration::Write(uint64_t offset, std::span<const std::byte> buf, bool fua) {
  return WriteLike(offset, buf.size(), IoOp::kWrite, fua, [&] { return dst_.Write(offset, buf); });
}

Status Migration::Zero(uint64_t offset, uint64_t length, bool fua) {
  return WriteLike(offset, length, IoOp::kWrite, fua, [&] { return dst_.Zero(offset, length); });
}

Status Migration::Trim(uint64_t offset, uint64_t length, bool fua) {
  // Only whole granules: the partial ends are left as they are (a discard is a hint).
  const uint64_t g = map_.granule_size();
  const uint64_t lo = (offset + g - 1) / g * g;
  const uint64_t hi = offset + length >= map_.volume_size() ? offset + length : (offset + length) / g * g;
  if (hi <= lo) return fua ? Flush() : OkStatus();
  // A destination that cannot discard is zeroed instead: a missing granule is then
  // present without a copy, and reads as zeroes, as a discarded block may.
  const bool trim = dst_.capabilities().can_trim;
  return WriteLike(lo, hi - lo, IoOp::kWrite, fua, [&] {
    Status s = trim ? dst_.Trim(lo, hi - lo) : dst_.Zero(lo, hi - lo);
    if (s.code() == StatusCode::kNotSupported) s = dst_.Zero(lo, hi - lo);
    return s;
  });
}

Status Migration::Flush() {
  if (!live_) return dst_.Flush();
  return Commit();
}

Status Migration::Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) {
  if (complete()) return dst_.Extents(offset, length, out);
  // Runs of present granules answer from the destination, the rest from the source.
  std::vector<std::pair<Range, bool>> parts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t g = map_.granule_size();
    const GranuleRun run = RunOf(offset, length);
    for (uint64_t i = run.first.value; i < run.first.value + run.count; ++i) {
      const uint64_t lo = std::max(offset, i * g), hi = std::min(offset + length, (i + 1) * g);
      const bool present = map_.state(GranuleIndex(i)) == GranuleState::kPresent;
      if (!parts.empty() && parts.back().second == present) {
        parts.back().first.length += hi - lo;
      } else {
        parts.push_back({Range{lo, hi - lo}, present});
      }
    }
  }
  for (const auto& [r, present] : parts) {
    FERRY_RETURN_IF_ERROR(present ? dst_.Extents(r.offset, r.length, out) : src_.Extents(r.offset, r.length, out));
  }
  return OkStatus();
}

void Migration::Cache(uint64_t offset, uint64_t length) {
  if (complete()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sched_.Prefetch(RunOf(offset, length), 1.0, 1);
  }
  work_cv_.notify_all();
}

LiveStats Migration::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  LiveStats st = live_stats_;
  st.volume_size = map_.volume_size();
  st.present_bytes = map_.present_bytes();
  st.bytes_copied = bytes_copied_;
  st.reads = reads_;
  st.writes = writes_;
  st.complete = complete();
  st.seconds = ToSeconds(Clock::now() - start_);
  st.precision = tracker_.precision();
  st.recall = tracker_.recall();
  st.read_p50_us = recorder_->ReadPercentile(0.5);
  st.read_p99_us = recorder_->ReadPercentile(0.99);
  st.link = LinkNow();
  st.read_through_bytes = read_through_bytes_;
  return st;
}

}  // namespace

Status ValidateMigrateOptions(const MigrateOptions& o) {
  if (!std::has_single_bit(o.granule_size) || o.granule_size < 4096) {
    return InvalidArgument("--granule " + std::to_string(o.granule_size) +
                           ": must be a power of two of at least 4K (e.g. 64K)");
  }
  if (o.min_chunk < o.granule_size) return InvalidArgument("--min-chunk must be at least the granule size");
  if (o.max_chunk < o.min_chunk) return InvalidArgument("--max-chunk must be at least --min-chunk");
  if (o.max_chunk > (1ull << 30)) return InvalidArgument("--max-chunk must be at most 1G");
  if (o.threads < 1 || o.threads > 256) return InvalidArgument("--threads must be between 1 and 256");
  return OkStatus();
}

Result<MigrateStats> Migrate(Volume& source, Volume& destination, Journal* journal, const MigrateOptions& options) {
  FERRY_RETURN_IF_ERROR(ValidateMigrateOptions(options));
  Migration m(source, destination, journal, options);
  return m.Run();
}

Status ReleaseSource(Volume& source) {
  constexpr uint64_t kStep = 1ull << 30;
  for (uint64_t off = 0; off < source.size(); off += kStep) {
    FERRY_RETURN_IF_ERROR(source.Trim(off, std::min(kStep, source.size() - off)));
  }
  return source.Flush();
}

// ---- LiveMigration ----

struct LiveMigration::Impl {
  std::unique_ptr<Volume> src, dst;
  std::unique_ptr<Journal> journal;
  std::shared_ptr<Predictor> predictor;
  MigrateOptions options;
  std::unique_ptr<Migration> m;
};

LiveMigration::LiveMigration(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LiveMigration::~LiveMigration() {
  if (impl_) (void)Stop();  // a failed final commit leaves the last good one: resumable
}

Result<std::unique_ptr<LiveMigration>> LiveMigration::Start(std::unique_ptr<Volume> source,
                                                            std::unique_ptr<Volume> destination,
                                                            std::unique_ptr<Journal> journal,
                                                            std::shared_ptr<Predictor> predictor,
                                                            const MigrateOptions& options,
                                                            std::function<void()> on_complete) {
  FERRY_RETURN_IF_ERROR(ValidateMigrateOptions(options));
  auto impl = std::make_unique<Impl>();
  impl->src = std::move(source);
  impl->dst = std::move(destination);
  impl->journal = std::move(journal);
  impl->predictor = std::move(predictor);
  impl->options = options;
  impl->options.history = nullptr;
  impl->options.cancel = nullptr;
  impl->options.on_progress = nullptr;
  impl->options.predictor = impl->predictor.get();
  impl->m = std::make_unique<Migration>(*impl->src, *impl->dst, impl->journal.get(), impl->options, /*live=*/true);
  MigrateStats prepared;
  FERRY_RETURN_IF_ERROR(impl->m->Prepare(&prepared));
  // Once complete, requests never reach the source (every granule is present and stays
  // so; the workers have ended): it is closed, so its server may go.
  Impl* raw = impl.get();
  impl->m->StartLive([raw, on_complete = std::move(on_complete)] {
    raw->src.reset();
    if (on_complete) on_complete();
  });
  return std::unique_ptr<LiveMigration>(new LiveMigration(std::move(impl)));
}

uint64_t LiveMigration::size() const { return impl_->m->size(); }
VolumeCapabilities LiveMigration::destination_capabilities() const { return impl_->dst->capabilities(); }
Status LiveMigration::Read(uint64_t offset, std::span<std::byte> buf) { return impl_->m->Read(offset, buf); }
Status LiveMigration::Write(uint64_t offset, std::span<const std::byte> buf, bool fua) {
  return impl_->m->Write(offset, buf, fua);
}
Status LiveMigration::Zero(uint64_t offset, uint64_t length, bool fua) { return impl_->m->Zero(offset, length, fua); }
Status LiveMigration::Trim(uint64_t offset, uint64_t length, bool fua) { return impl_->m->Trim(offset, length, fua); }
Status LiveMigration::Flush() { return impl_->m->Flush(); }
Status LiveMigration::Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) {
  return impl_->m->Extents(offset, length, out);
}
void LiveMigration::Cache(uint64_t offset, uint64_t length) { impl_->m->Cache(offset, length); }
void LiveMigration::Pause(bool paused) { impl_->m->Pause(paused); }
void LiveMigration::SetRate(uint64_t bytes_per_second) { impl_->m->SetRate(bytes_per_second); }
LiveStats LiveMigration::stats() const { return impl_->m->Stats(); }
LiveHistory LiveMigration::history() const { return impl_->m->History(); }
Status LiveMigration::Stop() { return impl_->m->StopLive(); }

Result<Policy> LivePolicy(const std::string& policy, const std::string& predictor) {
  auto p = ParsePolicy(policy);
  if (!p.ok() || *p == Policy::kClairvoyant) {
    return InvalidArgument("invalid policy '" + policy + "': use adaptive (the default), heat, dmclone or qemu-stream");
  }
  const auto& names = PredictorNames();
  if (std::find(names.begin(), names.end(), predictor) == names.end()) {
    return InvalidArgument("unknown predictor '" + predictor + "': use none, stride, markov, lstm or ensemble");
  }
  if (predictor != "none" && *p != Policy::kAdaptive && *p != Policy::kHeat) {
    return InvalidArgument("predictor " + predictor + " works with policy adaptive or heat, not " + policy);
  }
  return *p;
}

Result<OpenedMigration> OpenMigration(const std::string& source, const std::string& destination,
                                      const std::string& journal, uint64_t granule_size) {
  if (SameVolume(source, destination) || VolumeIdentity(source) == VolumeIdentity(destination)) {
    return InvalidArgument("SRC and DST are the same volume (" + source + "): give a different destination");
  }
  OpenedMigration m;
  auto src = OpenVolume(source, OpenOptions{});
  if (!src.ok()) return src.status().WithContext("source");
  m.source = std::move(src).value();
  const uint64_t size = m.source->size();
  JournalIdentity id{VolumeIdentity(source), VolumeIdentity(destination), size, granule_size};
  if (!journal.empty() && Journal::Exists(journal)) {
    auto j = Journal::Open(journal, id);
    if (!j.ok()) return j.status();
    m.journal = std::move(j).value();
  } else if (!journal.empty()) {
    FERRY_RETURN_IF_ERROR(Journal::CheckCreatable(journal));
  }
  OpenOptions dst_options;
  dst_options.writable = true;
  dst_options.create_size = size;
  auto dst = OpenVolume(destination, dst_options);
  if (!dst.ok()) return dst.status().WithContext("destination");
  m.destination = std::move(dst).value();
  if (m.destination->size() < size) {
    return FailedPrecondition(fmt::format("destination {} is {} ({} bytes), smaller than the source {} ({} bytes); "
                                          "use a destination of at least {} bytes",
                                          destination, FormatSize(m.destination->size()), m.destination->size(),
                                          source, FormatSize(size), size, size));
  }
  if (!journal.empty() && !m.journal) {
    auto j = Journal::Create(journal, id);
    if (!j.ok()) return j.status();
    m.journal = std::move(j).value();
  }
  return m;
}

}  // namespace ferry
