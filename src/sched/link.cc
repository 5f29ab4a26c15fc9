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
// the budget holds many chunks.
constexpr double kHalveAt = 4.0;
// The latency target is at least this many smallest copies' transmission: one may be on
// the link when a read arrives, one just behind it, and the window needs room to move
// (measured on analysis_cli.sh's synthetic workload: 1 gave stall ratio 0.173 and a
// 22.6 s migration, 2 gave 0.148 and 19.4 s, 3 gave 0.134 and 17.5 s with read p99
// 11.6 ms; 5 ms of target, about 5, gave 0.132 and 16.3 s but p99 34 ms).
constexpr double kTargetChunks = 3;
// The base latency's window (BBR's min-RTT filter keeps 10 s) and its samples at most.
constexpr std::chrono::seconds kBaseWindow{10};
constexpr size_t kBaseSamples = 256;
constexpr uint64_t kSmallRead = 16 << 10;
// The shortest span a delivery-rate sample covers (OnAnswer says why).
constexpr std::chrono::milliseconds kRateSpan{50};
// Smoothing of the reported queueing delay (TCP's SRTT weight).
constexpr double kEwma = 0.125;
// Before the link is measured, an active application gets two small copies in flight.
constexpr uint64_t kUnmeasuredActiveChunks = 2;
// Floor rate before the delivery rate is known: DRBD's c-min-rate default is 250 KiB/s;
// a remote disk today gives far more, so 1 MiB/s.
constexpr uint64_t kUnmeasuredFloorRate = 1 << 20;

uint64_t FloorPow2(uint64_t v) { return v == 0 ? 0 : std::bit_floor(v); }

}  // namespace

void SourceLink::WindowedFilter::Add(Time t, double v) {
  while (!samples.empty() && (max ? samples.back().second <= v : samples.back().second >= v)) samples.pop_back();
  samples.emplace_back(t, v);
  while (samples.front().first + window < t) samples.pop_front();
}

std::optional<double> SourceLink::WindowedFilter::Best(Time now) const {
  // The front is the extremum of the window; an expired front stays until the next
  // sample replaces it, so a quiet link keeps its last measurement (as BBR does).
  (void)now;
  if (samples.empty()) return std::nullopt;
  return samples.front().second;
}

SourceLink::SourceLink(const LinkOptions& options) : options_(options) {}

LinkSend SourceLink::OnSend(uint64_t bytes, bool app, Time now) {
  if (app) OnAppRead(now);
  LinkSend s;
  s.sent = now;
  s.bytes = bytes;
  s.app = app;
  s.copies_ahead = copy_in_flight_;
  s.delivered = delivered_;
  // A send onto an idle link measures from itself (BBR: delivered_time resets when
  // the pipe is empty), otherwise from the last answer.
  s.delivered_at = in_flight_ == 0 ? now : delivered_at_;
  in_flight_ += bytes;
  if (!app) copy_in_flight_ += bytes;
  return s;
}

void SourceLink::OnFailed(const LinkSend& send) {
  in_flight_ -= std::min(in_flight_, send.bytes);
  if (!send.app) copy_in_flight_ -= std::min(copy_in_flight_, send.bytes);
}

void SourceLink::OnAnswer(const LinkSend& send, bool app, Time now) {
  OnFailed(send);  // out of flight
  delivered_ += send.bytes;
  delivered_at_ = now;
  // A rate sample spans at least kRateSpan: bytes answered since the newest point that
  // old. Answers of a server that is not first come first served bunch up (nbdkit's
  // rate filter hands its token bucket's refills to whichever request wakes first),
  // and a short span then shows many times the link's rate. Until a point that old
  // exists, BBR's per-request sample (bytes answered since this one was sent, over
  // that interval) starts the estimate.
  delivery_points_.push_back({now, delivered_});
  while (delivery_points_.size() > 2 && delivery_points_[1].first + kRateSpan <= now) delivery_points_.pop_front();
  const auto& [t0, d0] = delivery_points_.front();
  if (t0 + kRateSpan <= now) {
    rate_.Add(now, static_cast<double>(delivered_ - d0) / Seconds(now - t0));
  } else if (const Time interval = now - send.delivered_at; interval > Time(0) && rate_.samples.empty()) {
    rate_.Add(now, static_cast<double>(delivered_ - send.delivered) / Seconds(interval));
  }
  const double rate = delivery_rate();
  const double transmit = rate > 0 ? static_cast<double>(send.bytes) / rate : 0;
  const double rtt = Seconds(now - send.sent);
  // The base latency: the least (round trip - transmission) over recent answers,
  // worked out again with the current rate estimate each time (an early, low estimate
  // would otherwise leave too small a sample in the window for its whole span). From
  // the smallest reads seen (at most 16 KiB, else at most the smallest copy, else any):
  // their transmission depends least on the estimate. A sample is at least half its
  // round trip: a link that lets bursts through (nbdkit's rate filter is a token
  // bucket) sends a read far faster than its long-run rate says.
  const int tier = send.bytes <= kSmallRead ? 0 : send.bytes <= options_.min_chunk ? 1 : 2;
  if (tier < base_tier_) {
    base_samples_.clear();
    base_tier_ = tier;
  }
  if (tier == base_tier_) {
    base_samples_.push_back({now, rtt, send.bytes});
    while (base_samples_.size() > kBaseSamples || base_samples_.front().at + kBaseWindow < now) base_samples_.pop_front();
  }
  double base = std::numeric_limits<double>::max();
  for (const BaseSample& b : base_samples_) {
    base = std::min(base, std::max(b.rtt / 2, b.rtt - (rate > 0 ? static_cast<double>(b.bytes) / rate : 0)));
  }
  base_s_ = base_samples_.empty() ? 0 : base;
  if (!app) return;
  const double q = std::clamp(rtt - Seconds(base_latency()) - transmit, 0.0,
                             rate > 0 ? static_cast<double>(send.copies_ahead) / rate : 0.0);
  queue_delay_s_ = have_queue_sample_ ? (1 - kEwma) * queue_delay_s_ + kEwma * q : q;
  have_queue_sample_ = true;
  const double target = Seconds(latency_target());
  if (q > kHalveAt * target && now - last_halved_ >= std::max(base_latency(), Time(std::chrono::milliseconds(1)))) {
    // Below half a chunk the budget allows nothing: only the floor rate moves the copy.
    active_budget_ = active_budget_ / 2 < static_cast<double>(options_.min_chunk) / 2 ? 0 : active_budget_ / 2;
    last_halved_ = now;
  }
  last_q_ = q;
}

