// The live request path: an application's reads, writes, trims, zeroes, flushes,
// extents and cache hints while the migration runs, keeping invariants 2 to 5
// (DESIGN.md "The live request path"). See migration.h.
#include <algorithm>
#include <cstring>
#include <future>
#include <memory>
#include <thread>

#include "engine/migration.h"

namespace ferry {

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

bool Migration::WaitsForCopies(GranuleRun run) const {
  const Scheduler::Time now = Now();
  for (uint64_t g = run.first.value; g < run.first.value + run.count; ++g) {
    if (map_.state(GranuleIndex(g)) != GranuleState::kInFlight) continue;
    const auto sent = copy_sent_.find(g);
    if (sent == copy_sent_.end() || !sched_.link().ReadBeforeCopy(sent->second, now)) return true;
  }
  return false;
}

void Migration::ObserveAt(Scheduler::Time at, uint64_t offset, uint64_t length, IoOp op, bool kept) {
  IoEvent e;
  e.time = at;
  e.offset = offset;
  e.length = length;
  e.op = op;
  sched_.OnAppIo(e);
  const GranuleRun run = RunOf(offset, length);
  Access a{run.first.value, run.first.value + run.count - 1, op, {}};
  path_.OnAccess(a.first, a.last, op, predicting_ ? &a.outcomes : nullptr, kept);
  if (!predicting_) return;
  // The predictor's thread asks it (PredictLoop): no inference under this lock.
  {
    std::lock_guard<std::mutex> feed(feed_mu_);
    if (feed_.size() >= kMaxFeed) {
      feed_.pop_front();
      ++feed_skipped_;
    }
    feed_.push_back(std::move(a));
    if (feed_.size() < kFeedBatch) return;  // the predictor's thread looks every kFeedWait
  }
  feed_cv_.notify_one();
}

Status Migration::EnsurePresent(std::unique_lock<std::mutex>& lock, GranuleRun run, bool* waited) {
  ByteBuffer buf;
  for (;;) {
    std::vector<CopyOp> ops = sched_.Demand(run, Now());
    if (!ops.empty()) {
      const std::shared_ptr<Volume> src = Source();
      *waited = true;
      work_cv_.notify_all();  // the rest of a demand's chunk is queued for the workers
      lock.unlock();
      Status first;
      bool at_destination = false;
      std::vector<bool> ok(ops.size());
      for (size_t i = 0; i < ops.size(); ++i) {
        // After a failure, the rest are given back.
        Status s = first.ok() ? CopyWithRetry(*src, ops[i], buf, 0, &at_destination) : first;
        ok[i] = s.ok();
        if (!s.ok() && first.ok()) first = s;
      }
      lock.lock();
      for (size_t i = 0; i < ops.size(); ++i) {
        sched_.OnCopyDone(ops[i], ok[i], Now());
        if (!ok[i]) continue;
        WritesLanded(ops[i].run);
        live_stats_.demand_bytes += ops[i].bytes.length;
        ++copy_ops_;
        recorder_->Copied(ops[i].bytes.offset, ops[i].bytes.length, ops[i].priority);
      }
      granule_cv_.notify_all();
      if (!first.ok()) {
        ++live_stats_.copy_errors;
        live_stats_.last_error = first.message();
        if (at_destination) PauseForDestination(first);
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
  if (o_.on_request) o_.on_request(IoOp::kRead, offset, buf.size());
  bool missed = false;
  Status s = ServeRead(offset, buf, &missed);
  recorder_->Request(offset, buf.size(), /*write=*/false, Clock::now() - t0, missed);
  return s;
}

void Migration::DeferHit(uint64_t offset, uint64_t length) {
  {
    std::lock_guard<std::mutex> hits(hits_mu_);
    hits_.push_back({Now(), offset, length});
    if (hits_.size() < kMaxHits) return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  DrainHits();
}

void Migration::DrainHits() {
  {
    std::lock_guard<std::mutex> l(hits_mu_);
    if (hits_.empty()) return;
    drained_.swap(hits_);  // hits_ takes drained_'s emptied buffer: its capacity stays
  }
  for (const Hit& h : drained_) ObserveAt(h.at, h.offset, h.length, IoOp::kRead, /*kept=*/false);
  drained_.clear();
}

Status Migration::ServeRead(uint64_t offset, std::span<std::byte> buf, bool* missed) {
  ++reads_;
  if (complete()) return dst_.Read(offset, buf);
  const GranuleRun run = RunOf(offset, buf.size());
  // A hit takes no lock: waiting for mu_ behind the copier, the predictor and the other
  // requests was most of a hit's tail (docs/design-notes.md, "A hit takes no lock").
  if (present_mirror_.AllPresent(run)) {
    DeferHit(offset, buf.size());
    return dst_.Read(offset, buf);
  }
  std::unique_lock<std::mutex> lock(mu_);
  DrainHits();  // the hits that came before this read are observed before it
  // Bytes of writes left behind their granules' copies (WriteBehind) are the newest:
  // neither the source nor a kept answer has them. They answer the read when they cover
  // it, else are laid over the answer to the rest (a write after this read began is
  // concurrent with it, so either answer is right).
  std::vector<PendingPiece> written = PendingPiecesIn(offset, buf.size());
  uint64_t written_bytes = 0;  // the pieces are disjoint: they cover the read when their sizes add up to it
  for (const PendingPiece& p : written) written_bytes += p.data.size();
  if (!written.empty() && written_bytes == buf.size()) {
    Observe(offset, buf.size(), IoOp::kRead, /*kept=*/true);
    lock.unlock();
    LayOver(written, offset, buf);
    return OkStatus();
  }
  Status s = ServeMiss(lock, run, offset, buf, missed);
  if (s.ok()) LayOver(written, offset, buf);
  return s;
}

Status Migration::ServeMiss(std::unique_lock<std::mutex>& lock, GranuleRun run, uint64_t offset,
                            std::span<std::byte> buf, bool* missed) {
  for (bool observed = false;; observed = true) {
    if (AllPresent(run)) {
      present_mirror_.Refresh(map_, run);  // the next read of these granules takes no lock
      if (!observed) Observe(offset, buf.size(), IoOp::kRead);
      lock.unlock();
      return dst_.Read(offset, buf);
    }
    std::vector<ReadPart> parts;
    if (sched_.KeepsReadThroughs()) parts = PartsOf(run, offset, buf.size());
    const Kept kept = parts.empty() ? Kept::kNone : FromKept(parts, offset, buf);
    if (kept == Kept::kReady) {
      // The missing bytes came from memory; the rest is present (a present granule
      // stays present) and is read from the destination.
      if (!observed) Observe(offset, buf.size(), IoOp::kRead, /*kept=*/true);
      lock.unlock();
      return AwaitReadParts(parts, offset, buf, nullptr);
    }
    if (kept == Kept::kNone) {
      if (!observed) Observe(offset, buf.size(), IoOp::kRead);
      break;
    }
    // A read-through of these bytes is on its way: its answer is awaited (a stall)
    // rather than the source asked again.
    if (!observed) Observe(offset, buf.size(), IoOp::kRead);
    *missed = true;
    granule_cv_.wait(lock);
  }
  *missed = true;  // PredictionPath::OnAccess counted the stall
  if (!sched_.ReadsThrough(offset, buf.size())) {
    bool waited = false;
    FERRY_RETURN_IF_ERROR(EnsurePresent(lock, run, &waited));
    lock.unlock();
    return dst_.Read(offset, buf);  // invariant 2: every granule is present
  }
  // The read is answered with exactly its bytes, ahead of every copy: per granule run,
  // the destination where present, the source where not (a write that lands meanwhile
  // is a request concurrent with this read, so either answer is right). Granules in
  // flight are waited for when their copy is expected to be answered before a read sent
  // now (on a first come first served link, always: it went out first), and read
  // through otherwise (a server that shares its bandwidth answers a small read among
  // large copies at once); a write's are always waited for. Invariant 2 holds: no
  // granule is served from the destination unless present.
  while (WaitsForCopies(run)) granule_cv_.wait(lock);
  // Granules the read covers whole are copied on demand instead (the policy says
  // which): the same bytes cross the link once, and land on the destination.
  if (const GranuleRun whole = map_.WholeGranules(offset, buf.size()); whole.count && sched_.DemandsWholeGranules()) {
    bool waited = false;
    FERRY_RETURN_IF_ERROR(EnsurePresent(lock, whole, &waited));
    while (WaitsForCopies(run)) granule_cv_.wait(lock);
  }
  return ReadThrough(lock, run, offset, buf);
}

struct Migration::ReadPart {
  Range bytes;
  bool present = false;
  bool kept = false;  // not present, and copied from kept_
  uint64_t ticket = 0;  // a source part's in kept_ (0: not kept)
  LinkSend send;  // a source part's, once the runs are known
  std::future<Status> answer;
};

std::vector<Migration::ReadPart> Migration::PartsOf(GranuleRun run, uint64_t offset, uint64_t length) const {
  const uint64_t g = map_.granule_size();
  std::vector<ReadPart> parts;
  for (uint64_t i = run.first.value; i < run.first.value + run.count; ++i) {
    const uint64_t lo = std::max(offset, i * g), hi = std::min(offset + length, (i + 1) * g);
    const bool present = map_.state(GranuleIndex(i)) == GranuleState::kPresent;
    if (!parts.empty() && parts.back().present == present) {
      parts.back().bytes.length += hi - lo;
    } else {
      parts.push_back({Range{lo, hi - lo}, present, false, {}, {}});
    }
  }
  return parts;
}

Migration::Kept Migration::FromKept(std::vector<ReadPart>& parts, uint64_t offset, std::span<std::byte> buf) {
  const Scheduler::Time now = Now();
  bool coming = false;
  // Each answered part is copied as it is found: when not all are, the read goes on to
  // wait or read through, which writes buf again.
  for (const ReadPart& p : parts) {
    if (p.present) continue;
    const KeptReads::Found f =
        kept_.Find(p.bytes.offset, p.bytes.length, now, buf.subspan(p.bytes.offset - offset, p.bytes.length));
    if (!f.kept) return Kept::kNone;
    coming = coming || f.ready > now;
  }
  if (coming) return Kept::kComing;
  for (ReadPart& p : parts) p.kept = !p.present;
  return Kept::kReady;
}

Status Migration::ReadThrough(std::unique_lock<std::mutex>& lock, GranuleRun run, uint64_t offset,
                              std::span<std::byte> buf) {
  const std::shared_ptr<Volume> src = Source();
  // The read in runs of granules from the destination (present) or the source. The
  // source's parts go out first (asynchronously), then their granules' copies right
  // behind them (Scheduler::OnReadThrough), so a re-read of a granule soon after finds
  // it on its way rather than missing again; their answers are kept (kept_) for a
  // re-read before the copies land.
  std::vector<ReadPart> sent = PartsOf(run, offset, buf.size());
  for (ReadPart& p : sent) {
    if (p.present) continue;
    p.send = sched_.SourceSent(p.bytes.length, /*app=*/true, Now());
    if (sched_.KeepsReadThroughs()) p.ticket = kept_.Keep(p.bytes.offset, p.bytes.length, {}, KeptReads::kNotYet);
  }
  lock.unlock();
  for (ReadPart& p : sent) {
    if (p.present) continue;
    // The callback owns what it touches (the promise too): it may still be returning
    // from set_value on the source's I/O thread when this read has returned.
    auto answer = std::make_shared<std::promise<Status>>();
    p.answer = answer->get_future();
    src->ReadAsync(p.bytes.offset, buf.subspan(p.bytes.offset - offset, p.bytes.length),
                   [this, send = p.send, answer, data = buf.subspan(p.bytes.offset - offset, p.bytes.length),
                    at = p.bytes.offset, ticket = p.ticket](Status s) {
                     {
                       std::lock_guard<std::mutex> l(mu_);
                       if (s.ok()) {
                         sched_.SourceAnswered(send, Now());
                         kept_.Fill(ticket, at, data, Now());
                       } else {
                         sched_.SourceFailed(send);
                         kept_.Forget(ticket, at);
                       }
                     }
                     granule_cv_.notify_all();  // reads awaiting this answer (FromKept)
                     answer->set_value(std::move(s));
                   });
  }
  lock.lock();
  // Not while paused (the read waits for none of them: they are the background's), nor
  // without workers to land them.
  const bool copy_now = !stop_ && !paused_ && running_ > 0;
  std::vector<CopyOp> ops = sched_.OnReadThrough(run, Now(), copy_now);
  for (CopyOp& op : ops) Launch(lock, std::move(op), src);
  lock.unlock();
  work_cv_.notify_all();
  return AwaitReadParts(sent, offset, buf, src.get());
}

Status Migration::AwaitReadParts(std::vector<ReadPart>& parts, uint64_t offset, std::span<std::byte> buf,
                                 Volume* src) {
  Status failed;
  for (ReadPart& p : parts) {
    std::span<std::byte> part = buf.subspan(p.bytes.offset - offset, p.bytes.length);
    if (p.kept) continue;
    Status s = p.present ? dst_.Read(p.bytes.offset, part) : p.answer.get();
    for (int attempt = 0; !s.ok() && !p.present && BackOff(s, attempt); ++attempt) {
      s = SourceRead(*src, p.bytes.offset, part, /*app=*/true);  // a source part: src is held
    }
    if (!s.ok()) {
      if (failed.ok()) failed = s;
      continue;  // every answer is awaited: each read writes into buf
    }
    if (!p.present) {
      read_through_bytes_ += p.bytes.length;
      recorder_->ReadThrough(p.bytes.length);
    }
  }
  if (!failed.ok()) {
    std::lock_guard<std::mutex> relock(mu_);
    ++live_stats_.read_errors;
    live_stats_.last_error = failed.message();
    return failed;
  }
  return OkStatus();
}

Status Migration::WriteLike(uint64_t offset, uint64_t length, IoOp op, bool fua,
                            const std::function<Status()>& apply, std::span<const std::byte> data) {
  const auto t0 = Clock::now();
  if (o_.on_request) o_.on_request(op, offset, length);
  bool waited = false;
  Status s = ServeWriteLike(offset, length, op, fua, apply, data, &waited);
  recorder_->Request(offset, length, /*write=*/true, Clock::now() - t0, waited);
  return s;
}

Status Migration::ServeWriteLike(uint64_t offset, uint64_t length, IoOp op, bool fua,
                                   const std::function<Status()>& apply, std::span<const std::byte> data,
                                   bool* waited) {
  ++writes_;
  written_.Mark(offset, length);  // before the data lands: a verify never mistakes it
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
  DrainHits();
  Observe(offset, length, op);
  // A partial write's granules not present are written behind their copies when it can
  // be (not for a FUA write, nor zeroes and trims, nor without workers to land copies).
  const bool behind = !data.empty() && !fua && !stop_ && running_ > 0;
  const GranuleRun whole = map_.WholeGranules(offset, length);
  bool head_behind = false, tail_behind = false;
  // Invariant 4: a partly written missing granule is brought in first, or the write's
  // bytes laid over its copy when that lands (invariant 3: never under it).
  auto partial = [&](bool is_partial, uint64_t end, bool* left_behind) -> Status {
    if (!is_partial || *left_behind || map_.state(GranuleIndex(end)) == GranuleState::kPresent) return OkStatus();
    if (behind && WriteBehind(lock, end, offset, data)) {
      *left_behind = true;
      return OkStatus();
    }
    return EnsurePresent(lock, {GranuleIndex(end), 1}, waited);
  };
  for (;;) {
    FERRY_RETURN_IF_ERROR(partial(head_partial, first, &head_behind));
    FERRY_RETURN_IF_ERROR(partial(tail_partial && last != first, last, &tail_behind));
    // Invariant 3: a copy in flight on the granules written whole lands before this write.
    if (!AnyInFlight(whole)) break;
    *waited = true;
    granule_cv_.wait(lock);
  }
  if (*waited) ++live_stats_.write_stalls;
  // The missing granules left are covered whole: no copy, reserved until written.
  const std::vector<GranuleRun> reserved = sched_.ReserveForWrite(whole);
  for (const GranuleRun& r : reserved) WritesLanded(r);  // older writes there, behind a copy that failed
  lock.unlock();
  Status s = apply();
  lock.lock();
  sched_.OnWriteDone(reserved, s.ok());
  granule_cv_.notify_all();
  if (!s.ok()) {
    work_cv_.notify_all();  // reserved granules are missing again
    if (s.code() != StatusCode::kNotSupported) PauseForDestination(s);
  }
  lock.unlock();
  FERRY_RETURN_IF_ERROR(s);
  return fua ? Flush() : OkStatus();
}

Status Migration::Write(uint64_t offset, std::span<const std::byte> buf, bool fua) {
  return WriteLike(offset, buf.size(), IoOp::kWrite, fua, [&] { return dst_.Write(offset, buf); }, buf);
}

bool Migration::AnyPendingWrite(GranuleRun run) const {
  if (pending_writes_.empty()) return false;
  for (uint64_t g = run.first.value; g < run.first.value + run.count; ++g) {
    if (pending_writes_.contains(g)) return true;
  }
  return false;
}

std::vector<Migration::PendingPiece> Migration::PendingPiecesIn(uint64_t offset, uint64_t length) const {
  std::vector<PendingPiece> in;
  if (pending_writes_.empty()) return in;
  const GranuleRun run = RunOf(offset, length);
  for (uint64_t g = run.first.value; g < run.first.value + run.count; ++g) {
    const auto it = pending_writes_.find(g);
    if (it == pending_writes_.end()) continue;
    const uint64_t base = g * map_.granule_size();
    for (const Range& r : it->second.written.Intersection(offset, length)) {
      const auto bytes = std::span<const std::byte>(it->second.bytes).subspan(r.offset - base, r.length);
      in.push_back({r.offset, std::vector<std::byte>(bytes.begin(), bytes.end())});
    }
  }
  return in;
}

void Migration::LayOver(const std::vector<PendingPiece>& pieces, uint64_t offset, std::span<std::byte> buf) {
  for (const PendingPiece& p : pieces) std::memcpy(buf.data() + (p.offset - offset), p.data.data(), p.data.size());
}

bool Migration::WriteBehind(std::unique_lock<std::mutex>& lock, uint64_t g, uint64_t offset,
                            std::span<const std::byte> data) {
  const bool missing = map_.state(GranuleIndex(g)) == GranuleState::kMissing;
  // In flight with no copy_sent_ entry: a write's reservation, a synchronous copy, or a
  // copy already landing, none of which would lay this write over its data.
  if (!missing && !copy_sent_.contains(g)) return false;
  const uint64_t gs = map_.granule_size();
  if (!Scheduler::CanWriteBehind(pending_writes_.contains(g), pending_writes_.size(), gs)) return false;
  const uint64_t lo = std::max(offset, g * gs), hi = std::min(offset + data.size(), (g + 1) * gs);
  PendingGranule& p = pending_writes_[g];
  p.bytes.resize(gs);
  std::memcpy(p.bytes.data() + (lo - g * gs), data.data() + (lo - offset), hi - lo);
  p.written.Add(lo, hi - lo);
  if (missing) {
    // Demanded now, as the read-modify-write would; it lands from the copier.
    for (CopyOp& op : sched_.Demand({GranuleIndex(g), 1}, Now())) Launch(lock, std::move(op), Source());
    work_cv_.notify_all();  // the rest of the demand's chunk is queued for the workers
  }
  return true;
}

Status Migration::SettleWrites() {
  std::unique_lock<std::mutex> lock(mu_);
  std::vector<uint64_t> granules;
  for (const auto& [g, pending] : pending_writes_) granules.push_back(g);
  for (uint64_t g : granules) {
    // The first failure ends it (a source that is lost fails the rest the same way,
    // each after its retries).
    bool waited = false;
    FERRY_RETURN_IF_ERROR(EnsurePresent(lock, {GranuleIndex(g), 1}, &waited));
  }
  return OkStatus();
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
  // Writes answered behind their granules' copies are durable only once those land.
  FERRY_RETURN_IF_ERROR(SettleWrites());
  bool at_destination = false;
  Status s = Commit(&at_destination);
  if (at_destination) {
    std::lock_guard<std::mutex> lock(mu_);
    PauseForDestination(s);
  }
  return s;
}

Status Migration::Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) {
  if (complete()) return dst_.Extents(offset, length, out);
  // Runs of present granules answer from the destination, the rest from the source; a
  // granule with a write pending behind its copy is data (neither side knows it whole).
  enum class From { kDestination, kSource, kData };
  std::vector<std::pair<Range, From>> parts;
  std::shared_ptr<Volume> src;
  {
    std::lock_guard<std::mutex> lock(mu_);
    src = Source();
    const uint64_t g = map_.granule_size();
    const GranuleRun run = RunOf(offset, length);
    for (uint64_t i = run.first.value; i < run.first.value + run.count; ++i) {
      const uint64_t lo = std::max(offset, i * g), hi = std::min(offset + length, (i + 1) * g);
      const From from = map_.state(GranuleIndex(i)) == GranuleState::kPresent || !src ? From::kDestination
                        : pending_writes_.contains(i)                                 ? From::kData
                                                                                      : From::kSource;
      if (!parts.empty() && parts.back().second == from) {
        parts.back().first.length += hi - lo;
      } else {
        parts.push_back({Range{lo, hi - lo}, from});
      }
    }
  }
  for (const auto& [r, from] : parts) {
    if (from == From::kData) {
      out->push_back({r.offset, r.length, /*zero=*/false});
      continue;
    }
    FERRY_RETURN_IF_ERROR(from == From::kDestination ? dst_.Extents(r.offset, r.length, out)
                                                     : src->Extents(r.offset, r.length, out));
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

}  // namespace ferry
