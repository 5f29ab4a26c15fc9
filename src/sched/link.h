// SourceLink: a live model of the link to the source and the controller that decides
// how many copy bytes may be on it (DESIGN.md "The source link"). Pure policy like the
// Scheduler that owns it: it is told when source reads are sent and answered (copies
// and the application's read-throughs alike), and when the application makes a
// request; the clock is injected. The engine and the simulator feed it the same way,
// so the simulator's latencies are the live ones.
//
// The model, after BBR (Cardwell et al., ACM Queue 2016):
// - delivery rate: the most bytes per second delivered over a recent window (BBR's
//   windowed max filter of rate samples), each sample over at least 10 ms and four
//   round trips of the copies (a server that answers in bunches is not overestimated);
//   when the link, kept full for 250 ms, served under half of it even counting what is
//   still in flight, what it answered (a token bucket's burst is not taken for its
//   rate: BBR's policer detection, SourceLink::DetectPolicer);
// - base latency: the least of recent requests' (round trip - bytes / delivery rate),
//   BBR's min-RTT with the transmission time of the request itself taken out, from
//   requests sent onto an empty link; when none has been for 5 s, copies drain for at
//   most 200 ms so that one is (BBR's ProbeRTT);
// - queueing delay of a request: round trip - base latency - bytes / delivery rate:
//   what it waited behind other bytes on the link. For an application read, only the
//   part that copies can explain counts (at most the copy bytes in flight when it was
//   sent, over the delivery rate): the application's own reads queue behind each other
//   whatever the copy does, and holding the copy back for them would only slow it.
//
// The controller sets the copy (background + prefetch) bytes in flight:
// - the application idle (no read of it waited on the source for `active_hold`; reads
//   of present data do not count, they never touch the link): the bandwidth-delay product
//   plus two chunks, so the link never drains between requests (a pipe of requests of
//   size S needs BDP + S in flight), and at least `idle_floor` bytes, but no more
//   than the BDP plus `idle_queue` of the delivery rate (an application read arriving
//   then meets that much queue: 10 ms by default);
// - the application active: LEDBAT (RFC 6817) on the queueing delay the application's
//   own source reads saw: the budget grows while it is under `latency_target` (by the
//   bytes answered, TCP's slow start, until two reads in a row see the set point; then by a
//   chunk per round trip) and shrinks in proportion when it is over, between one
//   minimum chunk and the idle budget; until such a sample comes, the bandwidth-delay
//   product plus the target's worth of bytes. As in DRBD's resync controller (c-min-rate), a floor rate still
//   moves the copy when the budget allows nothing: the migration always ends.
// Thread-compatible: callers serialise access (the engine holds its lock).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>

namespace ferry {

struct LinkOptions {
  // The queueing delay an application's source read may see behind copies.
  // Default (zero): a quarter of the base latency, and at least three smallest copies'
  // transmission time (a tighter target no copy can meet) and 100 us; where the
  // application's reads are at least a smallest copy's size and their transmission
  // takes longer than the base latency, at most half their own time on the link (base
  // latency + mean size / delivery rate), but not under one copy's.
  std::chrono::nanoseconds latency_target{0};
  // Copy bytes per second that go on while the application is active, whatever the
  // delay. Default (zero): a tenth of the delivery rate.
  uint64_t min_rate = 0;
  // The application counts as active while it waits on a source read, and this long
  // after.
  // Default: 200 ms, a hundred round trips of a 2 ms link: misses that close together
  // come from one burst of the application.
  std::chrono::nanoseconds active_hold{std::chrono::milliseconds(200)};
  // Copy bytes in flight while idle, at least. Default: 8 MiB (eight 1 MiB chunks:
  // what a local disk wants, measured best for file and NBD copies, docs/benchmarks.md).
  uint64_t idle_floor = 8 << 20;
  // While idle, copies in flight are held to what a read arriving then meets as
  // queueing: the bandwidth-delay product plus this much time on the link (plus two
  // smallest copies). Default: 10 ms (an 8 MiB floor is 1.6 s on a 40 Mbit/s link;
  // 50 ms gave the anchor benchmark a read p99.9 of 28 ms against 4 ms before).
  std::chrono::nanoseconds idle_queue{std::chrono::milliseconds(10)};
  uint64_t min_chunk = 64 << 10;  // Default: 64 KiB, the smallest copy.
  uint64_t max_chunk = 2 << 20;   // Default: 2 MiB.
};

// A source read as the link sees it; returned by OnSend, handed back to OnAnswer.
struct LinkSend {
  std::chrono::nanoseconds sent{0};
  uint64_t bytes = 0;
  uint64_t delivered = 0;                        // bytes answered before this send
  uint64_t copies_ahead = 0;                     // copy bytes in flight when it was sent
  bool app = false;                              // the application waits for it
  bool alone = false;                            // nothing else was in flight
  // An application read sent while the copies sent under the idle budget, before the
  // application started, were still in flight beyond what the active window allows
  // (plus one chunk): the queue it meets says nothing about the window (OnAppAnswer).
  bool idle_backlog = false;
  std::chrono::nanoseconds delivered_at{0};      // when the last of those was answered
};

// What the model says now (status, reports).
struct LinkSnapshot {
  double base_latency_s = 0;
  double delivery_rate = 0;      // bytes/s
  double queue_delay_s = 0;      // smoothed over the application's source reads
  double latency_target_s = 0;
  uint64_t in_flight = 0;        // every source read in flight
  uint64_t budget = 0;           // copy bytes allowed in flight now
  bool app_active = false;
};

class SourceLink {
 public:
  using Time = std::chrono::nanoseconds;

