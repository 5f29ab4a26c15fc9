// ferry/predictor.h: the Predictor interface (DESIGN.md "Prediction"), for the engine's
// options (MigrateOptions::predictor, LiveMigration::Start) and for an embedder who
// brings a predictor of its own. A predictor sees the stream of application I/O and
// answers which granules will be touched soon, with a likelihood; ferry turns the
// answers into prefetches (sched/prediction_path.h). Built in: `stride`, `markov`,
// `lstm`, `ensemble` (MakePredictor). Thread-compatible: ferry calls a predictor from
// one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ferry/io_event.h"
#include "ferry/status.h"

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
  // lstm: when it turns true, a load of the LSTM's library or a training under way
  // gives up (MakePredictor then fails with kCancelled; Train returns early). Not
  // owned: it must outlive the predictor. Null: never.
  const std::atomic<bool>* cancel = nullptr;
};

// "none" (nullptr), "stride", "markov", "lstm", "ensemble" (the other three by
// multiplicative weights), or members joined by '+' ("stride+markov": an ensemble of
// those alone). kInvalidArgument for anything else, or for a model file that cannot be
// loaded, or given to a predictor without an LSTM.
Result<std::unique_ptr<Predictor>> MakePredictor(const std::string& name, const PredictorConfig& config = {});
// Whether MakePredictor(name, config) would succeed, in a fraction of its time when
// it would load the LSTM's library (a second, ten from a cold disk): the library is
// only located. A model file (config.model) is loaded in full, so that a bad one is
// refused here. For a caller that makes the predictor later, off its start path.
Status CheckPredictor(const std::string& name, const PredictorConfig& config = {});
// The names MakePredictor accepts, "none" first (the '+' ensembles aside).
const std::vector<std::string>& PredictorNames();
// Whether MakePredictor accepts `name`: one of PredictorNames(), or two or more of
// stride, markov and lstm joined by '+', each once.
bool IsPredictorName(const std::string& name);
// Whether the predictor `name` has an LSTM, which may start from a model (--model).
bool PredictorHasLstm(const std::string& name);
// What an unknown predictor name's error says to use.
inline constexpr const char* kPredictorChoices =
    "none, stride, markov, lstm, ensemble, or members joined by + (stride+markov)";

}  // namespace ferry
