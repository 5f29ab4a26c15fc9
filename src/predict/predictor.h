// Predictors (DESIGN.md "Prediction"; the interface is public, ferry/predictor.h): they
// see the stream of application I/O and answer which granules will be touched soon,
// with a likelihood. A prediction becomes a prefetch request to the Scheduler;
// PredictionTracker keeps each predictor's precision, recall (coverage) and timeliness.
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

#include "ferry/io_event.h"
#include "ferry/predictor.h"
#include "ferry/status.h"

namespace ferry {

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
