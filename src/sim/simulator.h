// Simulator: replays a block trace against a modelled migration driven by the real
// Scheduler (DESIGN.md "Evaluation"), with a virtual clock, a device model and the
// metrics `ferry simulate` reports.
//
// Scenario: the volume is the trace's highest offset (or volume_size). The first
// `warmup` share of the trace's time span is only observed (it feeds the heat map);
// then the migration starts and the application runs against the destination. The
// source link is the one the benchmarks put nbdkit's delay and rate filters in front of:
// each source read waits `source_latency`, then its bytes pass through a link of
// `source_bw` shared by every copy and read-through, first come first served (a read
// waits behind copies already sent: what the link controller of sched/link.h limits,
// fed by this model exactly as the engine feeds it); the default bandwidth makes a bare
// copy take half of the remaining trace time (`shared_link`: a read-through passes the
// copies instead, as under nbdkit's rate filter). The destination has `dest_latency`.
//
// The application is replayed open-loop at the trace's times. A read whose granules are
// all present costs dest_latency; otherwise it stalls: adaptive, clairvoyant and
// dm-clone answer it with a source read of exactly its bytes (adaptive and clairvoyant
// then queue its granules first); heat and qemu-stream fetch the missing granules
// (demand copies; the read completes when its own granules land). A write that partly
// covers a missing granule first brings it in (read-modify-write); a write to a granule
// whose copy is in flight waits for it (invariants 3 and 4); a write covering whole
// granules makes them present with no copy. Either wait is a write stall.
//
// Deterministic: the same events and scenario give the same result.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/interval_set.h"
#include "ferry/io_event.h"
#include "ferry/policy.h"
#include "ferry/range.h"
#include "ferry/status.h"

