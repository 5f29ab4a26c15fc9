// ferry/live.h: a live migration, the engine behind `ferry serve` (DESIGN.md "The live
// request path" and "Data safety").
//
// The application keeps using the volume while it moves: every request goes through
// LiveMigration, which serves it from the destination when the destination holds the
// current data of every granule it touches, and otherwise first copies the missing
// granules from the source (a demand copy, the highest priority) or waits for a copy
// already in flight. Meanwhile background threads copy the rest in the scheduler's
// order, and every request feeds the heat map and the predictor, whose predictions are
// copied ahead of the background order.
//
// The invariants it keeps (DESIGN.md numbers):
//   1 the source is only read;
//   2 a granule is read from the destination only once it is present (copied, or
//     written whole by the application);
//   3 a write to a granule whose copy is in flight waits for that copy, then lands;
//   4 a write that covers part of a missing granule first brings the granule in; a
//     write covering whole granules skips their copy;
//   5 the journal records a granule only after its destination data is flushed, on
//     every Flush() (and FUA request) and at least every commit_interval;
//   6 restarting with the same journal after a crash at any instant continues and ends
//     with the destination a crash-free run gives (writes never flushed excepted).
// Once every granule is present the migration is complete: the journal says so, the
// background threads end, and requests go to the destination alone.
//
// Thread-safe: requests may come from many threads (nbdkit's parallel thread model).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ferry/engine.h"
#include "ferry/export.h"
#include "ferry/journal.h"
#include "ferry/policy.h"
#include "ferry/predictor.h"
#include "ferry/status.h"
#include "ferry/volume.h"

namespace ferry {

// The source link as the engine models it (DESIGN.md "The source link").
struct LiveLink {
  double base_latency_ms = 0;    // least round trip, less transmission
  double delivery_rate = 0;      // bytes/s
  double queue_delay_ms = 0;     // smoothed wait of the application's source reads behind others
  double latency_target_ms = 0;  // the queueing delay the controller holds copies to
  uint64_t in_flight = 0;        // source read bytes in flight, every kind
  uint64_t copy_in_flight = 0;   // of which copies (background, prefetch)
  uint64_t budget = 0;           // copy bytes the controller allows in flight
  bool app_active = false;       // the application waited on the source recently
};

// What a live migration has done so far.
struct LiveStats {
  uint64_t volume_size = 0;
  uint64_t present_bytes = 0;      // destination holds the current data
  uint64_t bytes_copied = 0;       // read from the source and written, this run
  uint64_t bytes_resumed = 0;      // present from the journal at the start
  uint64_t reads = 0, writes = 0;  // application requests, this run
  uint64_t read_stalls = 0;        // reads that waited for the source
  // Why (sched/prediction_path.h): no granule the read missed was accessed before (in
  // the history or this run), or one was; they sum to read_stalls.
  uint64_t read_stalls_first_touch = 0, read_stalls_seen = 0;
  uint64_t prevented_stalls = 0;   // reads served from granules a prediction brought
  uint64_t reads_kept = 0;         // reads of missing bytes a read-through brought before (no wait)
  uint64_t write_stalls = 0;       // writes that waited for a copy (invariants 3, 4)
  uint64_t demand_bytes = 0;       // copied because a request waited for them
  uint64_t copy_errors = 0;        // copies that failed after their retries
  uint64_t copies_under_way = 0;   // copies sent and not yet done (read or write in flight)
  uint64_t read_errors = 0;        // application reads the source failed (EIO to the client)
  uint64_t read_through_bytes = 0; // application reads answered from the source
  VolumeHealth source;             // the source's connection: outages, time without it
  LiveLink link;                   // the source link now (sched/link.h)
  uint64_t predicted_bytes = 0;    // missing when predicted, queued on the predictor's word
  double precision = 0, recall = 0, timeliness = 0;  // the predictor's (predict/predictor.h)
  uint64_t predictions_skipped = 0;  // accesses the predictor fell too far behind to see
  // The predictor is still learning the history (--history) on its own thread: its
  // predicted continuation is not queued yet; the copy meanwhile follows the heat.
  bool learning_history = false;
  // MigrateOptions::make_predictor failed: why (the copy goes on without predictions).
  std::string predictor_error;
  bool complete = false;
  bool paused = false;
  std::string paused_reason;        // why, while paused: the operator, or a destination error
  uint64_t destination_pauses = 0;  // times a destination error paused the copy
  std::string conclusion;           // serve --verify: the verify and release, once complete
  double seconds = 0;           // since the start of this run
  double complete_seconds = 0;  // since the start, when the destination became complete (if complete)
  double rate_bps = 0;  // recent background + demand copy rate
  double read_p50_us = 0, read_p99_us = 0;  // time in ferry, over the whole run
  // Over the reads that waited for the source (read_stalls of them, this many bytes).
  double read_miss_p50_us = 0, read_miss_p99_us = 0;
  uint64_t read_miss_bytes = 0;
  double write_p50_us = 0, write_p99_us = 0;  // time in ferry, over the whole run
  // Over the writes that waited for a copy (write_stalls of them): a partly written
  // missing granule brought in first, or a copy in flight landing first.
  double write_wait_p50_us = 0, write_wait_p99_us = 0;
  std::string last_error;
};

// The time a summary gives: when the destination became complete, or, before that, how
// long the run has gone on.
inline double MigrationSeconds(const LiveStats& st) { return st.complete ? st.complete_seconds : st.seconds; }

// The share of the volume present, in percent (100 for an empty volume).
inline double PercentPresent(const LiveStats& st) {
  return st.volume_size ? 100.0 * static_cast<double>(st.present_bytes) / static_cast<double>(st.volume_size) : 100.0;
}

// What a live migration did over time, for its report (report/live_report.h). One row
// per interval of about a second; when there are more than kMaxRows, neighbours merge
// and each row covers twice as long.
struct LiveRow {
  double start_s = 0, end_s = 0;  // seconds since the start
  uint64_t present_bytes = 0;     // at the end of the row
  uint64_t demand_bytes = 0, prefetch_bytes = 0, background_bytes = 0;  // made present by copies
  uint64_t read_through_bytes = 0;  // application reads answered from the source
  LiveLink link;                    // at the end of the row
  uint64_t reads = 0, read_stalls = 0, writes = 0, write_stalls = 0;
  std::vector<uint64_t> read_latency;  // LatencyHistogram counts (common/latency_histogram.h)
  // Over the volume's offsets in `LiveHistory::map_bins` equal bins: bytes the
  // application read or wrote, and bytes copies made present.
  std::vector<uint64_t> io_map, copy_map;
};
struct LiveHistory {
  static constexpr size_t kMaxRows = 512;
  uint64_t volume_size = 0;
  size_t map_bins = 0;
  std::vector<LiveRow> rows;
  std::vector<uint64_t> read_latency, write_latency;  // the whole run's histograms
  std::vector<uint64_t> missed_read_latency;          // of the reads that waited for the source
  std::vector<uint64_t> waited_write_latency;         // of the writes that waited for a copy
  // When the source's connection was lost, and for how long (to the second the
  // recorder samples at; `ongoing`: still lost at the last sample).
  struct Outage {
    double start_s = 0, seconds = 0;
    bool ongoing = false;
  };
  std::vector<Outage> outages;
};

class LiveMigration final : public Export {
 public:
  // Starts migrating `source` to `destination` (at least as large), resuming from
  // `journal` when it records progress. `predictor` may be null. Background threads
  // start at once; options.cancel and on_progress are not used. options.history, when
  // given, feeds the heat map before Start returns and is not used after it (a copy is
  // kept); the predictor learns it on its own thread (its training, then its predicted
  // continuation queued first: stats().learning_history until then), so that Start
  // does not wait for a model's training.
  // `on_complete`, when set, is called once (from a background thread) when the last
  // granule is present and the journal says so.
  static Result<std::unique_ptr<LiveMigration>> Start(std::unique_ptr<Volume> source,
                                                      std::unique_ptr<Volume> destination,
                                                      std::unique_ptr<Journal> journal,
                                                      std::shared_ptr<Predictor> predictor,
                                                      const MigrateOptions& options,
                                                      std::function<void()> on_complete = nullptr);
  // Stops (see Stop()).
  ~LiveMigration() override;

