// The migration's core: set-up, the bulk run, the live start and stop, the commits
// (invariant 5), the supervisor and statistics. See migration.h.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include <absl/container/flat_hash_set.h>

#include "common/sync_point.h"
#include "engine/migration.h"
#include "engine/progress_meter.h"
#include "ferry/units.h"
#include "volume/zero_map.h"

namespace ferry {
namespace {

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
  s.max_in_flight = o.max_in_flight;
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

}  // namespace

Migration::Migration(std::shared_ptr<Volume> src, Volume& dst, Journal* journal, const MigrateOptions& o, bool live)
    : dst_(dst), journal_(journal), o_(o), live_(live),
      src_(src),
      map_(src->size(), o.granule_size),
      start_(Clock::now()),
      history_end_(HistoryEnd(o)),
      sched_(map_, SchedulerOptionsFor(o, history_end_), Now()),
      path_(map_, sched_, o.predictor),
      predicting_(o.predictor || (live && o.make_predictor)),
      present_mirror_(map_.granule_count()),
      dst_async_(dst.capabilities().async_io),
      limiter_(o.rate_limit),
      written_(src->size(), o.granule_size) {
  if (live_) recorder_ = std::make_unique<LiveRecorder>(src->size());
}

void Migration::DropSource() {
  std::shared_ptr<Volume> last;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last = std::move(src_);
    if (last) dropped_source_health_ = last->Health();  // the outages stay in the figures
  }
  // `last` closes the source here, outside the lock, unless a reader still holds it.
}

Status Migration::Commit(bool* at_destination) {
  // One commit at a time, the snapshot included: a later snapshot never lands first.
  std::lock_guard<std::mutex> one(commit_mu_);
  std::vector<uint64_t> present;
  uint64_t present_bytes;
  bool complete;
  {
    std::lock_guard<std::mutex> lock(mu_);
    present = map_.present_words();
    present_bytes = map_.present_bytes();
    complete = map_.complete();
  }
  // Invariant 5: the destination data of every granule in `present` is durable before
  // the journal says so.
  if (Status s = dst_.Flush(); !s.ok()) {
    if (at_destination) *at_destination = true;
    return s.WithContext("flushing the destination");
  }
  if (!journal_) return OkStatus();
  // What the application wrote is saved before the journal says its granules are
  // present (written_set.h).
  FERRY_RETURN_IF_ERROR(written_.Save(WrittenSet::PathFor(journal_->path())));
  JournalState state = complete ? std::max(journal_->state(), JournalState::kCopied) : JournalState::kCopying;
  // Present granules never go back to missing, so the same count is the same set: a
  // flush that changed nothing writes no journal slot (a client's fsync after the
  // migration costs the destination's flush alone).
  if (committed_present_ == present_bytes && journal_->state() == state) return OkStatus();
  FERRY_RETURN_IF_ERROR(journal_->Commit(present, state).WithContext("committing the journal"));
  committed_present_ = present_bytes;
  return OkStatus();
}

Status Migration::RecordState(JournalState state) {
  std::lock_guard<std::mutex> one(commit_mu_);
  if (!journal_) return OkStatus();
  return journal_->Commit(journal_->present(), state).WithContext("committing the journal");
}

template <typename F>
bool Migration::ForEachHistoryAccess(const std::vector<IoEvent>& history, F f, const std::atomic<bool>* stop) const {
  const uint64_t g = map_.granule_size(), size = map_.volume_size();
  size_t n = 0;
  for (const IoEvent& e : history) {
    if (stop && ++n % 4096 == 0 && stop->load()) return false;
    if (e.offset >= size) continue;
    const uint64_t end = std::min(e.offset + std::max<uint64_t>(e.length, 1), size);
    f(e.offset / g, (end - 1) / g, e.op);
  }
  return true;
}

