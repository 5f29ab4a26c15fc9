// ferry/engine.h: the real executor: bulk migration and verification of volumes.
//
// Migrate() copies SRC to DST with many requests in flight, skipping holes and
// all-zero blocks, with a chunk size picked from measured throughput, an optional rate
// limit, and progress kept in an optional Journal (resumable after a crash). Verify()
// compares two volumes chunk by chunk, in parallel.
//
// The source is only ever read (invariant 1); ReleaseSource() is the one exception and
// the caller invokes it last, only after a successful verify.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ferry/io_event.h"
#include "ferry/journal.h"
#include "ferry/policy.h"
#include "ferry/predictor.h"
#include "ferry/range.h"
#include "ferry/status.h"
#include "ferry/volume.h"

namespace ferry {

struct Progress {
  uint64_t total_bytes = 0;  // bytes the run has to account for
  uint64_t done_bytes = 0;   // of which done (copied, skipped, or already present)
  double elapsed_s = 0;
  double rate_bps = 0;  // recent throughput over done bytes of this run
  double eta_s = -1;    // -1: unknown
  uint64_t chunk_size = 0;
};
using ProgressFn = std::function<void(const Progress&)>;

// One copy worker per processor core, at least 2 and at most 16 (nbdcopy's default is
// the number of cores). More workers than cores only contend: on 2 cores, 8 workers
// writing one destination file took 1.06 s for a 1 GiB copy, 2 took 0.49 s, because
// the writers spin on the file's inode lock (docs/benchmarks.md).
int DefaultCopyThreads();

struct MigrateOptions {
  uint64_t granule_size = 64 << 10;  // Default: 64 KiB (dm-clone's default region).
  uint64_t min_chunk = 64 << 10;     // Default: one granule.
  uint64_t max_chunk = 2 << 20;      // Default: 2 MiB (qemu-img convert's buffer; larger measured slower here).
  // Copy workers: they send the copies' source reads and land the answers on the
  // destination. An NBD source's reads and an NBD destination's writes are asynchronous
  // (Volume::ReadAsync, WriteAsync), so a few workers keep any number in flight; a file
  // is read and written by the workers themselves, so for a file source this is also
  // the most copies in flight. Default: DefaultCopyThreads().
  int threads = DefaultCopyThreads();
  // Copy requests in flight at most. How many are in flight below it is the source link
  // controller's choice (sched/link.h). Default: 64, as nbdcopy's --requests.
  int max_in_flight = 64;
  // The queueing delay an application's source read may see behind copies while it is
  // active (live). Default (zero): a quarter of the measured base latency.
  std::chrono::nanoseconds latency_target{0};
  // Copy bytes/s that go on while the application is active. Default (zero): a tenth
  // of the measured delivery rate.
  uint64_t min_rate = 0;
  uint64_t rate_limit = 0;           // bytes/s read from the source; 0: unlimited.
  // An NBD source that loses its server is connected again; meanwhile its requests
  // wait this long from the loss, then fail (OpenOptions::reconnect_timeout; used where
  // the source is opened, OpenMigration). Default: 30 s.
  std::chrono::milliseconds source_timeout{30000};
  std::chrono::milliseconds commit_interval{1000};  // journal commit period (invariant 5).
  int max_retries = 5;               // per failing request, for retryable errors.
  std::chrono::milliseconds retry_backoff{100};  // first backoff; doubles, capped at 2 s.
  ProgressFn on_progress;            // called from the calling thread.
  std::chrono::milliseconds progress_interval{200};
  const std::atomic<bool>* cancel = nullptr;  // set to stop; the journal stays consistent.
  // The copy order (src/sched/scheduler.h). Default: adaptive (heat first, heat-sized
  // chunks; ascending when there is no access history).
  Policy policy = Policy::kAdaptive;
  // Recorded application I/O (`--history`), the access history that orders the copy: the
  // whole history counts as one heat window. Not owned; may be null.
  const std::vector<IoEvent>* history = nullptr;
  // Predicts from the history what the workload touches next (predict/predictor.h):
  // it observes the history, trains on it, and the continuation it predicts is copied
  // first, most likely first. Not owned; may be null.
  Predictor* predictor = nullptr;
  // Live, when `predictor` is null: makes the predictor on the predictor's own thread,
  // so that the start does not wait for it (the LSTM's library takes a second to load,
  // ten from a cold disk). If it fails, the copy goes on without predictions and
  // LiveStats::predictor_error says why. Called once, from that thread. `cancel` turns
  // true when the migration stops: a load or a training under way should give up
  // (PredictorConfig::cancel), so that the stop does not wait for it; it outlives the
  // predictor.
  std::function<Result<std::unique_ptr<Predictor>>(const std::atomic<bool>* cancel)> make_predictor;
  // Live: called for each application request as it arrives, before it is served
  // (reads; writes, zeroes and trims as writes), from the request's thread, no lock
  // held: `serve --record`, whose trace then holds the times the application sent them
  // (at its answer, a read that waited would be recorded its wait too late).
  std::function<void(IoOp op, uint64_t offset, uint64_t length)> on_request;
  // Called, under the engine's lock, for each copy as the scheduler issues it: the
  // decision log that tests compare with the simulator's.
  std::function<void(const Range&)> on_copy;
  // Cold chunk size from measured throughput (between min and max). Default: on.
  bool adapt_chunk_size = true;
  // Live: the background copy starts paused (dm-clone's no_hydration): requests are
  // served, copying on demand, until LiveMigration::Pause(false). Default: off.
  bool start_paused = false;
};

struct MigrateStats {
  uint64_t predicted_granules = 0;  // queued first on the predictor's word
  uint64_t volume_size = 0;
  uint64_t bytes_copied = 0;   // read from the source and written
  uint64_t bytes_skipped = 0;  // holes and zero blocks: zeroed on DST, or nothing
  uint64_t bytes_resumed = 0;  // already present from the journal
  uint64_t copy_ops = 0;
  uint64_t retries = 0;
  uint64_t final_chunk_size = 0;
  double seconds = 0;
  VolumeHealth source;  // the source's connection: outages waited out, time without it
};

// Sets the chunk range from what the user gave (0: not given): the smallest chunk
// defaults to the granule, the largest to the default (2 MiB) or the smallest if that
// is larger. Set options->granule_size first.
void SetChunkRange(MigrateOptions* options, uint64_t min_chunk, uint64_t max_chunk);

// Validates options against the volume (granule a power of two >= 4 KiB, min <= max,
// threads >= 1); kInvalidArgument naming the option otherwise.
Status ValidateMigrateOptions(const MigrateOptions& options);

// Copies `source` to `destination` (which must be at least as large). With a journal,
// granules it records as present are not copied again, and progress is committed at
// least every commit_interval and at the end. On failure or cancel, in-flight work
// finishes, the journal records what is durable, and the error is returned.
Result<MigrateStats> Migrate(Volume& source, Volume& destination, Journal* journal, const MigrateOptions& options);

struct VerifyOptions {
  int threads = 4;
  uint64_t chunk_size = 1 << 20;  // Default: 1 MiB compared at a time.
  size_t max_ranges = 10;         // differing ranges to report
  ProgressFn on_progress;
  std::chrono::milliseconds progress_interval{200};
  const std::atomic<bool>* cancel = nullptr;
  // A live migration's destination: ranges the application wrote hold its data, not
  // the source's. A difference in a 4 KiB block for which this returns true is the
  // application's (counted in bytes_written), not reported. Unset: every difference is.
  std::function<bool(uint64_t offset, uint64_t length)> written;
};

struct VerifyResult {
  bool equal = true;
  std::vector<Range> differing;  // the first differing ranges, ascending, 4 KiB resolution
  uint64_t bytes_compared = 0;   // read from both sides
  uint64_t bytes_skipped = 0;    // known zero on both sides, not read
  uint64_t bytes_written = 0;    // differing, in ranges the application wrote (options.written)
  double seconds = 0;
};

// Compares the first source.size() bytes of both volumes. A destination shorter than
// the source is a difference.
Result<VerifyResult> Verify(Volume& source, Volume& destination, const VerifyOptions& options);

// Discards every block of `source` (opened writable): the last step of a migration with
// --release-source. kNotSupported when the volume cannot discard.
Status ReleaseSource(Volume& source);

// A migration's end (DESIGN.md invariant 1; the seed's "deallocate old volume"), for
// migrate --verify [--release-source] and serve alike.
struct ConcludeOptions {
  VerifyOptions verify;
  // Discard the source's blocks after a verify found the volumes equal: `source_spec` is
  // opened again, writable, for that alone.
  bool release = false;
  std::string source_spec;
  OpenOptions source_open;
  // Records the journal state (kVerified, then kReleased); null: no journal.
  std::function<Status(JournalState)> record;
  // Non-empty: the release is refused for this reason even if the verify is equal (a
  // live migration that does not know everything the application wrote).
  std::string refuse_release;
};
struct ConcludeResult {
  VerifyResult verify;
  bool released = false;
  std::string release_refused;  // why the source was kept although equal
};
// Verifies `source` against `destination`; when they are equal, records kVerified and,
// with options.release, closes `source`, discards the source's blocks and records
// kReleased. Never releases after a difference or a failure.
Result<ConcludeResult> VerifyAndRelease(std::unique_ptr<Volume> source, Volume& destination,
                                        const ConcludeOptions& options);

}  // namespace ferry
