// SourceLink: the link model and the copy controller (see link.h).
#include "sched/link.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace ferry {
namespace {

double Seconds(std::chrono::nanoseconds t) { return std::chrono::duration<double>(t).count(); }
std::chrono::nanoseconds FromSeconds(double s) {
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(std::max(0.0, s) * 1e9)));
}

// LEDBAT's GAIN (RFC 6817 2.4.2 recommends 1): the window moves by at most one chunk per
// window of bytes answered.
constexpr double kGain = 1.0;
// A queueing sample this far over the target halves the window at once (at most once a
// base round trip), as LEDBAT's loss response: the additive decrease alone is slow when
// the budget holds many chunks. A sample is capped at the copies ahead of the read over
// the rate, so with a target of one copy (large reads on a slow link) 4 needed four
// copies ahead, more than the idle budget holds at 40 Mbit/s: it never fired there.
constexpr double kHalveAt = 2.0;
// The latency target is at least this many smallest copies' transmission: one may be on
// the link when a read arrives, one just behind it, and the window needs room to move
// (measured on analysis_cli.sh's synthetic workload: 1 gave stall ratio 0.173 and a
// 22.6 s migration, 2 gave 0.148 and 19.4 s, 3 gave 0.134 and 17.5 s with read p99
// 11.6 ms; 5 ms of target, about 5, gave 0.132 and 16.3 s but p99 34 ms).
constexpr double kTargetChunks = 3;
// The share of its own time on the link (base latency and transmission) that an
// application read may wait behind copies (issue 12: misses at most 1.5x that time).
constexpr double kReadSlack = 0.5;
// The base latency's window (BBR's min-RTT filter keeps 10 s) and its samples at most.
constexpr std::chrono::seconds kBaseWindow{10};
constexpr size_t kBaseSamples = 256;
// The idle window's gain over the bandwidth-delay product: BBR's startup gain, 2/ln 2,
// which lets the window double each round trip on a link it has not measured yet
// (BBR's steady cwnd gain of 2 took 1.39 s for a 1.09 s bare copy on a 20 ms, 1 GB/s
// link in the simulator; this one 1.20 s, the rest being the start).
constexpr double kIdleGain = 2.89;
// LEDBAT's set point as a share of the latency target (measured: at the target itself,
// the mean queueing delay of a steady application's reads was 4% over it).
constexpr double kSetPoint = 0.75;
// BBR's ProbeRTT lasts 200 ms at most.
constexpr std::chrono::milliseconds kProbeTime{200};
// The shortest span a delivery-rate sample covers (OnAnswer says why).
constexpr std::chrono::milliseconds kRateSpan{10};
// ... and at least this many smoothed round trips of the copies.
constexpr double kRateRoundTrips = 4;
// A link that serves a burst and then much less (a token bucket: nbdkit's rate filter
// lets 2 s of its rate through at once after a quiet spell, as cloud disks' burst
// credits do) is caught by the delivery rate's max filter at the burst's rate for the
// filter's whole window: at 40 Mbit/s it measured 534 MB/s, and the budget it gave
// queued 6.6 MB, a second and a half of the link, ahead of the application's reads.
// BBR's policer detection (long-term bandwidth sampling) does what follows: when the
// link was kept full throughout this long and served less than this share of the estimate
// all along, the estimate becomes what it served (DetectPolicer).
constexpr std::chrono::milliseconds kPolicerWindow{250};
constexpr double kPolicedShare = 0.5;
// Smoothing of the reported queueing delay (TCP's SRTT weight).
constexpr double kEwma = 0.125;
// Before the link is measured, an active application gets two small copies in flight.
constexpr uint64_t kUnmeasuredActiveChunks = 2;
// Before the link is measured at all, copies in flight at most, in smallest copies.
constexpr uint64_t kUnmeasuredChunks = 4;
// Floor rate before the delivery rate is known: DRBD's c-min-rate default is 250 KiB/s;
// a remote disk today gives far more, so 1 MiB/s.
constexpr uint64_t kUnmeasuredFloorRate = 1 << 20;

