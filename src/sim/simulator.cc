// Simulator: trace replay through the Scheduler on a virtual clock (see simulator.h).
#include "sim/simulator.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <limits>
#include <optional>
#include <queue>

#include "predict/predictor.h"
#include "sched/kept_reads.h"
#include "sched/prediction_path.h"
#include "sched/scheduler.h"
#include "sim/sim_link.h"
#include "ferry/volume.h"
#include "volume/zero_map.h"

namespace ferry {
namespace {

using Time = std::chrono::nanoseconds;
constexpr Time kNever = Time::max();

double Seconds(Time t) { return std::chrono::duration<double>(t).count(); }

// One policy's replay of a trace on the virtual clock: the application's requests and
// the scheduler's copies as events on the modelled source link and destination.
class PolicyReplay {
 public:
  PolicyReplay(const std::vector<IoEvent>& events, const ResolvedScenario& sc, Policy policy, const SimOptions& options)
      : events_(events), sc_(sc), options_(options),
        map_(sc.volume_size, sc.s.granule_size),
        sched_(map_, SchedulerOptionsFor(sc, policy), sc.migration_start),
        predictor_(NewPredictor(sc, policy, options)),
        path_(map_, sched_, predictor_.get()),
        link_({sc.s.source_latency, sc.source_bw, sc.s.shared_link, sc.s.source_burst, sc.s.source_burst_bw,
               sc.s.source_threads}) {
    result_.policy = policy;
    if (predictor_) result_.predictor = options.predictor;
    if (sc.s.source_zero) sched_.SetSourceZero(sc.s.source_zero.get());
  }

  SimResult Replay();

 private:
  size_t ObserveHistory();
  void SetClairvoyantOrder(size_t start);
  void Conclude();
  static std::unique_ptr<Predictor> NewPredictor(const ResolvedScenario& sc, Policy policy, const SimOptions& options) {
    if (!PolicyTakesPredictions(policy) || options.predictor == "none") return nullptr;
    PredictorConfig pc;
    pc.model = options.model;
    pc.granule_size = sc.s.granule_size;
    pc.background_training = false;
    auto p = MakePredictor(options.predictor, pc);
    assert(p.ok());
    return std::move(p).value();
  }

  static SchedulerOptions SchedulerOptionsFor(const ResolvedScenario& sc, Policy policy) {
    SchedulerOptions o;
    o.policy = policy;
    o.min_chunk = sc.s.min_chunk;
    o.max_chunk = sc.s.max_chunk;
    o.max_in_flight = sc.s.max_in_flight;
    o.link.latency_target = sc.s.latency_target;
    o.link.min_rate = sc.s.min_rate;
    o.adapt_chunk_size = sc.s.adapt_chunk_size;
    // The modelled source is remote (a fixed latency per request), where a larger chunk
    // never gives less throughput: start the sizer at the top rather than at the 1 MiB
    // measured best for local copies; it still probes down.
    o.initial_chunk = sc.s.max_chunk;
    return o;
  }

  // An event on the virtual clock: a copy's source read answered (the link model hears
  // of it), a copy landed on the destination, or a read-through answered (`id` then
  // keys reads_through_).
  enum class Stage : uint8_t { kAnswered, kLanded, kReadAnswered };
  struct Pending {
    Time at;
    uint64_t seq;  // ties in issue order: deterministic
    uint64_t id;
    Stage stage;
    bool operator>(const Pending& o) const { return std::tie(at, seq) > std::tie(o.at, o.seq); }
  };
  void Schedule(Time at, uint64_t id, Stage stage) { pending_.push({at, next_seq_++, id, stage}); }

  // A source read of `bytes` sent at `now` on the link, counted: when its answer comes.
  Time SourceRead(uint64_t bytes, Time now, bool waited_on) {
    result_.bytes_from_source += bytes;
    return link_.Transfer(bytes, now, waited_on);
  }