uint64_t Migration::LearnHistory() {
  for (const IoEvent& e : *o_.history) sched_.OnAppIo(e);
  if (live_ && predicting_) {
    // Live, the predictor learns the history on its own thread (TeachHistory), so that
    // the export answers and the copy starts at once: an LSTM's training took 5 s.
    ForEachHistoryAccess(*o_.history, [&](uint64_t first, uint64_t last, IoOp) { path_.SeeHistory(first, last); });
    history_to_teach_ = *o_.history;
    live_stats_.learning_history = true;
    return 0;
  }
  // A cancel (Ctrl-C) stops the history here, and the training through
  // PredictorConfig::cancel.
  const bool learnt = ForEachHistoryAccess(
      *o_.history, [&](uint64_t first, uint64_t last, IoOp op) { path_.ObserveHistory(first, last, op); }, o_.cancel);
  return learnt ? path_.EndHistory() : 0;
}

void Migration::TeachHistory() {
  // The stop (predictor_cancel_) cuts both the history and the training short.
  const bool learnt = ForEachHistoryAccess(
      history_to_teach_, [&](uint64_t first, uint64_t last, IoOp op) { path_.TeachHistory(first, last, op); },
      &predictor_cancel_);
  history_to_teach_ = {};
  if (!learnt) return;
  const PredictionPath::Continuation c = path_.PredictContinuation();
  {
    std::lock_guard<std::mutex> lock(mu_);
    live_stats_.learning_history = false;
    if (!complete()) path_.QueueContinuation(c);
  }
  work_cv_.notify_all();
  SyncPoint("Migration::TeachHistory:learnt");
}

Status Migration::Prepare(MigrateStats* stats) {
  std::shared_ptr<Volume> src;
  {
    std::lock_guard<std::mutex> lock(mu_);
    src = Source();
  }
  stats->volume_size = src->size();
  if (dst_.size() < src->size()) {
    return FailedPrecondition("destination " + dst_.name() + " is smaller than the source");
  }
  if (journal_) {
    map_.LoadPresent(journal_->present());
    written_.Load(WrittenSet::PathFor(journal_->path()), /*had_progress=*/map_.present_bytes() > 0);
  }
  stats->bytes_resumed = map_.present_bytes();
  live_stats_.bytes_resumed = stats->bytes_resumed;
  FERRY_RETURN_IF_ERROR(ReadZeroMap(*src, &src_zero_).WithContext(src->name()));
  FERRY_RETURN_IF_ERROR(ReadZeroMap(dst_, &dst_zero_).WithContext(dst_.name()));
  sched_.SetSourceZero(&src_zero_);
  if (o_.history) stats->predicted_granules = LearnHistory();
  return OkStatus();
}

Result<MigrateStats> Migration::Run() {
  const auto start = Clock::now();
  MigrateStats stats;
  FERRY_RETURN_IF_ERROR(Prepare(&stats));

  ProgressMeter meter(o_.on_progress, o_.progress_interval, map_.volume_size(), stats.bytes_resumed);
  std::vector<std::thread> threads;
  running_ = o_.threads;
  for (int i = 0; i < o_.threads; ++i) threads.emplace_back([this] { Worker(); });

  Status commit_status;
  // Without a journal there is nothing to commit: the wait is for progress alone (a
  // commit time left in the past made this loop spin, a whole core of a 2-core machine).
  auto next_commit = journal_ ? Clock::now() + o_.commit_interval : Clock::time_point::max();
  {
    std::unique_lock<std::mutex> lock(mu_);
    while (running_ > 0) {
      auto wake = std::min(next_commit, Clock::now() + o_.progress_interval);
      cv_.wait_until(lock, wake);
      SyncPoint("Migration::Run:woke");
      if (o_.cancel && o_.cancel->load() && !stop_) Halt(Cancelled("interrupted"));
      uint64_t done = map_.present_bytes(), chunk = sched_.chunk_size();
      lock.unlock();
      meter.Update(done, chunk);
      if (journal_ && Clock::now() >= next_commit) {
        Status s = Commit();
        if (!s.ok() && commit_status.ok()) commit_status = s;
        next_commit = Clock::now() + o_.commit_interval;
      }
      lock.lock();
      if (!commit_status.ok() && !stop_) Halt(OkStatus());  // progress that cannot be recorded is lost work
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (src_) stats.source = src_->Health();
  }
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
    if (o_.start_paused) {
      paused_ = live_stats_.paused = true;
      live_stats_.paused_reason = "started paused";
    }
  }
  for (int i = 0; i < o_.threads; ++i) threads_.emplace_back([this] { Worker(); });
  supervisor_ = std::thread([this] { Supervise(); });
  if (predicting_) predictor_thread_ = std::thread([this] { PredictLoop(); });
}