uint64_t FloorPow2(uint64_t v) { return v == 0 ? 0 : std::bit_floor(v); }

// A base latency sample from a read sent onto an empty link (UpdateBaseLatency says
// why these rules): its round trip when the rate estimate could not have sent it that
// fast (a token bucket's burst), else its round trip less its transmission, at least half.
double BaseLatencySample(double rtt, uint64_t bytes, double rate) {
  const double transmit = rate > 0 ? static_cast<double>(bytes) / rate : 0;
  if (transmit >= rtt) return rtt;
  return std::max(rtt / 2, rtt - transmit);
}

}  // namespace

void SourceLink::WindowedMax::Add(Time t, double v) {
  while (!samples.empty() && samples.back().second <= v) samples.pop_back();
  samples.emplace_back(t, v);
  while (samples.front().first + window < t) samples.pop_front();
}

SourceLink::SourceLink(const LinkOptions& options) : options_(options) {}

LinkSend SourceLink::OnSend(uint64_t bytes, bool app, Time now) {
  if (app) {
    OnAppRead(now);
    ++app_in_flight_;
    const double b = static_cast<double>(bytes);
    app_read_bytes_ = app_read_bytes_ > 0 ? (1 - kEwma) * app_read_bytes_ + kEwma * b : b;
  }
  LinkSend s;
  s.sent = now;
  s.bytes = bytes;
  s.app = app;
  s.copies_ahead = copy_in_flight_;
  s.delivered = delivered_;
  // A send onto an idle link measures from itself (BBR: delivered_time resets when
  // the pipe is empty), otherwise from the last answer.
  s.delivered_at = in_flight_ == 0 ? now : delivered_at_;
  s.alone = in_flight_ == 0;
  s.idle_backlog = app && delivered_ < idle_backlog_end_ &&
                   static_cast<double>(copy_in_flight_) > active_budget_ + static_cast<double>(ChunkLimit(now));
  NoteFill(now);
  in_flight_ += bytes;
  if (!app) {
    copy_in_flight_ += bytes;
    copy_sends_.insert(now);
  }
  return s;
}

void SourceLink::OnFailed(const LinkSend& send) {
  in_flight_ -= std::min(in_flight_, send.bytes);
  if (send.app && app_in_flight_ > 0) --app_in_flight_;
  if (!send.app) {
    copy_in_flight_ -= std::min(copy_in_flight_, send.bytes);
    if (auto it = copy_sends_.find(send.sent); it != copy_sends_.end()) copy_sends_.erase(it);
  }
}

void SourceLink::OnAnswer(const LinkSend& send, Time now) {
  OnFailed(send);  // out of flight
  NoteFill(now);
  delivered_ += send.bytes;
  delivered_at_ = now;
  const double rtt = Seconds(now - send.sent);
  double& srtt = send.app ? app_srtt_s_ : copy_srtt_s_;
  srtt = srtt > 0 ? (1 - kEwma) * srtt + kEwma * rtt : rtt;
  if (send.app) {
    const bool overtook = !copy_sends_.empty() && *copy_sends_.begin() < send.sent;
    overtaking_ = (1 - kEwma) * overtaking_ + kEwma * (overtook ? 1.0 : 0.0);
  }
  SampleDeliveryRate(send, now);
  DetectPolicer(now);
  const double rate = delivery_rate();
  UpdateBaseLatency(send, now, rtt, rate);
  if (send.app) {
    OnAppAnswer(send, now, rtt, rate);
    last_app_ = now;  // it waited until now
  }
}