  // A source read that the application waits for (a read-through): `bytes` at `now`;
  // returns when its answer arrives.
  Time ReadThrough(uint64_t bytes, Time now) {
    const LinkSend send = sched_.SourceSent(bytes, /*app=*/true, now);
    const Time done = SourceRead(bytes, now, /*waited_on=*/true);
    const uint64_t id = next_read_id_++;
    reads_through_.emplace(id, send);
    Schedule(done, id, Stage::kReadAnswered);
    return done;
  }

  void Start(const CopyOp& op, Time now) {
    // A run the source holds as zeroes is written (or skipped) with no source read.
    // The link is first come first served, so when the answer comes is known now.
    InFlight f{op, {}};
    Time landed = now + sc_.s.dest_latency;
    if (op.source_zero) {
      Schedule(landed, op.id, Stage::kLanded);
    } else {
      f.send = sched_.SourceSent(op.bytes.length, op.priority == CopyPriority::kDemand, now);
      const Time answered = SourceRead(op.bytes.length, now, op.priority == CopyPriority::kDemand);
      link_.CopyOnLink(answered);
      landed = answered + sc_.s.dest_latency;
      Schedule(answered, op.id, Stage::kAnswered);
    }
    if (sc_.s.rate && !op.source_zero && op.priority != CopyPriority::kDemand) {
      // --rate: the next paced copy is issued once this one's bytes are paid for.
      rate_free_ = std::max(rate_free_, now) +
                   Time(static_cast<int64_t>(static_cast<double>(op.bytes.length) * 1e9 / static_cast<double>(sc_.s.rate)));
    }
    for (uint64_t g = op.run.first.value; g < op.run.first.value + op.run.count; ++g) {
      ready_[g] = {landed, op.source_zero ? std::nullopt : std::optional<Time>(now)};
    }
    ops_.emplace(op.id, f);
    ++result_.copy_ops;
    if (op.priority == CopyPriority::kDemand) ++result_.demand_ops;
    if (options_.on_copy) options_.on_copy(op.bytes);
  }

  // A pending event is due at `now`.
  void Handle(const Pending& p, Time now) {
    switch (p.stage) {
      case Stage::kReadAnswered:
        sched_.SourceAnswered(reads_through_.at(p.id), now);
        reads_through_.erase(p.id);
        return;
      case Stage::kLanded:
        Complete(p.id, now);
        return;
      case Stage::kAnswered:
        sched_.SourceAnswered(ops_.at(p.id).send, now);
        Schedule(now + sc_.s.dest_latency, p.id, Stage::kLanded);
        return;
    }
  }

  // Issues what the scheduler has, while --rate allows.
  void IssueCopies(Time now) {
    while (now >= rate_free_) {
      auto op = sched_.Next(now);
      if (!op) return;
      Start(*op, now);
    }
  }

  void Complete(uint64_t id, Time now) {
    auto it = ops_.find(id);
    const CopyOp op = it->second.op;
    ops_.erase(it);
    for (uint64_t g = op.run.first.value; g < op.run.first.value + op.run.count; ++g) {
      ready_.erase(g);
      written_behind_.erase(g);  // landed around the writes
    }
    sched_.OnCopyDone(op, true, now);
    path_.OnCopied(op);
    const double share = static_cast<double>(map_.present_count()) / static_cast<double>(map_.granule_count());
    if (share - last_share_ >= 0.005 || sched_.done()) {
      result_.progress.emplace_back(Seconds(now - sc_.migration_start), share);
      last_share_ = share;
    }
    if (sched_.done() && !result_.completed) {
      result_.completed = true;
      result_.migration_time_s = Seconds(now - sc_.migration_start);
    }
  }

  // The granules [first, last] an access touches (zero length: one); the access must
  // start inside the volume, and is clipped to it.
  std::pair<uint64_t, uint64_t> Granules(const IoEvent& e) const {
    const uint64_t g = map_.granule_size();
    return {e.offset / g, std::min(e.offset + std::max<uint64_t>(e.length, 1) - 1, map_.volume_size() - 1) / g};
  }