bool Migration::MakePredictor() {
  if (path_.predictor()) return true;
  auto made = o_.make_predictor(&predictor_cancel_);
  std::lock_guard<std::mutex> lock(mu_);
  if (!made.ok() || !*made) {
    // Cancelled by the stop: the migration ended before the predictor was ready.
    if (!predictor_cancel_) live_stats_.predictor_error = made.ok() ? "no predictor was made" : made.status().message();
    live_stats_.learning_history = false;
    predicting_ = false;  // the request path stops feeding it
    std::lock_guard<std::mutex> feed(feed_mu_);
    feed_.clear();
    return false;
  }
  made_predictor_ = std::move(made).value();
  path_.SetPredictor(made_predictor_.get());
  return true;
}

void Migration::PredictLoop() {
  if (!MakePredictor()) return;
  if (!history_to_teach_.empty()) {
    // The history's training (the LSTM's: 3.4 s of a core on the demo's history) runs
    // beside the requests it must not slow: at nice 10, which yields the CPU to them
    // while they run and takes it all while they do not; on a thread of its own, since
    // an unprivileged thread cannot lower its nice again afterwards.
    std::thread learner([this] {
      ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kLearnerNice);  // this thread alone (Linux)
      TeachHistory();
    });
    learner.join();
  }
  std::vector<Access> batch;
  std::vector<Prediction> out, all;
  for (;;) {
    bool hits_wait;
    {
      std::lock_guard<std::mutex> l(hits_mu_);
      hits_wait = !hits_.empty();
    }
    if (hits_wait) {
      // Hits answered without mu_ reach the feed here, at most kFeedWait late.
      std::lock_guard<std::mutex> lock(mu_);
      DrainHits();
    }
    {
      std::unique_lock<std::mutex> lock(feed_mu_);
      feed_cv_.wait_for(lock, kFeedWait, [this] { return feed_stop_ || feed_.size() >= kFeedBatch; });
      if (feed_stop_) return;
      if (feed_.empty()) continue;
      batch.assign(std::make_move_iterator(feed_.begin()), std::make_move_iterator(feed_.end()));
      feed_.clear();
    }
    all.clear();
    for (const Access& a : batch) {
      out.clear();
      path_.Infer(a.first, a.last, a.op, a.outcomes, &out);  // the predictor alone: no lock
      all.insert(all.end(), out.begin(), out.end());
    }
    if (all.empty()) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (complete() || path_.Queue(all) == 0) continue;
    }
    work_cv_.notify_all();
  }
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
    DrainHits();  // a workload of hits alone is observed too
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
    bool at_destination = false;
    Status s = Commit(&at_destination);  // with the map complete, this records kCopied
    lock.lock();
    if (!s.ok() && !at_destination) {
      live_stats_.last_error = s.message();
    } else if (!s.ok()) {
      // The destination did not flush: nothing since the last commit is known durable,
      // the journal keeps what it said (invariant 5), and the copy stops adding to it.
      PauseForDestination(s);
    } else if (now_complete && !announced) {
      live_stats_.complete_seconds = ToSeconds(Clock::now() - start_);
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
  if (predictor_thread_.joinable()) {
    predictor_cancel_ = true;
    {
      std::lock_guard<std::mutex> lock(feed_mu_);
      feed_stop_ = true;
    }
    feed_cv_.notify_all();
    predictor_thread_.join();
  }
  // Writes answered behind copies that did not land (a source that failed them): in
  // before the last commit, so a restart does not copy the source over them.
  Status settled = SettleWrites();
  SampleHistory();
  Status committed = Commit();
  return committed.ok() ? settled : committed;
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
  VolumeHealth source;
  {
    std::lock_guard<std::mutex> lock(mu_);
    present = map_.present_bytes();
    read_stalls = path_.figures().read_stalls;
    write_stalls = live_stats_.write_stalls;
    link = LinkNow();
    source = src_ ? src_->Health() : dropped_source_health_;
  }
  recorder_->Sample(ToSeconds(Clock::now() - start_), present, read_stalls, write_stalls, link, source);
}