// A rate sample spans at least kRateSpan and four smoothed round trips of the copies:
// the bytes answered since the newest point that old. A request's bytes count when
// its answer comes, though they crossed the link over its whole round trip, and a
// server that is not first come first served answers in bunches (nbdkit's rate
// filter hands its token bucket's refills to whichever request wakes first, and
// answers a 4 KiB read among 1 MiB copies in a few ms): a shorter span showed 3 to 10
// times the link's rate there, two round trips up to 1.5 times (a bunch of answers
// just inside the span's start counts whole), four 1.15 times (docs/design-notes.md,
// "The delivery rate of a server that is not a queue"). Until the first such sample,
// BBR's per-request sample (bytes answered since this one was sent, over that
// interval) starts the estimate.
void SourceLink::SampleDeliveryRate(const LinkSend& send, Time now) {
  const Time span = std::max<Time>(kRateSpan, FromSeconds(kRateRoundTrips * copy_srtt_s_));
  // Bytes in flight when a burst's estimate gave way (DetectPolicer) are not counted:
  // they crossed the link before the span.
  const uint64_t counted = std::max(delivered_, uncounted_until_);
  delivery_points_.push_back({now, counted});
  while (delivery_points_.size() > 2 && delivery_points_[1].first + span <= now) delivery_points_.pop_front();
  const auto& [t0, d0] = delivery_points_.front();
  if (t0 + span <= now) {
    if (counted > d0) rate_.Add(now, static_cast<double>(counted - d0) / Seconds(now - t0));
  } else if (const Time interval = now - send.delivered_at; interval > Time(0) && rate_.samples.empty()) {
    rate_.Add(now, static_cast<double>(delivered_ - send.delivered) / Seconds(interval));
  }
}

// The link, kept full all along at the estimate (NoteFill),
// can have served at most what was answered over the last kPolicerWindow plus what is
// still in flight, whatever order it serves in. When even that is well under the
// estimate, the estimate came from a burst (a token bucket spending what it saved while
// the link was quiet) and gives way to what was answered; the max filter then takes
// only samples from now on (and at once any higher one, were the link not a policer
// after all).
void SourceLink::DetectPolicer(Time now) {
  policer_points_.push_back({now, delivered_});
  while (policer_points_.size() > 1 && policer_points_[1].first + kPolicerWindow <= now) policer_points_.pop_front();
  const auto [since, delivered] = policer_points_.front();
  if (since + kPolicerWindow > now || last_unfilled_ > since) return;  // not covered, or not full all along
  const double window = Seconds(now - since);
  const double served_at_most = static_cast<double>(delivered_ - delivered + in_flight_) / window;
  if (served_at_most >= kPolicedShare * rate_.Best()) return;
  // The estimate becomes what was answered (what is in flight may have had a start or
  // not); the window's gain over the bandwidth-delay product lets it grow back should
  // the link serve more (kIdleGain).
  const double served = static_cast<double>(delivered_ - delivered) / window;
  rate_.samples.clear();
  rate_.Add(now, served > 0 ? served : served_at_most);
  delivery_points_.clear();
  uncounted_until_ = delivered_ + in_flight_;
  delivery_points_.push_back({now, uncounted_until_});
}

// Whether the link holds too little to be kept busy at the estimate (then it need not
// serve the estimate: DetectPolicer): its bandwidth-delay product, which covers the
// round trip, and two smallest copies being transmitted (one copy alone leaves the link
// idle while its request crosses it, and the floor rate's copies, one at a time, would
// otherwise pull the estimate down to their own rate). Not twice the product: an active
// application's window is the product and the target's bytes, so a burst's estimate
// would never be found out while it reads (it was not, once the base latency was right).
void SourceLink::NoteFill(Time now) {
  const double full = delivery_rate() * Seconds(base_latency()) + 2.0 * static_cast<double>(options_.min_chunk);
  if (static_cast<double>(in_flight_) < full) last_unfilled_ = now;
}