void SourceLink::OnAppRead(Time now) {
  if (!AppActive(now)) {
    // The application starts (again): the window starts at what the model says keeps
    // its queueing delay at the target.
    // The start: the bandwidth-delay product keeps the link full, and the target's worth
    // of bytes more is what a read may find queued ahead of it (LEDBAT's equilibrium).
    const double rate = delivery_rate();
    active_budget_ = rate > 0 ? rate * Seconds(base_latency() + latency_target())
                              : static_cast<double>(kUnmeasuredActiveChunks * options_.min_chunk);
    active_budget_ = std::clamp(active_budget_, static_cast<double>(options_.min_chunk), static_cast<double>(IdleBudget()));
    last_q_.reset();
  }
  last_app_ = now;
}

void SourceLink::OnCopyAnswered(uint64_t bytes, Time now) {
  if (!AppActive(now) || !last_q_) return;
  // LEDBAT's window update (RFC 6817 2.4.2), per copy bytes answered, with the smallest
  // chunk as the segment: off_target in [-1, 1]. The window may reach zero (then the
  // floor rate alone moves the copy).
  const double target = Seconds(latency_target());
  const double off = std::clamp((target - *last_q_) / target, -1.0, 1.0);
  const double mss = static_cast<double>(options_.min_chunk);
  active_budget_ += kGain * off * static_cast<double>(bytes) * mss / std::max(active_budget_, mss);
  active_budget_ = std::clamp(active_budget_, 0.0, static_cast<double>(IdleBudget()));
}

bool SourceLink::AppActive(Time now) const { return last_app_ && now - *last_app_ < options_.active_hold; }

uint64_t SourceLink::IdleBudget() const {
  const double rate = delivery_rate();
  if (rate <= 0) return options_.idle_floor;  // unmeasured: the first round trip only
  // BBR's cwnd gain of 2 over the bandwidth-delay product, plus two chunks in transit;
  // at least idle_floor (a local disk wants many requests)...
  const double bdp = rate * Seconds(base_latency());
  const uint64_t want = std::max<uint64_t>(options_.idle_floor, static_cast<uint64_t>(2 * bdp) + 2 * options_.max_chunk);
  // ... but never more queue than an application read arriving out of the blue should
  // meet: on a slow link 8 MiB is seconds of it.
  const uint64_t cap = static_cast<uint64_t>(bdp + rate * Seconds(options_.idle_queue)) + 2 * options_.min_chunk;
  return std::min(want, cap);
}

uint64_t SourceLink::Budget(Time now) const {
  if (!AppActive(now)) return IdleBudget();
  return static_cast<uint64_t>(active_budget_);
}

uint64_t SourceLink::FloorRate() const {
  if (options_.min_rate) return options_.min_rate;
  const double rate = delivery_rate();
  return rate > 0 ? std::max<uint64_t>(1, static_cast<uint64_t>(rate / 10)) : kUnmeasuredFloorRate;
}

bool SourceLink::FloorDue(uint64_t copy_in_flight, Time now) const {
  return copy_in_flight == 0 && now >= floor_next_;
}

void SourceLink::OnFloorCopy(uint64_t bytes, Time now) {
  // Credit for a turn taken late carries over, up to one copy's worth.
  const Time d = FromSeconds(static_cast<double>(bytes) / static_cast<double>(FloorRate()));
  floor_next_ = std::max(floor_next_, now - d) + d;
}

uint64_t SourceLink::ChunkLimit(Time now) const {
  if (delivery_rate() <= 0) return options_.max_chunk;
  return std::clamp(FloorPow2(Budget(now) / 2), options_.min_chunk, options_.max_chunk);
}

double SourceLink::delivery_rate() const { return rate_.Best(Time(0)).value_or(0); }

SourceLink::Time SourceLink::base_latency() const { return FromSeconds(base_s_); }

SourceLink::Time SourceLink::latency_target() const {
  if (options_.latency_target > Time(0)) return options_.latency_target;
  // A quarter of the base latency (DESIGN.md), but no less than kTargetChunks of the
  // smallest copies' transmission: a read arriving while one is on the link waits for the rest
  // of it, so a tighter target cannot be met by any copy at all and would hold the
  // migration to its floor rate (measured: docs/design-notes.md "The link controller").
  const double rate = delivery_rate();
  const Time chunks = rate > 0 ? FromSeconds(kTargetChunks * static_cast<double>(options_.min_chunk) / rate) : Time(0);
  return std::max<Time>({std::chrono::microseconds(100), base_latency() / 4, chunks});
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