  uint64_t size() const override;
  VolumeCapabilities destination_capabilities() const;

  // The request path. Errors are the volume's (kIoError for a source read that failed
  // after its retries: the caller reports EIO, never data it does not have).
  Status Read(uint64_t offset, std::span<std::byte> buf) override;
  Status Write(uint64_t offset, std::span<const std::byte> buf, bool fua) override;
  Status Zero(uint64_t offset, uint64_t length, bool fua) override;
  // Whole granules of the range are discarded on the destination and need no copy;
  // the partial ends are left alone (a discard is advisory).
  Status Trim(uint64_t offset, uint64_t length, bool fua) override;
  // Flushes the destination, then commits the journal (invariant 5).
  Status Flush() override;
  // Allocation: the destination's for present granules, the source's for the rest.
  Status Extents(uint64_t offset, uint64_t length, std::vector<Extent>* out) override;
  // A client's hint that it will read the range soon: queued as a prefetch.
  void Cache(uint64_t offset, uint64_t length) override;

  // Control: pause or resume the background copy (requests are still served, copying
  // on demand; a pause returns once the copies already started are done); change the source read rate of the background copy (0: unlimited).
  void Pause(bool paused);
  void SetRate(uint64_t bytes_per_second);

  LiveStats stats() const;
  LiveHistory history() const;
  // The migration's end (serve --verify --release-source): whether the application
  // wrote any granule of the range (such data is its own, not the source's); empty, or
  // why the set of written granules is not complete (then no release); and a journal
  // state recorded (kVerified, kReleased) once complete.
  bool Written(uint64_t offset, uint64_t length) const;
  std::string WrittenUnknown() const;
  Status RecordState(JournalState state);
  // What the end did, for status and the summary ("verifying", "verified: ...").
  void SetConclusion(std::string conclusion);
  // Once complete (null before), the volume, read-only: the destination, for the
  // verify. It must not outlive this.
  std::unique_ptr<Volume> View();
  // Stops the background copy, waits for copies in flight and commits the journal.
  // Requests after Stop() still work (on demand only). Idempotent.
  Status Stop();

 private:
  struct Impl;
  explicit LiveMigration(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Opens what a migration needs, with every check made before anything is written: the
// source read-only; the journal (its identity checked, invariant 7) or, when `journal`
// names no file yet, checks that one can be created; the destination writable (a
// missing regular file is created at the source's size) and at least as large as the
// source; then creates the journal. `journal` may be empty (no journal).
// `source_timeout`: an NBD source reconnects after losing its server, and its requests
// wait this long for it (OpenOptions::reconnect_timeout; zero: no reconnection).
// `bulk_copy`: nothing reads the destination while it is copied, so a file destination
// drops the pages it has written back from the page cache (OpenOptions::evict_written);
// false for a live migration, whose application reads them.
struct OpenedMigration {
  std::unique_ptr<Volume> source, destination;
  std::unique_ptr<Journal> journal;
};
Result<OpenedMigration> OpenMigration(const std::string& source, const std::string& destination,
                                      const std::string& journal, uint64_t granule_size,
                                      std::chrono::milliseconds source_timeout, bool bulk_copy);

}  // namespace ferry