// The base latency: the least (round trip - transmission) over recent answers sent
// onto an empty link (BBR's min-RTT, which a queue that never drains would inflate:
// then the queueing delay looks small, the budget grows, and the queue with it), worked
// out again with the current rate estimate each time (an early, low estimate would
// otherwise leave too small a sample in the window for its whole span). Until such an
// answer comes, every answer counts. A sample answered faster than the rate estimate
// could transmit it went through a burst (nbdkit's rate filter is a token bucket): it
// tells only that the latency is at most its round trip (taking half of it, as before,
// read 1.1 ms on nbdkit's 2 ms link). Otherwise a sample is at least half its round
// trip: a bucket partly full sends a read faster than its long-run rate says.
void SourceLink::UpdateBaseLatency(const LinkSend& send, Time now, double rtt, double rate) {
  if (send.alone) {
    if (!alone_seen_) base_samples_.clear();
    alone_seen_ = true;
    last_alone_ = now;
    probing_ = false;
  }
  bool samples_changed = false;
  if (send.alone || !alone_seen_) {
    base_samples_.push_back({now, rtt, send.bytes});
    while (base_samples_.size() > kBaseSamples || base_samples_.front().at + kBaseWindow < now) base_samples_.pop_front();
    samples_changed = true;
  }
  if (samples_changed || rate != base_rate_) {  // the loop is the answer path's cost: only when it can differ
    double base = std::numeric_limits<double>::max();
    for (const BaseSample& b : base_samples_) {
      base = std::min(base, BaseLatencySample(b.rtt, b.bytes, rate));
    }
    base_s_ = base_samples_.empty() ? 0 : base;
    base_rate_ = rate;
  }
  // ProbeRTT: when no read has gone out alone for half the window, copies drain (for
  // at most kProbeTime) so that one can.
  if (!probing_ && now - last_alone_ > kBaseWindow / 2) {
    probing_ = true;
    probe_start_ = now;
  }
  if (probing_ && now - probe_start_ > kProbeTime) {
    probing_ = false;
    last_alone_ = now;  // not this time; try again in half a window
  }
}

// An application read's answer: its queueing delay behind copies, and LEDBAT's
// response to it.
void SourceLink::OnAppAnswer(const LinkSend& send, Time now, double rtt, double rate) {
  const double transmit = rate > 0 ? static_cast<double>(send.bytes) / rate : 0;
  const double q = std::clamp(rtt - Seconds(base_latency()) - transmit, 0.0,
                             rate > 0 ? static_cast<double>(send.copies_ahead) / rate : 0.0);
  queue_delay_s_ = have_queue_sample_ ? (1 - kEwma) * queue_delay_s_ + kEwma * q : q;
  have_queue_sample_ = true;
  // A read that met the idle budget's copies, not the window's, neither ends the slow
  // start nor moves the window: the window already replaced that budget when the
  // application started, and those copies drain by themselves. (Taken as the window's,
  // the first read of each activity halved it: on msr_cut_rand_iops stretched x100, whose
  // reads come and go, the copy ran under the bandwidth-delay product for 14 s.)
  if (send.idle_backlog) return;
  const double target = Seconds(latency_target());
  slow_start_over_ = q >= kSetPoint * target ? slow_start_over_ + 1 : 0;
  if (slow_start_ && slow_start_over_ >= 2) {
    // Two samples in a row at the set point end the slow start.
    slow_start_ = false;
  }
  if (q > kHalveAt * target && now - last_halved_ >= std::max(base_latency(), Time(std::chrono::milliseconds(1)))) {
    // Below half a chunk the budget allows nothing: only the floor rate moves the copy.
    active_budget_ = active_budget_ / 2 < static_cast<double>(options_.min_chunk) / 2 ? 0 : active_budget_ / 2;
    last_halved_ = now;
  }
  last_q_ = q;
}

void SourceLink::OnAppRead(Time now) {
  if (!AppActive(now)) {
    // The application starts (again). The window starts at the bandwidth-delay product,
    // which keeps the link full, plus the target's worth of bytes a read may find
    // queued ahead of it (LEDBAT's equilibrium).
    const double rate = delivery_rate();
    active_budget_ = rate > 0 ? rate * Seconds(base_latency() + latency_target())
                              : static_cast<double>(kUnmeasuredActiveChunks * options_.min_chunk);
    active_budget_ = std::clamp(active_budget_, static_cast<double>(options_.min_chunk), static_cast<double>(IdleBudget()));
    last_q_.reset();
    slow_start_ = true;
    slow_start_over_ = 0;
    idle_backlog_end_ = delivered_ + in_flight_;
  }
  last_app_ = now;
}

