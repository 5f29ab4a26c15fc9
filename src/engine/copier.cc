// The copier: worker threads that take the next copy from the scheduler (within the
// source link controller's budget), read it from the source (the link model hears of
// every read), write it to the destination skipping zero blocks, retry what may
// succeed on a retry, and report it done. See migration.h.
#include <algorithm>
#include <thread>

#include "common/zero.h"
#include "engine/migration.h"

namespace ferry {

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

Status Migration::Copy(Volume& src, const Work& w, std::vector<std::byte>& buf, Tally* tally) {
  const uint64_t off = w.bytes.offset, len = w.bytes.length;
  if (w.source_zero) return ZeroOrSkip(off, len, tally);
  buf.resize(len);
  FERRY_RETURN_IF_ERROR(SourceRead(src, off, buf, w.priority == CopyPriority::kDemand));
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

Status Migration::CopyWithRetry(Volume& src, const Work& w, std::vector<std::byte>& buf) {
  auto backoff = o_.retry_backoff;
  for (int attempt = 0;; ++attempt) {
    Tally tally;
    Status s = Copy(src, w, buf, &tally);
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
    const std::shared_ptr<Volume> src = Source();  // present while work is left
    lock.unlock();
    Status s = CopyWithRetry(*src, *w, buf);
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

}  // namespace ferry