void Migration::PauseForDestination(const Status& s) {
  if (!live_) return;
  live_stats_.last_error = s.message();
  if (!paused_) ++live_stats_.destination_pauses;
  paused_ = true;
  live_stats_.paused = true;
  live_stats_.paused_reason = "the destination failed: " + s.message() +
                              (s.code() == StatusCode::kNoSpace ? "; make room on it" : "; mend it") +
                              ", then resume with: ferry control " + (journal_ ? journal_->path() : "JOURNAL") +
                              " resume";
}

void Migration::Pause(bool paused) {
  std::unique_lock<std::mutex> lock(mu_);
  paused_ = paused;
  live_stats_.paused = paused;
  live_stats_.paused_reason = paused ? "by the operator" : "";
  work_cv_.notify_all();
  // Paused means quiet: the background copies already started finish first.
  if (paused) granule_cv_.wait(lock, [this] { return sched_.background_in_flight() == 0 || stop_; });
}


LiveStats Migration::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  DrainHits();  // the figures count every read answered so far
  LiveStats st = live_stats_;
  st.volume_size = map_.volume_size();
  st.present_bytes = map_.present_bytes();
  st.bytes_copied = bytes_copied_;
  st.copies_under_way = static_cast<uint64_t>(reads_under_way_);
  st.reads = reads_;
  st.writes = writes_;
  st.complete = complete();
  st.seconds = ToSeconds(Clock::now() - start_);
  const PredictionFigures f = path_.figures();
  st.read_stalls = f.read_stalls;
  st.read_stalls_first_touch = f.read_stalls_first_touch;
  st.read_stalls_seen = f.read_stalls_seen;
  st.prevented_stalls = f.prevented_stalls;
  st.reads_kept = f.reads_kept;
  st.predicted_bytes = f.predicted_granules * map_.granule_size();
  st.precision = f.precision;
  st.recall = f.recall;
  st.timeliness = f.timeliness;
  {
    std::lock_guard<std::mutex> feed(feed_mu_);
    st.predictions_skipped = feed_skipped_;
  }
  using Of = LiveRecorder::Of;
  st.read_p50_us = recorder_->Percentile(Of::kReads, 0.5);
  st.read_p99_us = recorder_->Percentile(Of::kReads, 0.99);
  st.read_miss_p50_us = recorder_->Percentile(Of::kMissedReads, 0.5);
  st.read_miss_p99_us = recorder_->Percentile(Of::kMissedReads, 0.99);
  st.write_p50_us = recorder_->Percentile(Of::kWrites, 0.5);
  st.write_p99_us = recorder_->Percentile(Of::kWrites, 0.99);
  st.write_wait_p50_us = recorder_->Percentile(Of::kWaitedWrites, 0.5);
  st.write_wait_p99_us = recorder_->Percentile(Of::kWaitedWrites, 0.99);
  st.read_miss_bytes = recorder_->missed_read_bytes();
  st.link = LinkNow();
  st.read_through_bytes = read_through_bytes_;
  st.source = src_ ? src_->Health() : dropped_source_health_;  // a brief lock of the volume's own
  return st;
}


}  // namespace ferry