void SourceLink::OnCopyAnswered(uint64_t bytes, Time now) {
  if (!AppActive(now) || !last_q_) return;
  // LEDBAT's window update (RFC 6817 2.4.2), per copy bytes answered, with the smallest
  // chunk as the segment: off_target in [-1, 1]. The window may reach zero (then the
  // floor rate alone moves the copy). The set point is kSetPoint of the target: the
  // window swings about it, and the target is a bound for the application, not a mean.
  const double target = kSetPoint * Seconds(latency_target());
  const double off = std::clamp((target - *last_q_) / target, -1.0, 1.0);
  const double mss = static_cast<double>(options_.min_chunk);
  // Slow start while no read has seen the set point (RFC 6817 allows LEDBAT one no more
  // aggressive than TCP's: the window grows by the bytes answered, doubling each round
  // trip). Without it a link with far more room than the start measured (a 2 ms link
  // of 24 GB/s under the MSR random trace) filled at one chunk per round trip, and
  // the copy took the whole trace to reach the hot data.
  active_budget_ += slow_start_ ? off * static_cast<double>(bytes)
                                : kGain * off * static_cast<double>(bytes) * mss / std::max(active_budget_, mss);
  active_budget_ = std::clamp(active_budget_, 0.0, static_cast<double>(IdleBudget()));
}

bool SourceLink::ReadBeforeCopy(Time copy_sent, Time now) const {
  if (!SharesPerRequest() || app_srtt_s_ <= 0 || copy_srtt_s_ <= 0) return false;
  return now + FromSeconds(app_srtt_s_) < copy_sent + FromSeconds(copy_srtt_s_);
}

bool SourceLink::AppActive(Time now) const {
  return app_in_flight_ > 0 || (last_app_ && now - *last_app_ < options_.active_hold);
}

bool SourceLink::Congested() const {
  const double rate = delivery_rate();
  return rate > 0 && static_cast<double>(in_flight_) > rate * Seconds(base_latency() + latency_target());
}

uint64_t SourceLink::IdleBudget() const {
  const double rate = delivery_rate();
  // Unmeasured: a few small copies, as BBR starts from a small window; the first
  // answers measure the link and the window grows from there.
  if (rate <= 0) return kUnmeasuredChunks * options_.min_chunk;
  // BBR's cwnd gain of 2 over the bandwidth-delay product, plus two chunks in transit;
  // at least idle_floor (a local disk wants many requests)...
  const double bdp = rate * Seconds(base_latency());
  const uint64_t want = std::max<uint64_t>(options_.idle_floor, static_cast<uint64_t>(2 * bdp) + 2 * options_.max_chunk);
  // ... but never more queue than an application read arriving out of the blue should
  // meet: on a slow link 8 MiB is seconds of it.
  // The gain lets the window grow while the estimate catches up with a link faster
  // than it has measured.
  const uint64_t cap = static_cast<uint64_t>(std::max(kIdleGain * bdp, bdp + rate * Seconds(options_.idle_queue))) +
                       2 * options_.min_chunk;
  return std::min(want, cap);
}

uint64_t SourceLink::Budget(Time now) const {
  // Probing the base latency: nothing until the link is empty, then one small copy.
  if (probing_) return in_flight_ == 0 ? options_.min_chunk : 0;
  if (!AppActive(now)) return IdleBudget();
  return static_cast<uint64_t>(active_budget_);
}

uint64_t SourceLink::FloorRate() const {
  if (options_.min_rate) return options_.min_rate;
  const double rate = delivery_rate();
  return rate > 0 ? std::max<uint64_t>(1, static_cast<uint64_t>(rate / 10)) : kUnmeasuredFloorRate;
}

