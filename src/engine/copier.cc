// The copier: workers take the next copy from the scheduler (within the source link
// controller's budget) and send its source read asynchronously (Volume::ReadAsync; the
// link model hears of every read), so the copies in flight are as many as the
// controller wants, not one per thread. An answered read is landed: its runs of zero
// granules zeroed or skipped, its data sent with Volume::WriteAsync; when the last
// write is done the copy is reported done. With an NBD destination, whose writes only
// need sending, the source's thread lands the answer and the destination's thread
// reports it, so a copy passes through no worker between its read and the next copy
// (a hand-off per step cost 6% of an NBD-to-NBD copy on two cores). A failed read or
// write goes to a worker, which retries what may succeed on a retry. See migration.h.
#include <algorithm>
#include <cstring>
#include <thread>

#include "common/zero.h"
#include "common/sync_point.h"
#include "engine/migration.h"

namespace ferry {

std::optional<CopyOp> Migration::Next() {
  if (stop_) return std::nullopt;
  auto op = sched_.Next(Now());
  if (op && o_.on_copy) o_.on_copy(op->bytes);
  return op;
}

Status Migration::ZeroOrSkip(uint64_t offset, uint64_t length, Tally* tally) {
  tally->skipped += length;
  if (dst_zero_.Covers(offset, length)) return OkStatus();  // already reads as zero
  Status s = dst_.Zero(offset, length);
  if (!s.ok()) tally->at_destination = true;
  return s;
}

Status Migration::SourceRead(Volume& src, uint64_t offset, std::span<std::byte> buf, bool app) {
  LinkSend send;
  {
    std::lock_guard<std::mutex> lock(mu_);
    send = sched_.SourceSent(buf.size(), app, Now());
  }
  Status s = src.Read(offset, buf);
  std::lock_guard<std::mutex> lock(mu_);
  if (s.ok()) {
    sched_.SourceAnswered(send, Now());
  } else {
    sched_.SourceFailed(send);
  }
  return s;
}

// Zero detection per granule: runs of data and runs of zeroes, in order; stops at the
// first error.
template <typename ZeroRun, typename DataRun>
Status Migration::ForEachRun(const CopyOp& w, std::span<const std::byte> data, ZeroRun zero_run, DataRun data_run) {
  const uint64_t off = w.bytes.offset, len = w.bytes.length;
  const uint64_t g = map_.granule_size();
  uint64_t i = 0;
  while (i < len) {
    bool zero = IsAllZero(data.data() + i, std::min(g, len - i));
    uint64_t j = i + std::min(g, len - i);
    while (j < len && IsAllZero(data.data() + j, std::min(g, len - j)) == zero) j += std::min(g, len - j);
    FERRY_RETURN_IF_ERROR(zero ? zero_run(off + i, j - i) : data_run(off + i, data.subspan(i, j - i)));
    i = j;
  }
  return OkStatus();
}

Status Migration::Store(const CopyOp& w, std::span<const std::byte> data, Tally* tally) {
  return ForEachRun(
      w, data, [&](uint64_t off, uint64_t len) { return ZeroOrSkip(off, len, tally); },
      [&](uint64_t off, std::span<const std::byte> run) {
        if (Status s = dst_.Write(off, run); !s.ok()) {
          tally->at_destination = true;
          return s;
        }
        tally->copied += run.size();
        return OkStatus();
      });
}

void Migration::StoreAsync(std::unique_ptr<SourceReadUnderWay> read) {
  SourceReadUnderWay* r = read.release();  // owned by its writes until the last is done
  // One count for this thread's own part, so the last write cannot land it mid-loop.
  r->writes_left = 1;
  auto done = [this, r](const Status& s) {
    if (!s.ok()) {
      std::lock_guard<std::mutex> l(r->landing_mu);
      if (r->landing_error.ok()) r->landing_error = s;
    }
    if (r->writes_left.fetch_sub(1) == 1) Landed(std::unique_ptr<SourceReadUnderWay>(r));
  };
  Status s = ForEachRun(
      r->work, r->buf, [&](uint64_t off, uint64_t len) { return ZeroOrSkip(off, len, &r->tally); },
      [&](uint64_t off, std::span<const std::byte> run) {
        r->tally.copied += run.size();  // counted only if every write succeeds
        r->writes_left.fetch_add(1);
        dst_.WriteAsync(off, run, done);
        return OkStatus();
      });
  done(s);
}

void Migration::Landed(std::unique_ptr<SourceReadUnderWay> r) {
  {
    std::lock_guard<std::mutex> l(r->landing_mu);  // the last write's thread may not be this one
    if (!r->landing_error.ok()) {
      r->status = r->landing_error;
      r->tally.at_destination = true;
    }
  }
  if (r->status.ok()) {
    // Landed whole: concluded here (the thread of the last write, or the one that sent
    // them), with no hand-off to a worker. Finish does no I/O.
    Publish(r->tally, r->status);
    std::unique_lock<std::mutex> lock(mu_);
    Concluded(lock, std::move(r), OkStatus());
    return;
  }
  std::lock_guard<std::mutex> l(mu_);
  landed_.push_back(std::move(r));  // a worker retries it or records the failure
  work_cv_.notify_all();  // as for answered_
}

void Migration::Concluded(std::unique_lock<std::mutex>& lock, std::unique_ptr<SourceReadUnderWay> r,
                          const Status& s) {
  Finish(lock, r->work, s, r->tally.at_destination);
  if (spare_buffers_.size() < kSpareBuffers) spare_buffers_.push_back(std::move(r->buf));
  --reads_under_way_;
  work_cv_.notify_all();  // a copy's place is free; workers waiting to end count them
}

Status Migration::Copy(Volume& src, const CopyOp& w, ByteBuffer& buf, Tally* tally) {
  if (w.source_zero) {
    std::optional<ByteBuffer> zeroes;
    if (live_) {
      std::lock_guard<std::mutex> lock(mu_);
      zeroes = ZeroLanding(w);
    }
    return zeroes ? Store(w, *zeroes, tally) : ZeroOrSkip(w.bytes.offset, w.bytes.length, tally);
  }
  buf.Resize(w.bytes.length);
  FERRY_RETURN_IF_ERROR(SourceRead(src, w.bytes.offset, buf, w.priority == CopyPriority::kDemand));
  if (live_) {
    std::lock_guard<std::mutex> lock(mu_);
    TakeLanding(w, buf);
  }
  return Store(w, buf, tally);
}

void Migration::TakeLanding(const CopyOp& w, std::span<std::byte> buf) {
  for (uint64_t g = w.run.first.value; g < w.run.first.value + w.run.count; ++g) {
    copy_sent_.erase(g);
    const auto it = pending_writes_.find(g);
    if (it == pending_writes_.end()) continue;
    const uint64_t base = g * map_.granule_size();
    for (const Range& r : it->second.written.Ranges()) {
      std::memcpy(buf.data() + (r.offset - w.bytes.offset), it->second.bytes.data() + (r.offset - base), r.length);
    }
  }
}

std::optional<ByteBuffer> Migration::ZeroLanding(const CopyOp& w) {
  if (!AnyPendingWrite(w.run)) return std::nullopt;
  ByteBuffer zeroes;
  zeroes.Resize(w.bytes.length);
  std::memset(zeroes.data(), 0, zeroes.size());
  TakeLanding(w, zeroes);
  return zeroes;
}

void Migration::WritesLanded(GranuleRun run) {
  if (pending_writes_.empty()) return;
  for (uint64_t g = run.first.value; g < run.first.value + run.count; ++g) pending_writes_.erase(g);
}

bool Migration::Publish(const Tally& tally, const Status& s) {
  if (!s.ok()) return false;
  bytes_copied_ += tally.copied;
  bytes_skipped_ += tally.skipped;
  return true;
}

bool Migration::BackOff(const Status& s, int attempt) {
  if (!s.retryable() || attempt >= o_.max_retries) return false;
  ++retries_;
  std::this_thread::sleep_for(
      std::min<std::chrono::milliseconds>(o_.retry_backoff * (1 << std::min(attempt, 10)), std::chrono::seconds(2)));
  return true;
}

Status Migration::CopyWithRetry(Volume& src, const CopyOp& w, ByteBuffer& buf, int attempt,
                                bool* at_destination) {
  for (;; ++attempt) {
    Tally tally;
    Status s = Copy(src, w, buf, &tally);
    if (at_destination) *at_destination = tally.at_destination;
    if (Publish(tally, s)) return s;
    if (!BackOff(s, attempt)) {
      if (s.retryable()) s = s.WithContext("giving up after " + std::to_string(attempt + 1) + " attempts");
      return s;
    }
  }
}

void Migration::StartRead(std::unique_lock<std::mutex>& lock, CopyOp w, std::shared_ptr<Volume> src) {
  auto read = std::make_unique<SourceReadUnderWay>();
  read->work = std::move(w);
  read->src = std::move(src);
  if (!spare_buffers_.empty()) {
    read->buf = std::move(spare_buffers_.back());
    spare_buffers_.pop_back();
  }
  read->buf.Resize(read->work.bytes.length);
  // A demand copy counts as the application's, as the simulator counts it.
  read->send = sched_.SourceSent(read->work.bytes.length, read->work.priority == CopyPriority::kDemand, Now());
  if (live_) {
    const GranuleRun run = read->work.run;
    for (uint64_t g = run.first.value; g < run.first.value + run.count; ++g) copy_sent_[g] = read->send.sent;
  }
  ++reads_under_way_;
  SourceReadUnderWay* r = read.release();  // owned by the read until it is answered
  lock.unlock();
  r->src->ReadAsync(r->work.bytes.offset, r->buf, [this, r](Status s) {
    // On the source's I/O thread (or this one): hear the answer, then land it from
    // here when the destination's writes only need sending (one hand-off to a worker
    // fewer per copy); else queue it for a worker, to land or, failed, to retry.
    {
      std::lock_guard<std::mutex> l(mu_);
      if (s.ok()) {
        sched_.SourceAnswered(r->send, Now());
        if (live_) TakeLanding(r->work, r->buf);
      } else {
        sched_.SourceFailed(r->send);
      }
      if (!s.ok() || !dst_async_) {
        r->status = std::move(s);
        (r->status.ok() ? answered_ : landed_).emplace_back(r);
        // All: a worker may be waiting on work_cv_ for something else (Finish's pause
        // after a failed copy), and would take a single notification and sleep on.
        work_cv_.notify_all();
        return;
      }
    }
    StoreAsync(std::unique_ptr<SourceReadUnderWay>(r));
  });
  lock.lock();
}

void Migration::Launch(std::unique_lock<std::mutex>& lock, CopyOp w, std::shared_ptr<Volume> src) {
  if (!w.source_zero) {
    // The read goes out and this thread goes on: the link controller, not the number
    // of workers, decides how many copies are in flight.
    StartRead(lock, std::move(w), std::move(src));
    return;
  }
  std::optional<ByteBuffer> zeroes = live_ ? ZeroLanding(w) : std::nullopt;
  lock.unlock();
  Tally tally;
  Status s = zeroes ? Store(w, *zeroes, &tally) : ZeroOrSkip(w.bytes.offset, w.bytes.length, &tally);
  Publish(tally, s);
  lock.lock();
  Finish(lock, w, s, tally.at_destination);
}

Status Migration::RetryFailed(SourceReadUnderWay& r) {
  if (Publish(r.tally, r.status) || !BackOff(r.status, 0)) return r.status;
  // The first attempt failed in a way a retry may mend: go on from this thread.
  return CopyWithRetry(*r.src, r.work, r.buf, /*attempt=*/1, &r.tally.at_destination);
}

void Migration::Halt(const Status& why) {
  if (error_.ok()) error_ = why;
  stop_ = true;
  work_cv_.notify_all();
}

void Migration::Finish(std::unique_lock<std::mutex>& lock, const CopyOp& w, const Status& s, bool at_destination) {
  sched_.OnCopyDone(w, s.ok(), Now());
  for (uint64_t g = w.run.first.value; live_ && g < w.run.first.value + w.run.count; ++g) copy_sent_.erase(g);
  granule_cv_.notify_all();
  if (s.ok()) {
    WritesLanded(w.run);
    path_.OnCopied(w);
    ++copy_ops_;
    if (w.priority == CopyPriority::kDemand) live_stats_.demand_bytes += w.bytes.length;
    if (recorder_) recorder_->Copied(w.bytes.offset, w.bytes.length, w.priority);
  } else if (live_ && at_destination) {
    ++live_stats_.copy_errors;
    PauseForDestination(s);
  } else if (live_) {
    // The application keeps running: note it, and try these granules again later.
    ++live_stats_.copy_errors;
    live_stats_.last_error = s.message();
    work_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
  } else {
    Halt(s);
  }
}

void Migration::Worker() {
  ByteBuffer buf;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!landed_.empty()) {
      // A copy whose read or writes failed: retry it, or record the failure.
      std::unique_ptr<SourceReadUnderWay> r = std::move(landed_.front());
      landed_.pop_front();
      lock.unlock();
      Status s = RetryFailed(*r);
      lock.lock();
      Concluded(lock, std::move(r), s);
      continue;
    }
    if (!answered_.empty()) {
      // A source read came back: send its writes to the destination; they land it.
      std::unique_ptr<SourceReadUnderWay> r = std::move(answered_.front());
      answered_.pop_front();
      lock.unlock();
      StoreAsync(std::move(r));
      lock.lock();
      continue;
    }
    if (const uint64_t rate = limiter_.rate(); rate != 0 && !paused_ && !stop_) {
      // --rate: no new copy until the bytes booked so far are paid for. The wait comes
      // before the scheduler hands out granules, so none waits in flight for the rate (a
      // request for it would wait too). A rate change, a stop or an answer ends it.
      const auto until = limiter_.PaidUntil();
      if (until > RateLimiter::Clock::now()) {
        SyncPoint("Migration::Worker:waits-for-rate");
        work_cv_.wait_until(lock, until, [&] {
          return stop_ || limiter_.rate() != rate || !answered_.empty() || !landed_.empty();
        });
        continue;
      }
    }
    std::optional<CopyOp> w = paused_ ? std::nullopt : Next();
    if (w && !w->source_zero && w->priority != CopyPriority::kDemand) {
      limiter_.Reserve(w->bytes.length, RateLimiter::Clock::now());
    }
    if (!w) {
      // Reads under way: wait for their answers (nobody leaves one unlanded). Bulk:
      // nothing left to issue. Live: wait for work (a copy that failed, a prediction, a
      // resume) until every granule is present or the migration stops.
      if (reads_under_way_ > 0) {
        work_cv_.wait(lock);
        continue;
      }
      if (!live_ || stop_ || map_.complete()) break;
      work_cv_.wait_for(lock, std::chrono::milliseconds(200));
      continue;
    }
    Launch(lock, std::move(*w), Source());  // the source is present while work is left
  }
  --running_;
  cv_.notify_all();
}

}  // namespace ferry