namespace ferry {

struct SimScenario {
  uint64_t granule_size = 64 << 10;  // Default: 64 KiB.
  uint64_t min_chunk = 64 << 10;     // Default: the granule.
  uint64_t max_chunk = 2 << 20;      // Default: 2 MiB.
  std::chrono::nanoseconds source_latency{std::chrono::milliseconds(2)};   // Default: 2 ms.
  uint64_t source_bw = 0;            // bytes/s; 0: a bare copy takes half the migration window.
  uint64_t rate = 0;                 // bytes/s the background and prefetch copies are paced to
                                     // (ferry's --rate; demands never wait for it); 0: unpaced.
  std::chrono::nanoseconds dest_latency{std::chrono::microseconds(100)};   // Default: 100 us.
  double warmup = 0.25;              // share of the trace span observed before the migration.
  // The first `history_events` events are a recorded history (`--history`), all before
  // the trace's first event: observed only. The warm-up share and the default
  // bandwidth then count over the rest, the trace.
  size_t history_events = 0;
  double time_scale = 1.0;           // trace times are multiplied by this.
  uint64_t volume_size = 0;          // 0: the highest offset, rounded up to the granule.
  int max_in_flight = 64;            // copies in flight at most (the engine's --requests).
  // The link controller (sched/link.h; ferry serve's --latency-target and --min-rate):
  // zero takes its defaults.
  std::chrono::nanoseconds latency_target{0};
  uint64_t min_rate = 0;
  bool adapt_chunk_size = true;      // cold chunks from measured (virtual) throughput.
  // The link shares its bandwidth among the requests on it, as nbdkit's rate filter does
  // (`--source-link shared`): what the application waits for (a read-through, a demand
  // copy) passes the copies ahead of it, taking its share (its bytes times the requests
  // on the link), rather than waiting for them (first come first served, the default).
  // The other copies stay in order.
  bool shared_link = false;
  // A token bucket in front of the link holding this long of its bandwidth, full at the
  // start and refilled while the link is idle (`--source-burst`): what it holds crosses
  // at once, the rest at the bandwidth. nbdkit's rate filter, which the benchmarks
  // measure against, is one of 2 s (its burstiness); cloud disks' burst credits work the
  // same way. Default: zero, none.
  std::chrono::nanoseconds source_burst{0};
  // How fast the bucket's bytes cross (`--source-burst-bw`): the speed of what is behind
  // it (nbdcopy read 90 MiB through nbdkit's rate filter at 400 Mbit/s with its bucket
  // full at 159 MiB/s on the benchmarks' machine). Default: zero, at once.
  uint64_t source_burst_bw = 0;
  // Requests the source's server works on at once (`--source-threads`; sim/sim_link.h):
  // nbdkit's threads per connection, 16 by default. Default: zero, any number.
  int source_threads = 0;
  // The source's ranges that read as zero (holes; `ferry simulate --source`): copied
  // with no source read, as the engine does. Null: every byte is data.
  std::shared_ptr<const IntervalSet> source_zero;
};

// The scenario with its defaults worked out for one trace.
struct ResolvedScenario {
  SimScenario s;
  uint64_t volume_size = 0;
  uint64_t source_bw = 0;
  std::chrono::nanoseconds trace_start{0}, trace_end{0}, migration_start{0};
  uint64_t events = 0, warmup_events = 0, clipped_events = 0;
  uint64_t reads_after_start = 0;
  uint64_t data_bytes = 0;  // the volume less the source's zero ranges
};

// A resolved scenario's times, in seconds: the trace's span, when the migration
// starts (from the trace's start), how much of the trace runs after it, and how long
// a bare copy of the data takes at the link's bandwidth (or at the rate, when lower).
struct ScenarioTimes {
  double trace_span_s = 0, migration_start_s = 0, migration_window_s = 0, bare_copy_s = 0;
};
ScenarioTimes TimesOf(const ResolvedScenario& r);

// Scales and sorts `events` by time (stable) in place and works out the scenario;
// kInvalidArgument when the trace is empty or an option is unusable.
Result<ResolvedScenario> ResolveScenario(std::vector<IoEvent>& events, const SimScenario& scenario);

// The scenario of a real source volume (`ferry simulate --source SRC`): its size (when
// the scenario has none) and its holes, as the engine would find them. Errors name SRC.
Status ReadScenarioSource(const std::string& source, SimScenario* scenario);

// Puts a recorded history before the trace `events`, shifted in time to end a
// millisecond before the trace's first event. Returns the history's size, for
// SimScenario::history_events (0, and nothing changed, when either is empty).
size_t PrependHistory(std::vector<IoEvent> history, std::vector<IoEvent>* events);

struct LatencySummary {
  double p50 = 0, p99 = 0, p999 = 0, mean = 0;
};

struct SimResult {
  Policy policy = Policy::kAdaptive;
  std::string predictor = "none";
  uint64_t reads = 0, read_stalls = 0, writes = 0, write_stalls = 0;
  // Why reads stalled (sched/prediction_path.h): a granule never accessed before (in
  // the warm-up or the run), or one accessed and not yet copied; they sum to
  // read_stalls. prevented_stalls: reads served from granules a prediction brought.
  uint64_t read_stalls_first_touch = 0, read_stalls_seen = 0, prevented_stalls = 0;
  // Reads of missing bytes an earlier read-through's kept answer served (no stall).
  uint64_t reads_kept = 0;
  double read_stall_ratio = 0;
  LatencySummary read_latency_us;
  bool completed = false;
  double migration_time_s = 0;
  uint64_t bytes_from_source = 0;
  uint64_t copy_ops = 0, demand_ops = 0;
  uint64_t replans = 0;
  // Prediction (predictor != "none"): see predict/predictor.h. wasted_bytes: granules
  // prefetched on a prediction and not accessed afterwards in the trace;
  // predicted_bytes: granules missing when predicted, queued (as LiveStats').
  double precision = 0, recall = 0, timeliness = 0;
  uint64_t wasted_bytes = 0, predicted_bytes = 0;
  double predict_cpu_s = 0, train_cpu_s = 0;
  // For reports: sorted read latencies (us); progress points (s since the migration
  // start, share present); the times of stalled reads (s since the start).
  std::vector<double> read_latencies_us;
  std::vector<std::pair<double, double>> progress;
  std::vector<double> stall_times_s;
};

struct SimOptions {
  // Called for each copy the scheduler issues (the decision log).
  std::function<void(const Range&)> on_copy;
  // A predictor (MakePredictor's names) whose predictions become prefetch requests;
  // used by the adaptive and heat policies, "none" for the others. A learned model
  // trains on the accesses before the migration start (or starts from `model`), then
  // retrains inline (the simulator's time is not the wall clock's, and its results are
  // deterministic); that CPU time is train_cpu_s.
  std::string predictor = "none";
  std::string model;  // PredictorConfig::model
};

// Runs one policy over the resolved scenario (events as ResolveScenario left them).
// A predictor MakePredictor refuses is a programmer error (the CLI checks first).
SimResult Simulate(const std::vector<IoEvent>& events, const ResolvedScenario& scenario, Policy policy,
                   const SimOptions& options = {});

}  // namespace ferry