bool SourceLink::FloorDue(uint64_t copy_in_flight, Time now) const {
  return !probing_ && copy_in_flight == 0 && now >= floor_next_;
}

void SourceLink::OnFloorCopy(uint64_t bytes, Time now) {
  // Credit for a turn taken late carries over, up to one copy's worth.
  const Time d = FromSeconds(static_cast<double>(bytes) / static_cast<double>(FloorRate()));
  floor_next_ = std::max(floor_next_, now - d) + d;
}

uint64_t SourceLink::ChunkLimit(Time now) const {
  return std::clamp(FloorPow2(Budget(now) / 2), options_.min_chunk, options_.max_chunk);
}

uint64_t SourceLink::ChunkFloor(uint32_t requests, Time now) const {
  const uint64_t per_request = IdleBudget() / std::max<uint32_t>(1, requests);
  
  return std::clamp(std::bit_ceil(std::max<uint64_t>(1, per_request)), options_.min_chunk, ChunkLimit(now));
}

bool SourceLink::LargerChunkPays(uint64_t chunk) const {
  const double rate = delivery_rate();
  return rate <= 0 || static_cast<double>(chunk) / rate < base_s_;
}

double SourceLink::delivery_rate() const { return rate_.Best(); }

SourceLink::Time SourceLink::base_latency() const { return FromSeconds(base_s_); }

SourceLink::Time SourceLink::latency_target() const {
  if (options_.latency_target > Time(0)) return options_.latency_target;
  const double rate = delivery_rate();
  const double chunk = rate > 0 ? static_cast<double>(options_.min_chunk) / rate : 0;
  // A quarter of the base latency (DESIGN.md), but no less than kTargetChunks of the
  // smallest copies' transmission: a read arriving while one is on the link waits for the
  // rest of it, so a tighter target cannot be met by any copy at all and would hold the
  // migration to its floor rate (measured: docs/design-notes.md "The link controller").
  const Time target = std::max<Time>({std::chrono::microseconds(100), base_latency() / 4, FromSeconds(kTargetChunks * chunk)});
  // The application's reads may take half as long again as their own time on the link
  // (issue 12's bound: 1.5 x (base latency + bytes / bandwidth)). Where that time is
  // mostly their own transmission (a slow link, large reads) and they are at least a
  // smallest copy's size, the copies beside them stretch them in proportion and one
  // copy ahead costs no more than the bound: the target comes down to it, but not under
  // one copy. A file system's 128 KiB reads on a 40 Mbit/s link allow 14 ms, one 64 KiB
  // copy, where three copies' 39 ms let most misses meet copies (docs/design-notes.md).
  // Elsewhere the rule above stands: smaller reads cannot be held to their bound by any
  // copy, and where latency dominates, a tighter target slows the copy more than it
  // spares the reads (on analysis_cli.sh's synthetic workload, 64 KiB and larger reads
  // on a 68 MiB/s link, it raised the share of reads that waited from 0.130 to 0.143).
  if (rate <= 0 || app_read_bytes_ < static_cast<double>(options_.min_chunk)) return target;
  const double transmit = app_read_bytes_ / rate;
  if (transmit < Seconds(base_latency())) return target;
  const double bound = kReadSlack * (Seconds(base_latency()) + transmit);
  return std::max(FromSeconds(chunk), std::min(target, FromSeconds(bound)));
}

LinkSnapshot SourceLink::Snapshot(Time now) const {
  LinkSnapshot s;
  s.base_latency_s = Seconds(base_latency());
  s.delivery_rate = delivery_rate();
  s.queue_delay_s = queue_delay_s_;
  s.latency_target_s = Seconds(latency_target());
  s.in_flight = in_flight_;
  s.budget = Budget(now);
  s.app_active = AppActive(now);
  return s;
}

}  // namespace ferry