  explicit SourceLink(const LinkOptions& options);

  // A source read of `bytes` goes out at `now`; `app`: the application waits for it.
  LinkSend OnSend(uint64_t bytes, bool app, Time now);
  // Its answer came at `now`. An application read's (send.app) queueing delay steers
  // the budget.
  void OnAnswer(const LinkSend& send, Time now);
  // The read failed or was abandoned: only in flight changes.
  void OnFailed(const LinkSend& send);
  // The application waits for a source read from `now` (OnSend with `app` says so).
  void OnAppRead(Time now);
  // Copy bytes answered (for the floor rate and the budget's growth).
  void OnCopyAnswered(uint64_t bytes, Time now);

  bool AppActive(Time now) const;
  // Whether more is in flight on the link (every source read) than the bandwidth-delay
  // product plus the latency target's worth: a read sent now queues past the target.
  // False before the link is measured.
  bool Congested() const;
  // Whether a source read the application sends now is expected to be answered before a
  // copy whose read was sent at `copy_sent`. Only on a link seen to answer the
  // application's reads before copies sent earlier (most of the recent ones were): a
  // server that shares its bandwidth among the requests on it (nbdkit's rate filter;
  // flows sharing a network path) answers a small read among large copies at once
  // (against nbdkit's rate filter at 400 Mbit/s, 4 KiB reads took 2.9 ms at the median
  // while 13 copies of 64 KiB were in flight, the copies 15.8 ms). There, when the
  // application's reads' smoothed round trip ends before the copies' does. On a first
  // come first served link never: a copy sent earlier is answered first.
  bool ReadBeforeCopy(Time copy_sent, Time now) const;
  // Whether the link answers the application's reads before copies sent earlier (most
  // of the recent ones were): it shares its bandwidth among the requests on it.
  bool SharesPerRequest() const { return overtaking_ > 0.5; }
  // When the application turns idle unless it makes another request (zero: it is idle).
  Time ActiveUntil() const { return last_app_ ? *last_app_ + options_.active_hold : Time(0); }
  // When the floor rate is owed its next copy.
  Time FloorNext() const { return floor_next_; }
  // Copy bytes that may be in flight now.
  uint64_t Budget(Time now) const;
  // Whether a copy may start despite the budget: nothing of the copy is in flight and
  // the floor rate is owed one (`copy_in_flight`: copy bytes in flight now).
  bool FloorDue(uint64_t copy_in_flight, Time now) const;
  // A copy started under the floor: the next is owed after bytes / floor rate.
  void OnFloorCopy(uint64_t bytes, Time now);
  // The largest chunk worth issuing now: half the budget (two in flight keep the link
  // busy), between min and max chunk.
  uint64_t ChunkLimit(Time now) const;
  // The smallest chunk worth issuing now when at most `requests` copies may be in
  // flight: the budget over that many (smaller chunks could not fill the link: on a
  // latency-bound link a hot 64 KiB chunk costs a whole round trip, and 64 of them hold
  // a fraction of the bandwidth-delay product), between min chunk and ChunkLimit.
  uint64_t ChunkFloor(uint32_t requests, Time now) const;
  // Whether a chunk larger than `chunk` bytes could move more: only while a chunk's
  // transmission at the delivery rate is shorter than the base latency (the round trip
  // is what a larger chunk amortises). True before the link is measured.
  bool LargerChunkPays(uint64_t chunk) const;

