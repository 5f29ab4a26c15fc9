// Predictors (DESIGN.md "Prediction"): they see the stream of application I/O and
// answer which granules will be touched soon, with a likelihood. A prediction becomes a
// prefetch request to the Scheduler; PredictionTracker keeps each predictor's
// precision, recall (coverage) and timeliness.
//
// Implementations: `stride` (majority trend over recent deltas per stream, after Leap,
// USENIX ATC'20), `markov` (successor counts between chunks), `lstm` (an LSTM over
// delta tokens, predict/lstm.h) and `ensemble` (weights the others by measured
// precision). Thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <absl/container/flat_hash_set.h>

#include "ferry/status.h"
#include "ferry/trace.h"

namespace ferry {

// Granules [granule, granule + count) expected to be touched soon.
struct Prediction {
  uint64_t granule = 0;
  uint64_t count = 1;
  double likelihood = 0;  // 0..1
  uint32_t ahead = 1;      // expected time: the access it is expected at, counting the next as 1
};

// What became of a predicted granule that was missing when predicted and queued for
// copy: `prevented` when the copy it asked for landed before the access (a wait saved),
// otherwise the access came first and waited anyway (late).
struct PredictionOutcome {
  uint64_t granule = 0;
  bool prevented = false;
};

class Predictor {
 public:
  virtual ~Predictor() = default;
  virtual const char* name() const = 0;
  // One application access to granules [first, last]; appends the predictions it gives
  // rise to (best first) to *out.
  virtual void Observe(uint64_t first, uint64_t last, IoOp op, std::vector<Prediction>* out) = 0;
  // The recorded history (the accesses observed so far) is over: a learned model
  // trains on it now, on the calling thread. Default: nothing to do.
  virtual void Train() {}
  // CPU time spent training so far, in seconds.
  virtual double train_cpu_s() const { return 0; }
  // What became of one of its predictions (sched/prediction_path.h tells), on the
  // thread that calls Observe. Default: ignored.
  virtual void Outcome(const PredictionOutcome& outcome) { (void)outcome; }
};

struct PredictorConfig {
  std::string model;                 // lstm: a saved model to start from ("": train)
  uint64_t granule_size = 64 << 10;  // lstm: the granule its deltas are counted in
  bool background_training = true;   // lstm: false retrains inline (deterministic)
};

// "none" (nullptr), "stride", "markov", "lstm", "ensemble" (the other three by
// multiplicative weights). kInvalidArgument for anything else, or for a model file that
// cannot be loaded, or given to a predictor without an LSTM.
Result<std::unique_ptr<Predictor>> MakePredictor(const std::string& name, const PredictorConfig& config = {});
// The names MakePredictor accepts, "none" first.
const std::vector<std::string>& PredictorNames();

// Precision: predicted granules that were then accessed, over granules predicted.
// Recall: accesses to granules that had been predicted, over all granule accesses
// observed while tracking. Timeliness: of the predicted granules accessed, the share
// that were already present when accessed.
class PredictionTracker {
 public:
  // A granule predicted now (counted once until it is accessed).
  void Predicted(uint64_t granule);
  // A granule accessed; `present` says whether it was already present.
  void Accessed(uint64_t granule, bool present);

  bool outstanding(uint64_t granule) const { return outstanding_.contains(granule); }
  uint64_t predicted() const { return predicted_; }
  uint64_t hits() const { return hits_; }
  double precision() const { return predicted_ ? static_cast<double>(hits_) / static_cast<double>(predicted_) : 0; }
  double recall() const { return accesses_ ? static_cast<double>(hits_) / static_cast<double>(accesses_) : 0; }
  double timeliness() const { return hits_ ? static_cast<double>(timely_) / static_cast<double>(hits_) : 0; }

 private:
  absl::flat_hash_set<uint64_t> outstanding_;  // predicted, not yet accessed
  uint64_t predicted_ = 0, hits_ = 0, timely_ = 0, accesses_ = 0;
};

}  // namespace ferry
