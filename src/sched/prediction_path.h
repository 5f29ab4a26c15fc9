// PredictionPath: the one path from a predictor's predictions to prefetch requests,
// shared by the engine (engine/request_path.cc) and the simulator (sim/simulator.cc), so
// that `ferry serve` and `ferry simulate` count the same things the same way (DESIGN.md
// "Prediction" and "History").
//
// It also explains every read stall. Each application access is classified before it
// is served: a read that finds a granule not present stalls, as a first touch when no
// granule it is missing was accessed before (in the history or this run), or as a seen
// stall otherwise (read_stalls_first_touch + read_stalls_seen = read_stalls). A read that
// finds everything present and reads a granule a predicted copy made present, not read
// since, is a prevented stall. A read whose missing bytes a kept read-through answers
// (sched/kept_reads.h) waits for no source read: it is no stall, and is counted apart.
//
// Precision, recall and timeliness have one definition (predict/predictor.h,
// PredictionTracker) over granules that were missing when predicted: a prediction of
// present data is no prefetch and is not counted.
//
// The predictor is called through Infer() alone, which touches nothing else: the engine
// calls it on a thread of its own, off the request path's lock, and takes the lock for
// Queue(); the simulator calls both inline (deterministic). Every other call needs the
// caller's lock on the map and the scheduler. Thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <absl/container/flat_hash_set.h>

#include "plan/chunk_map.h"
#include "predict/predictor.h"
#include "sched/scheduler.h"

namespace ferry {

// What the predictions did, and why reads stalled.
struct PredictionFigures {
  uint64_t reads = 0, read_stalls = 0, read_stalls_first_touch = 0, read_stalls_seen = 0;
  uint64_t prevented_stalls = 0;  // reads served from granules a predicted copy brought
  uint64_t reads_kept = 0;  // reads of missing granules answered from kept read-throughs
  uint64_t predicted_granules = 0;  // missing when predicted, queued for copy
  uint64_t wasted_granules = 0;     // prefetched on a prediction, not accessed since
  double precision = 0, recall = 0, timeliness = 0;
};

class PredictionPath {
 public:
  // `predictor` may be null (no predictions; stalls are still explained). Neither the
  // map nor the scheduler is owned.
  PredictionPath(const ChunkMap& map, Scheduler& sched, Predictor* predictor);

  Predictor* predictor() const { return predictor_; }
  // A predictor made after construction (the engine makes it on its own thread), set
  // from the thread that calls Infer before any call that uses it.
  void SetPredictor(Predictor* predictor) { predictor_ = predictor; }

  // The history (before the migration): the granules are seen, and the predictor
  // observes them (its predictions are not queued: the migration has not started).
  // ObserveHistory = SeeHistory (the caller's lock) + TeachHistory (the predictor alone).
  void ObserveHistory(uint64_t first, uint64_t last, IoOp op) {
    SeeHistory(first, last);
    TeachHistory(first, last, op);
  }
  void SeeHistory(uint64_t first, uint64_t last);
  void TeachHistory(uint64_t first, uint64_t last, IoOp op);
  // The history is over: a learned model trains on it now, on the calling thread; then
  // the history's predicted continuation is queued (follow the most likely prediction
  // up to kContinuationSteps times, each step's predictions weighted by the likelihood
  // of the path that leads to them). Returns the granules queued.
  // EndHistory = QueueContinuation(PredictContinuation()): the engine's live path
  // trains and predicts on the predictor's thread, without the lock, and queues under it.
  uint64_t EndHistory() { return QueueContinuation(PredictContinuation()); }
  struct Continuation {
    struct Step {
      std::vector<Prediction> predictions;
      double likelihood = 1;  // of the path that leads to them
    };
    std::vector<Step> steps;
  };
  // Trains the predictor and follows its continuation (the predictor alone: no lock).
  Continuation PredictContinuation();
  uint64_t QueueContinuation(const Continuation& c);
  static constexpr int kContinuationSteps = 256;

  // An application access to granules [first, last] during the migration, before it is
  // served. For a read, returns whether it stalls (a granule is not present) and counts
  // it as a first touch or seen stall, or as a prevented one. `outcomes`, when given,
  // gets what became of the predictions the access settles (prevented: a predicted
  // copy brought the granule; late: it is not present), for Infer to tell the
  // predictor.
  // `kept`: a read whose missing bytes come from a kept read-through (no stall).
  bool OnAccess(uint64_t first, uint64_t last, IoOp op, std::vector<PredictionOutcome>* outcomes = nullptr,
                bool kept = false);

  // Tells the predictor the outcomes, then gets its answer to the access (nothing else
  // is touched: no lock needed).
  void Infer(uint64_t first, uint64_t last, IoOp op, std::span<const PredictionOutcome> outcomes,
             std::vector<Prediction>* out);
  // Turns predictions into prefetch requests: only missing granules are asked for and
  // counted. `weight` scales their likelihood, `ahead` adds to their expected time (a
  // continuation's later steps). Returns the granules newly predicted.
  uint64_t Queue(std::span<const Prediction> predictions, double weight = 1, uint32_t ahead = 0);

  // A copy landed on the destination: a predicted one's granules are prefetched.
  void OnCopied(const CopyOp& op);

  PredictionFigures figures() const;

 private:
  const ChunkMap& map_;
  Scheduler& sched_;
  Predictor* predictor_;
  std::vector<bool> seen_;  // by granule: accessed before, in the history or this run
  PredictionTracker tracker_;
  absl::flat_hash_set<uint64_t> prefetched_;  // predicted granules copied, not accessed since
  PredictionFigures counts_;
  std::vector<Prediction> history_answer_;  // the predictor's answer to the last history access
};

}  // namespace ferry