  double delivery_rate() const;     // bytes/s; 0 until measured
  Time base_latency() const;        // zero until measured
  Time latency_target() const;
  uint64_t in_flight() const { return in_flight_; }
  LinkSnapshot Snapshot(Time now) const;

 private:
  // The parts of OnAnswer: the delivery rate's sample, the base latency's (and
  // ProbeRTT), and an application read's queueing delay with the window's response.
  void SampleDeliveryRate(const LinkSend& send, Time now);
  void DetectPolicer(Time now);
  void NoteFill(Time now);
  void UpdateBaseLatency(const LinkSend& send, Time now, double rtt, double rate);
  void OnAppAnswer(const LinkSend& send, Time now, double rtt, double rate);
  // BBR's windowed max filter over (time, value) samples: a monotone deque.
  struct WindowedMax {
    Time window{0};
    std::deque<std::pair<Time, double>> samples;
    void Add(Time t, double v);
    // The window's largest value; an expired one stays until the next sample, so a quiet
    // link keeps its last measurement (as BBR does). 0 before any sample.
    double Best() const { return samples.empty() ? 0 : samples.front().second; }
  };
  uint64_t IdleBudget() const;
  uint64_t FloorRate() const;

  LinkOptions options_;
  WindowedMax rate_{std::chrono::seconds(2), {}};
  // (when, bytes answered by then) over the policer window (DetectPolicer).
  std::deque<std::pair<Time, uint64_t>> policer_points_;
  Time last_unfilled_{0};  // when the link last held less than its bandwidth-delay product
  uint64_t uncounted_until_ = 0;  // delivery rate samples count answers beyond this many bytes
  struct BaseSample {
    Time at;
    double rtt = 0;  // s
    uint64_t bytes = 0;
  };
  std::deque<BaseSample> base_samples_;
  double base_s_ = 0;
  double base_rate_ = 0;  // the delivery rate base_s_ was worked out with
  bool alone_seen_ = false;  // an answer to a read sent onto an empty link came
  Time last_alone_{0};
  bool probing_ = false;     // draining copies so a read goes out alone (ProbeRTT)
  Time probe_start_{0};
  uint64_t in_flight_ = 0;
  uint64_t copy_in_flight_ = 0;  // of which copies (not the application's reads)
  uint64_t delivered_ = 0;
  std::deque<std::pair<Time, uint64_t>> delivery_points_;  // (when, delivered_ then), the last rate span
  double copy_srtt_s_ = 0;  // smoothed round trip of the copies' source reads
  double app_srtt_s_ = 0;   // ... and of those the application waits for
  std::multiset<Time> copy_sends_;  // when each copy in flight was sent
  double overtaking_ = 0;   // share of the application's reads answered before an earlier copy (EWMA)
  Time delivered_at_{0};
  std::optional<Time> last_app_;  // the application's last source read: sent or answered
  uint64_t app_in_flight_ = 0;     // its source reads in flight
  double queue_delay_s_ = 0;   // EWMA of the application's samples
  double app_read_bytes_ = 0;  // EWMA of the application's source reads' sizes (0: none yet)
  bool have_queue_sample_ = false;
  double active_budget_ = 0;   // LEDBAT's window while active (0: not started)
  std::optional<double> last_q_;  // the latest application queueing sample (s) this activity
  bool slow_start_ = false;       // no application read has seen the set point this activity
  int slow_start_over_ = 0;       // application reads in a row at the set point
  uint64_t idle_backlog_end_ = 0;  // delivered_ once all sent before this activity are answered
  Time last_halved_{0};
  Time floor_next_{0};
};

}  // namespace ferry