  // When granule g will be present (now if it is; kNever if it is missing).
  Time ReadyAt(uint64_t g, Time now) const {
    if (map_.state(GranuleIndex(g)) == GranuleState::kPresent) return now;
    auto it = ready_.find(g);
    return it == ready_.end() ? kNever : it->second.landed;
  }

  // `kept_at`: when kept_ has the answers to the read's missing bytes (KeptAt).
  void Read(const IoEvent& e, uint64_t first, uint64_t last, Time now, Time kept_at);
  // When kept_ has answered every run of the read's bytes in granules not present (the
  // engine's Migration::FromKept: by `now`, or later when one is on its way); kNever
  // when one is not kept, or all are present.
  Time KeptAt(const IoEvent& e, uint64_t first, uint64_t last, Time now);
  // Asks the predictor; its predictions become prefetch requests (the shared path).
  void Predict(uint64_t first, uint64_t last, IoOp op);
  void Write(const IoEvent& e, uint64_t first, uint64_t last, Time now);

  const std::vector<IoEvent>& events_;
  const ResolvedScenario& sc_;
  const SimOptions& options_;
  ChunkMap map_;
  Scheduler sched_;
  SimResult result_;
  Time rate_free_{0};  // when --rate lets the next paced copy start
  struct Landing {
    Time landed;               // when its copy lands
    std::optional<Time> sent;  // when its source read went out (none: a zero run)
  };
  absl::flat_hash_map<uint64_t, Landing> ready_;  // granules in flight
  struct InFlight {
    CopyOp op;
    LinkSend send;
  };
  absl::flat_hash_map<uint64_t, InFlight> ops_;  // in flight by id
  absl::flat_hash_map<uint64_t, LinkSend> reads_through_;  // in flight, by their own id
  KeptReads kept_;  // read-throughs' ranges, for re-reads before their granules land
  // Bytes written behind a granule's copy (the engine's WriteBehind), until it lands.
  absl::flat_hash_map<uint64_t, IntervalSet> written_behind_;
  bool WrittenBehind(uint64_t g, uint64_t lo, uint64_t hi) const {  // [lo, hi) all of them
    const auto it = written_behind_.find(g);
    return it != written_behind_.end() && it->second.Covers(lo, hi - lo);
  }
  uint64_t next_read_id_ = 0;
  uint64_t next_seq_ = 0;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending_;
  double last_share_ = 0;
  std::unique_ptr<Predictor> predictor_;
  PredictionPath path_;
  SimLink link_;
  std::vector<Prediction> predictions_;
  std::vector<PredictionOutcome> outcomes_;  // of the access being replayed
  double predict_cpu_ = 0;  // seconds
};

void PolicyReplay::Predict(uint64_t first, uint64_t last, IoOp op) {
  if (!predictor_) return;
  predictions_.clear();
  const double train0 = predictor_->train_cpu_s();
  const auto t0 = std::chrono::steady_clock::now();
  path_.Infer(first, last, op, outcomes_, &predictions_);
  predict_cpu_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() -
                  (predictor_->train_cpu_s() - train0);  // an inline retraining is training
  path_.Queue(predictions_);
}

Time PolicyReplay::KeptAt(const IoEvent& e, uint64_t first, uint64_t last, Time now) {
  const uint64_t gsize = map_.granule_size();
  // Bytes all written behind their granules' copies are answered from memory (the
  // engine's Migration::ServeRead); otherwise the writes' bytes are laid over the answer.
  bool behind = true;
  for (uint64_t g = first; g <= last && behind; ++g) {
    behind = WrittenBehind(g, std::max(e.offset, g * gsize), std::min(e.offset + e.length, (g + 1) * gsize));
  }
  if (behind) return now;
  if (!sched_.KeepsReadThroughs()) return kNever;
  bool any_missing = false;
  uint64_t lo = 0, hi = 0;  // the current run of bytes not present
  Time at = now;
  auto covered = [&] {
    if (hi == lo) return true;
    const KeptReads::Found f = kept_.Find(lo, hi - lo, now);
    at = std::max(at, f.ready);
    return f.kept;
  };
  for (uint64_t g = first; g <= last; ++g) {
    const uint64_t a = std::max(e.offset, g * gsize), b = std::min(e.offset + e.length, (g + 1) * gsize);
    if (map_.state(GranuleIndex(g)) == GranuleState::kPresent) {
      if (!covered()) return kNever;
      lo = hi = 0;
      continue;
    }
    any_missing = true;
    if (hi != lo && hi == a) {
      hi = b;
      continue;
    }
    if (!covered()) return kNever;
    lo = a;
    hi = b;
  }
  return any_missing && covered() ? at : kNever;
}

void PolicyReplay::Read(const IoEvent& e, uint64_t first, uint64_t last, Time now, Time kept_at) {
  ++result_.reads;
  if (kept_at != kNever) {
    // From memory, once the answer is there (a stall while it is on its way).
    if (kept_at > now) result_.stall_times_s.push_back(Seconds(now - sc_.migration_start));
    const Time done = std::max(now + sc_.s.dest_latency, kept_at);
    result_.read_latencies_us.push_back(std::chrono::duration<double, std::micro>(done - now).count());
    return;
  }
  const uint64_t gsize = map_.granule_size();
  bool all_present = true;
  for (uint64_t g = first; g <= last && all_present; ++g) {
    all_present = map_.state(GranuleIndex(g)) == GranuleState::kPresent;
  }
  Time done = now + sc_.s.dest_latency;
  if (!all_present) {
    result_.stall_times_s.push_back(Seconds(now - sc_.migration_start));
    if (sched_.ReadsThrough(e.offset, e.length)) {
      // Granules in flight are waited for when the link model expects their copy's
      // answer before a read sent now (SourceLink::ReadBeforeCopy, as the engine; on
      // this first come first served link it always comes first), and read through
      // otherwise; the read's bytes in missing granules come from the source, in one
      // read (the executor reads each such run; one read here keeps the model simple).
      // Granules the read covers whole are demanded instead, as the engine does.
      if (const GranuleRun whole = map_.WholeGranules(e.offset, e.length); whole.count && sched_.DemandsWholeGranules()) {
        for (const CopyOp& op : sched_.Demand(whole, now)) Start(op, now);
      }
      uint64_t bytes = 0;
      std::vector<Range> through;  // the byte runs read through, kept once answered
      for (uint64_t g = first; g <= last; ++g) {
        const Time r = ReadyAt(g, now);
        if (r == now) continue;
        const auto in_flight = ready_.find(g);
        const uint64_t lo = std::max(e.offset, g * gsize), hi = std::min(e.offset + e.length, (g + 1) * gsize);
        if (r != kNever && (in_flight == ready_.end() || !in_flight->second.sent ||
                            !sched_.link().ReadBeforeCopy(*in_flight->second.sent, now))) {
          done = std::max(done, r + sc_.s.dest_latency);
          continue;
        }
        bytes += hi > lo ? hi - lo : gsize;
        if (hi <= lo) continue;
        if (!through.empty() && through.back().offset + through.back().length == lo) {
          through.back().length += hi - lo;
        } else {
          through.push_back({lo, hi - lo});
        }
      }
      if (bytes) {
        const Time answered = ReadThrough(bytes, now);
        done = std::max(done, answered);
        if (sched_.KeepsReadThroughs()) {
          for (const Range& r : through) kept_.Keep(r.offset, r.length, {}, answered);
        }
        for (const CopyOp& op : sched_.OnReadThrough({GranuleIndex(first), last - first + 1}, now)) Start(op, now);
      }
    } else {
      for (const CopyOp& op : sched_.Demand({GranuleIndex(first), last - first + 1}, now)) Start(op, now);
      for (uint64_t g = first; g <= last; ++g) {
        const Time r = ReadyAt(g, now);
        assert(r != kNever);  // Demand() put every missing granule in flight
        if (r != now) done = std::max(done, r + sc_.s.dest_latency);
      }
    }
  }
  result_.read_latencies_us.push_back(std::chrono::duration<double, std::micro>(done - now).count());
}

void PolicyReplay::Write(const IoEvent& e, uint64_t first, uint64_t last, Time now) {
  ++result_.writes;
  const uint64_t gsize = map_.granule_size(), end = e.offset + e.length, volume = map_.volume_size();
  auto whole = [&](uint64_t g) { return e.offset <= g * gsize && end >= std::min((g + 1) * gsize, volume); };
  // Whole granules need no copy (invariant 4); partial ones are written behind their
  // copy, as the engine's WriteBehind: no wait; a read of those bytes alone is answered
  // from them. Beyond the bytes kept for that, the write waits for the granule instead.
  for (uint64_t g = first; g <= last; ++g) {
    if (whole(g) && map_.state(GranuleIndex(g)) == GranuleState::kMissing) sched_.MarkWritten({GranuleIndex(g), 1});
  }
  bool stalled = false;
  for (uint64_t g : {first, last}) {
    if (whole(g) || map_.state(GranuleIndex(g)) == GranuleState::kPresent) continue;
    const uint64_t lo = std::max(e.offset, g * gsize), hi = std::min(end, (g + 1) * gsize);
    const bool behind = Scheduler::CanWriteBehind(written_behind_.contains(g), written_behind_.size(), gsize);
    if (behind) written_behind_[g].Add(lo, hi - lo);
    stalled = stalled || !behind;
    if (map_.state(GranuleIndex(g)) == GranuleState::kMissing) {
      for (const CopyOp& op : sched_.Demand({GranuleIndex(g), 1}, now)) Start(op, now);
    }
  }
  // Granules written whole with a copy in flight are waited for (invariant 3).
  for (uint64_t g = first; g <= last && !stalled; ++g) stalled = whole(g) && ReadyAt(g, now) != now;
  if (stalled) ++result_.write_stalls;
}

// The history (the trace before the migration starts): observed only. Returns the index
// of the first event of the migration.
size_t PolicyReplay::ObserveHistory() {
  size_t i = 0;
  for (; i < events_.size() && events_[i].time < sc_.migration_start; ++i) {
    const IoEvent& e = events_[i];
    sched_.OnAppIo(e);
    if (e.offset < map_.volume_size()) {
      const auto [first, last] = Granules(e);
      const double train0 = predictor_ ? predictor_->train_cpu_s() : 0;
      const auto t0 = std::chrono::steady_clock::now();
      path_.ObserveHistory(first, last, e.op);
      if (predictor_) {
        predict_cpu_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() -
                        (predictor_->train_cpu_s() - train0);
      }
    }
  }
  path_.EndHistory();
  return i;
}

// Clairvoyant: the true order of next access after the start (whole-granule writes need
// no data).
void PolicyReplay::SetClairvoyantOrder(size_t start) {
  const uint64_t gsize = map_.granule_size();
  std::vector<uint64_t> order;
  absl::flat_hash_set<uint64_t> seen;
  for (size_t k = start; k < events_.size(); ++k) {
    const IoEvent& e = events_[k];
    if (e.offset >= map_.volume_size()) continue;
    const auto [first, last] = Granules(e);
    for (uint64_t g = first; g <= last; ++g) {
      const bool whole_write = e.op == IoOp::kWrite && e.offset <= g * gsize && e.offset + e.length >= (g + 1) * gsize;
      if (!whole_write && seen.insert(g).second) order.push_back(g);
      if (whole_write) seen.insert(g);
    }
  }
  sched_.SetOrder(std::move(order));
}

// The figures of the run, once it is over.
void PolicyReplay::Conclude() {
  const uint64_t gsize = map_.granule_size();
  if (sched_.done() && !result_.completed) {  // nothing to copy at all
    result_.completed = true;
  }
  result_.replans = sched_.replans();
  const PredictionFigures f = path_.figures();
  result_.read_stalls = f.read_stalls;
  result_.read_stalls_first_touch = f.read_stalls_first_touch;
  result_.read_stalls_seen = f.read_stalls_seen;
  result_.prevented_stalls = f.prevented_stalls;
  result_.reads_kept = f.reads_kept;
  if (predictor_) {
    result_.precision = f.precision;
    result_.recall = f.recall;
    result_.timeliness = f.timeliness;
    result_.wasted_bytes = f.wasted_granules * gsize;
    result_.predicted_bytes = f.predicted_granules * gsize;
    result_.train_cpu_s = predictor_->train_cpu_s();
    result_.predict_cpu_s = predict_cpu_;
  }

  auto& lat = result_.read_latencies_us;
  std::sort(lat.begin(), lat.end());
  if (!lat.empty()) {
    auto q = [&](double p) { return lat[std::min(lat.size() - 1, static_cast<size_t>(p * static_cast<double>(lat.size())))]; };
    double sum = 0;
    for (double v : lat) sum += v;
    result_.read_latency_us = {q(0.5), q(0.99), q(0.999), sum / static_cast<double>(lat.size())};
  }
  result_.read_stall_ratio = result_.reads ? static_cast<double>(result_.read_stalls) / static_cast<double>(result_.reads) : 0;
}

SimResult PolicyReplay::Replay() {
  size_t i = ObserveHistory();
  if (sched_.options().policy == Policy::kClairvoyant) SetClairvoyantOrder(i);
  Time now = sc_.migration_start;
  result_.progress.emplace_back(0.0, static_cast<double>(map_.present_count()) / static_cast<double>(map_.granule_count()));
  while (true) {
    IssueCopies(now);
    const Time te = i < events_.size() ? events_[i].time : kNever;
    const Time tc = pending_.empty() ? kNever : pending_.top().at;
    // The floor rate of the link controller may let a copy start later with nothing
    // else happening: look again then.
    const Time tf = sched_.done() ? kNever : sched_.NextLookAt(now);
    if (te == kNever && tc == kNever && tf == kNever && (rate_free_ <= now || sched_.done())) break;
    if (rate_free_ > now && rate_free_ < std::min({te, tc, tf})) {  // --rate allows the next copy
      now = rate_free_;
      continue;
    }
    if (tf < std::min(te, tc)) {
      now = tf;
      continue;
    }
    if (tc <= te) {
      now = tc;
      const Pending p = pending_.top();
      pending_.pop();
      Handle(p, now);
      continue;
    }
    now = te;
    const IoEvent& e = events_[i++];
    if (e.offset >= map_.volume_size()) continue;
    sched_.OnAppIo(e);
    const auto [first, last] = Granules(e);
    outcomes_.clear();
    const Time kept_at = e.op == IoOp::kRead ? KeptAt(e, first, last, now) : kNever;
    path_.OnAccess(first, last, e.op, predictor_ ? &outcomes_ : nullptr, /*kept=*/kept_at <= now);
    if (e.op == IoOp::kRead) {
      Read(e, first, last, now, kept_at);
    } else {
      Write(e, first, last, now);
    }
    Predict(first, last, e.op);
  }
  Conclude();
  return result_;
}

}  // namespace

ScenarioTimes TimesOf(const ResolvedScenario& r) {
  ScenarioTimes t;
  t.trace_span_s = Seconds(r.trace_end - r.trace_start);
  t.migration_start_s = Seconds(r.migration_start - r.trace_start);
  t.migration_window_s = Seconds(r.trace_end - r.migration_start);
  const uint64_t bw = r.s.rate ? std::min(r.s.rate, r.source_bw) : r.source_bw;
  t.bare_copy_s = bw ? static_cast<double>(r.data_bytes) / static_cast<double>(bw) : 0;
  return t;
}

Status ReadScenarioSource(const std::string& source, SimScenario* s) {
  auto v = OpenVolume(source, OpenOptions{});
  if (!v.ok()) return v.status();
  if (s->volume_size == 0) s->volume_size = (*v)->size();
  auto zero = std::make_shared<IntervalSet>();
  FERRY_RETURN_IF_ERROR(ReadZeroMap(**v, zero.get()).WithContext(source));
  s->source_zero = std::move(zero);
  return OkStatus();
}

size_t PrependHistory(std::vector<IoEvent> history, std::vector<IoEvent>* events) {
  if (history.empty() || events->empty()) return 0;
  std::chrono::nanoseconds first = events->front().time;
  for (const IoEvent& e : *events) first = std::min(first, e.time);
  const std::chrono::nanoseconds shift = first - std::chrono::milliseconds(1) - history.back().time;
  for (IoEvent& e : history) e.time += shift;
  events->insert(events->begin(), history.begin(), history.end());
  return history.size();
}

Result<ResolvedScenario> ResolveScenario(std::vector<IoEvent>& events, const SimScenario& s) {
  if (events.empty()) return InvalidArgument("the trace has no events to replay");
  if (!std::has_single_bit(s.granule_size) || s.granule_size < 4096) {
    return InvalidArgument("--granule must be a power of two of at least 4K");
  }
  if (s.min_chunk < s.granule_size || !std::has_single_bit(s.min_chunk)) {
    return InvalidArgument("--min-chunk must be a power of two of at least the granule");
  }
  if (s.max_chunk < s.min_chunk || !std::has_single_bit(s.max_chunk)) {
    return InvalidArgument("--max-chunk must be a power of two of at least --min-chunk");
  }
  if (!(s.warmup >= 0 && s.warmup < 1)) return InvalidArgument("--warmup must be at least 0% and below 100%");
  if (!(s.time_scale > 0)) return InvalidArgument("--time-scale must be positive");
  if (s.max_in_flight < 1) return InvalidArgument("the in-flight limit must be at least 1");
  if (s.time_scale != 1.0) {
    for (IoEvent& e : events) e.time = Time(static_cast<int64_t>(std::llround(static_cast<double>(e.time.count()) * s.time_scale)));
  }
  std::stable_sort(events.begin(), events.end(), [](const IoEvent& a, const IoEvent& b) { return a.time < b.time; });

  if (s.history_events >= events.size()) return InvalidArgument("the trace has no events to replay after its history");
  ResolvedScenario r;
  r.s = s;
  r.events = events.size();
  r.trace_start = events[s.history_events].time;
  r.trace_end = events.back().time;
  uint64_t highest = 0;
  for (const IoEvent& e : events) highest = std::max(highest, e.offset + e.length);
  r.volume_size = s.volume_size ? s.volume_size : (highest + s.granule_size - 1) / s.granule_size * s.granule_size;
  if (r.volume_size == 0) return InvalidArgument("the trace touches no bytes; give --volume-size");
  const Time span = r.trace_end - r.trace_start;
  r.migration_start = r.trace_start + Time(static_cast<int64_t>(static_cast<double>(span.count()) * s.warmup));
  for (const IoEvent& e : events) {
    if (e.time < r.migration_start) {
      ++r.warmup_events;
    } else if (e.op == IoOp::kRead) {
      ++r.reads_after_start;
    }
    if (e.offset >= r.volume_size) ++r.clipped_events;
  }
  r.data_bytes = r.volume_size;
  if (s.source_zero) {
    for (const Range& z : s.source_zero->Intersection(0, r.volume_size)) r.data_bytes -= z.length;
  }
  // Default bandwidth: a bare copy of the data takes half of the time left after the
  // warm-up (DESIGN.md "Evaluation"); at least one second of window.
  const double window_s = std::max(1.0, Seconds(r.trace_end - r.migration_start));
  r.source_bw = s.source_bw ? s.source_bw
                            : std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(r.data_bytes) / (0.5 * window_s)));
  return r;
}

SimResult Simulate(const std::vector<IoEvent>& events, const ResolvedScenario& scenario, Policy policy,
                   const SimOptions& options) {
  PolicyReplay replay(events, scenario, policy, options);
  return replay.Replay();
}

}  // namespace ferry
