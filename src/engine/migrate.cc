// Migrate: the bulk copy. Worker threads ask the Scheduler (the same policy object the
// simulator drives) for the next chunk of missing granules, copy it (skipping holes and
// zero blocks), and report it done; the calling thread commits the journal
// (destination flush first: invariant 5) and reports progress.
//
// The granule map is the ground truth; a chunk is a run of missing granules, homogeneous
// in the source's allocation (all hole, or data), cut and ordered by the scheduler.
#include <algorithm>
#include <bit>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <absl/container/flat_hash_set.h>

#include "common/interval_set.h"
#include "common/zero.h"
#include "engine/progress_meter.h"
#include "engine/rate_limiter.h"
#include "ferry/engine.h"
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
  Migration(Volume& src, Volume& dst, Journal* journal, const MigrateOptions& o)
      : src_(src), dst_(dst), journal_(journal), o_(o),
        map_(src.size(), o.granule_size),
        start_(Clock::now()),
        history_end_(HistoryEnd(o)),
        sched_(map_, SchedulerOptionsFor(o, history_end_), Now()),
        limiter_(o.rate_limit) {}

  Result<MigrateStats> Run();

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
  // Bytes one attempt at a chunk accounted for; published only when it succeeds.
  struct Tally {
    uint64_t copied = 0, skipped = 0;
  };
  Status CopyWithRetry(const Work& w, std::vector<std::byte>& buf);
  Status Copy(const Work& w, std::vector<std::byte>& buf, Tally* tally);
  Status ZeroOrSkip(uint64_t offset, uint64_t length, Tally* tally);
  Status Commit();

  Volume& src_;
  Volume& dst_;
  Journal* const journal_;
  const MigrateOptions& o_;

  std::mutex mu_;
  std::condition_variable cv_;
  ChunkMap map_;          // guarded by mu_
  const Clock::time_point start_;
  const Scheduler::Time history_end_;
  Scheduler sched_;       // guarded by mu_
  bool stop_ = false;     // guarded by mu_
  Status error_;          // first failure; guarded by mu_
  int running_ = 0;       // live workers; guarded by mu_

  IntervalSet src_zero_;  // read-only once workers start
  IntervalSet dst_zero_;  // read-only once workers start
  RateLimiter limiter_;
  std::atomic<uint64_t> bytes_copied_{0}, bytes_skipped_{0}, copy_ops_{0}, retries_{0};
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

Status Migration::Copy(const Work& w, std::vector<std::byte>& buf, Tally* tally) {
  const uint64_t off = w.bytes.offset, len = w.bytes.length;
  if (w.source_zero) return ZeroOrSkip(off, len, tally);
  limiter_.Acquire(len);
  buf.resize(len);
  FERRY_RETURN_IF_ERROR(src_.Read(off, buf));
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
  while (auto w = Next()) {
    lock.unlock();
    Status s = CopyWithRetry(*w, buf);
    lock.lock();
    sched_.OnCopyDone(*w, s.ok(), Now());
    if (s.ok()) {
      ++copy_ops_;
    } else {
      if (error_.ok()) error_ = s;
      stop_ = true;
    }
  }
  --running_;
  cv_.notify_all();
}

Status Migration::Commit() {
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

Result<MigrateStats> Migration::Run() {
  const auto start = Clock::now();
  MigrateStats stats;
  stats.volume_size = src_.size();
  if (dst_.size() < src_.size()) {
    return FailedPrecondition("destination " + dst_.name() + " is smaller than the source");
  }
  if (journal_) map_.LoadPresent(journal_->present());
  stats.bytes_resumed = map_.present_bytes();
  FERRY_RETURN_IF_ERROR(ReadZeroMap(src_, &src_zero_).WithContext(src_.name()));
  FERRY_RETURN_IF_ERROR(ReadZeroMap(dst_, &dst_zero_).WithContext(dst_.name()));
  sched_.SetSourceZero(&src_zero_);
  if (o_.history) {
    for (const IoEvent& e : *o_.history) sched_.OnAppIo(e);
    if (o_.predictor) stats.predicted_granules = QueuePredicted();
  }

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

}  // namespace ferry
